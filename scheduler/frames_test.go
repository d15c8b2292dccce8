package scheduler

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// A live frame from a remote worker: the request rides the next lease of the
// worker running the stream (and no other's), the worker's upload answers every
// waiting request, a fresh frame is served without asking again, and a worker
// cannot push frames of streams it does not run or that nobody asked for.
func TestClusterLiveFrame(t *testing.T) {
	now := time.Unix(1000, 0)
	c := threeStreamsOnTwo(&now)
	runs := map[string]string{}
	for _, w := range []string{"w1", "w2"} {
		for _, s := range ids(beat(c, w, nil)) {
			runs[s] = w
		}
	}
	other := map[string]string{"w1": "w2", "w2": "w1"}[runs["a"]]
	if _, _, err := c.LiveFrame(context.Background(), "nope", time.Second); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("a stream no worker runs: %v", err)
	}
	if err := c.PutFrame(runs["a"], "a", []byte("jpeg0"), now); !errors.Is(err, ErrFrameRefused) {
		t.Fatalf("a frame nobody asked for: %v", err)
	}

	type answer struct {
		b   []byte
		err error
	}
	got := make(chan answer, 2)
	for range 2 { // two viewers at once
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b, _, err := c.LiveFrame(ctx, "a", time.Second)
			got <- answer{b, err}
		}()
	}
	want := func(w string) []string {
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if l := beat(c, w, nil); len(l.WantFrames) > 0 {
				return l.WantFrames
			}
		}
		return nil
	}
	if l := want(runs["a"]); !slices.Equal(l, []string{"a"}) {
		t.Fatalf("the lease of a's worker asks for %v, want [a]", l)
	}
	if l := beat(c, other, nil); len(l.WantFrames) > 0 {
		t.Fatalf("the other worker is asked for %v", l.WantFrames)
	}
	if err := c.PutFrame(other, "a", []byte("forged"), now); !errors.Is(err, ErrFrameRefused) {
		t.Fatalf("another worker answered for a: %v", err)
	}
	if err := c.PutFrame(runs["a"], "a", []byte("jpeg1"), now); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if a := <-got; a.err != nil || string(a.b) != "jpeg1" {
			t.Fatalf("viewer got %q %v", a.b, a.err)
		}
	}
	if l := beat(c, runs["a"], nil); len(l.WantFrames) > 0 {
		t.Fatalf("answered, still asked for %v", l.WantFrames)
	}
	// fresh: served as is; stale: asked again
	if b, _, err := c.LiveFrame(context.Background(), "a", time.Second); err != nil || string(b) != "jpeg1" {
		t.Fatalf("a fresh frame: %q %v", b, err)
	}
	now = now.Add(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := c.LiveFrame(ctx, "a", time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stale frame with a silent worker: %v", err)
	}
	if l := beat(c, runs["a"], nil); !slices.Equal(l.WantFrames, []string{"a"}) {
		t.Fatalf("a stale frame is not asked for again: %v", l.WantFrames)
	}
	// a worker gone silent runs nothing: its streams' frames are not waited for
	now = now.Add(4 * time.Second)
	beat(c, other, nil)
	c.Sweep()
	if _, _, err := c.LiveFrame(context.Background(), "a", time.Second); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("the stream of a dead worker: %v", err)
	}
}
