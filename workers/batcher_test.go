package workers

import (
	"context"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
)

// tinyBatcher is a batcher on the constant tiny detector (max_batch 4) with maxWait.
func tinyBatcher(t *testing.T, maxWait time.Duration) *Batcher {
	t.Helper()
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	installTiny(t, repo, "1", constantDetector(t, 0.6))
	m, err := models.LoadFromRepository(repo, tinyModel, "1", engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatcher(m, maxWait)
	t.Cleanup(func() { b.Close(); m.Close() })
	return b
}

// One stream alone (the demo's nanodet: one camera) has nothing to wait for: its
// frames run at once instead of MaxWait later. Before senders were tracked every
// frame waited the whole MaxWait (the demo's p99 added wait of 12 ms against its
// 10 ms bound: the 10 ms wait plus the timer's wake-up on a loaded machine).
func TestBatcherLoneSenderDoesNotWait(t *testing.T) {
	const maxWait = 300 * time.Millisecond
	b := tinyBatcher(t, maxWait)
	img := gocv.NewMatWithSize(16, 16, gocv.MatTypeCV8UC3)
	defer img.Close()
	start := time.Now()
	for range 10 {
		if _, err := b.Detect(context.Background(), "cam1", img); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el > 5*maxWait {
		t.Errorf("10 frames of one stream took %s: they waited for other senders (MaxWait %s)", el, maxWait)
	}
	if st := b.Stats(); st.AddedWaitP99Sec > maxWait.Seconds()/2 {
		t.Errorf("p99 added wait %.0f ms with one sender (MaxWait %s)", st.AddedWaitP99Sec*1e3, maxWait)
	}
}

// Streams in step still share batches, and a batch closes as soon as every active
// stream is in it rather than at MaxWait; a stream that stops sending is forgotten
// after senderWindow, so it does not hold the others' batches for MaxWait.
func TestBatcherClosesWhenEverySenderIsIn(t *testing.T) {
	const maxWait = 400 * time.Millisecond
	b := tinyBatcher(t, maxWait)
	img := gocv.NewMatWithSize(16, 16, gocv.MatTypeCV8UC3)
	defer img.Close()
	round := func(senders ...string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := b.Detect(context.Background(), s, img); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	round("a", "b", "c") // all three become active senders
	for i := range 5 {
		if el := round("a", "b", "c"); el > maxWait*3/4 {
			t.Errorf("round %d took %s: the batch waited although every sender was in it", i, el)
		}
	}
	st := b.Stats()
	if st.MeanBatch < 1.5 {
		t.Errorf("mean batch %.2f: streams in step should share batches (sizes %v)", st.MeanBatch, st.BatchSizes)
	}
	// "c" is still active: a batch of a and b waits up to MaxWait for it …
	if el := round("a", "b"); el < maxWait/2 {
		t.Errorf("a batch without the active sender c closed after %s (MaxWait %s)", el, maxWait)
	}
	// … and no longer once c has been silent for senderWindow
	time.Sleep(senderWindow + 100*time.Millisecond)
	round("a", "b")
	if el := round("a", "b"); el > maxWait*3/4 {
		t.Errorf("after c went silent a round took %s", el)
	}
}
