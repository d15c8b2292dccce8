package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/store"
)

// gate is a Queue that refuses every job while down, as asynq does while Redis is
// unreachable, and hands the ones it takes to the queue under it.
type gate struct {
	Queue
	mu   sync.Mutex
	down bool
}

func (g *gate) Enqueue(ctx context.Context, j Job) error {
	g.mu.Lock()
	down := g.down
	g.mu.Unlock()
	if down {
		return errors.New("dial tcp: connection refused")
	}
	return g.Queue.Enqueue(ctx, j)
}

// Issue 19 item 2: jobs written to the outbox while the queue is down wait there
// and run once it is back; one the queue already holds (same Key) is not run
// twice; the outbox ends empty.
func TestRelayMovesOutboxWhenQueueReturns(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := NewInProcess(2)
	ran := make(chan string, 10)
	q.Handle("test.job", func(_ context.Context, j Job) error { ran <- j.Key; time.Sleep(200 * time.Millisecond); return nil })
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	g := &gate{Queue: q, down: true}
	r := NewRelay(db, g)
	r.Every = 50 * time.Millisecond
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Run(rctx)
	for _, k := range []string{"a", "b", "b"} { // b twice: once while queued
		if err := db.EnqueueOutbox(ctx, store.OutboxJob{Kind: "test.job", Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if js, _ := db.PendingOutbox(ctx, 10); len(js) != 3 || len(ran) != 0 {
		t.Fatalf("queue down: outbox %d rows, %d ran", len(js), len(ran))
	}
	g.mu.Lock()
	g.down = false
	g.mu.Unlock()
	r.Kick()
	got := map[string]int{}
	for deadline := time.After(testWait); len(got) < 2; {
		select {
		case k := <-ran:
			got[k]++
		case <-deadline:
			t.Fatalf("ran %v", got)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if got["a"] != 1 || got["b"] != 1 || len(ran) != 0 {
		t.Fatalf("ran %v (+%d more)", got, len(ran))
	}
	if js, _ := db.PendingOutbox(ctx, 10); len(js) != 0 {
		t.Fatalf("outbox not emptied: %+v", js)
	}
}
