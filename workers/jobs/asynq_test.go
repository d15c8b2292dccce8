package jobs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"

	"github.com/cityeye/cityeye/testdata/services"
)

// TestAsynqSharedWork runs two Asynq queues on one Redis and queue name, as two
// worker processes would: every job runs exactly once, and both take some.
func TestAsynqSharedWork(t *testing.T) {
	addr := services.Redis(t)
	queue := fmt.Sprintf("%s-%d", t.Name(), queueSeq.Add(1))
	var mu sync.Mutex
	ranBy := map[string][]string{} // job key → workers that ran it
	perWorker := map[string]int{}
	var workers []*Asynq
	for _, name := range []string{"a", "b"} {
		q := newTestAsynq(t, addr, 2, queue)
		q.Handle("analyze", func(_ context.Context, j Job) error {
			time.Sleep(10 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			ranBy[j.Key] = append(ranBy[j.Key], name)
			perWorker[name]++
			return nil
		})
		start(t, q)
		workers = append(workers, q)
	}
	const jobs = 40
	for i := range jobs {
		enqueue(t, workers[i%2], Job{Kind: "analyze", Key: fmt.Sprint("clip-", i)})
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, w := range ranBy {
			n += len(w)
		}
		return n
	}
	testkit.WaitFor(t, testWait, "all jobs", func() bool { return count() >= jobs })
	settle()
	mu.Lock()
	defer mu.Unlock()
	for i := range jobs {
		if w := ranBy[fmt.Sprint("clip-", i)]; len(w) != 1 {
			t.Errorf("clip-%d ran on %v, want exactly one worker", i, w)
		}
	}
	if perWorker["a"] == 0 || perWorker["b"] == 0 {
		t.Errorf("jobs per worker %v: one worker took them all", perWorker)
	}
	t.Logf("jobs per worker: %v", perWorker)
}

// TestAsynqRedisOutage stops Redis while a worker holds a running job and others
// wait: Enqueue fails naming the address, and after the restart Enqueue works
// and every job enqueued before the outage still runs. Not parallel: the outage
// hits every user of the shared server.
func TestAsynqRedisOutage(t *testing.T) {
	addr := services.Redis(t)
	q := newTestAsynq(t, addr, 1, "")
	var c counter
	release := make(chan struct{})
	q.Handle("notify", func(_ context.Context, j Job) error {
		if c.add(j) == 1 && j.Key == "n1" {
			<-release // running across the outage
		}
		return nil
	})
	start(t, q)
	for _, k := range []string{"n1", "n2", "n3"} {
		enqueue(t, q, Job{Kind: "notify", Key: k})
	}
	testkit.WaitFor(t, testWait, "n1 to start", func() bool { return c.get("n1") == 1 })

	restart := services.RedisOutage(t, addr)
	t0 := time.Now()
	err := q.Enqueue(context.Background(), Job{Kind: "notify", Key: "lost"})
	t.Logf("Enqueue during the outage failed in %v: %v", time.Since(t0).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Enqueue during the outage: %v, want an error naming %s", err, addr)
	}
	time.Sleep(300 * time.Millisecond) // the worker polls a dead Redis for a while
	restart()

	t0 = time.Now()
	var attempts int
	testkit.WaitFor(t, testWait, "Enqueue to work after the restart", func() bool {
		attempts++
		return q.Enqueue(context.Background(), Job{Kind: "notify", Key: "n4"}) == nil
	})
	t.Logf("Enqueue after the restart worked in %v (attempt %d)", time.Since(t0).Round(time.Millisecond), attempts)
	close(release)
	testkit.WaitFor(t, testWait, "every job", func() bool {
		return c.get("n1") >= 1 && c.get("n2") >= 1 && c.get("n3") >= 1 && c.get("n4") >= 1
	})
	settle()
	for _, k := range []string{"n2", "n3", "n4"} {
		if n := c.get(k); n != 1 {
			t.Errorf("%s ran %d times, want 1", k, n)
		}
	}
	if n := c.get("n1"); n != 1 {
		t.Logf("n1, running during the outage, ran %d times (at-least-once)", n)
	}
	if n := c.get("lost"); n != 0 {
		t.Errorf("the job refused during the outage ran %d times", n)
	}
}

// TestAsynqUnreachable checks that errors name the Redis address and say what to do.
func TestAsynqUnreachable(t *testing.T) {
	addr := "127.0.0.1:1" // nothing listens on port 1
	q := NewAsynq(addr, 1, "")
	defer q.Close()
	q.Handle("x", func(context.Context, Job) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Enqueue(ctx, Job{Kind: "x", Key: "1"}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Enqueue: %v, want an error naming %s", err, addr)
	} else {
		t.Logf("Enqueue: %v", err)
	}
	if err := q.Start(ctx); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("Start: %v, want an error naming %s", err, addr)
	} else {
		t.Logf("Start: %v", err)
	}
}
