package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"

	"github.com/cityeye/cityeye/testdata/services"
)

func TestMain(m *testing.M) { services.Main(m) }

// Small timings, so retries and shutdowns take milliseconds.
const (
	testRetryDelay = 100 * time.Millisecond
	testPoll       = 50 * time.Millisecond
	testWait       = 10 * time.Second // upper bound for anything to happen
)

func testOptions(o *Options) {
	o.MaxRetry = 3
	o.RetryDelay = func(int, error) time.Duration { return testRetryDelay }
	o.ShutdownTimeout = 5 * time.Second
}

// testQueue is a Queue under test and its dead-job list.
type testQueue interface {
	Queue
	dead(t *testing.T) []DeadJob
	options() *Options
}

type testInProcess struct{ *InProcess }

func (q testInProcess) dead(*testing.T) []DeadJob { return q.Dead() }
func (q testInProcess) options() *Options         { return &q.Options }

type testAsynq struct{ *Asynq }

func (q testAsynq) dead(t *testing.T) []DeadJob {
	d, err := q.Dead()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (q testAsynq) options() *Options { return &q.Options }

var queueSeq atomic.Int64

// newTestAsynq returns an Asynq on the shared test Redis with a queue of its own,
// closed at cleanup.
func newTestAsynq(t *testing.T, addr string, concurrency int, queue string) *Asynq {
	t.Helper()
	if queue == "" {
		queue = fmt.Sprintf("%s-%d", t.Name(), queueSeq.Add(1))
	}
	q := NewAsynq(addr, concurrency, queue)
	testOptions(&q.Options)
	q.PollInterval = testPoll
	t.Cleanup(func() { q.Close() })
	return q
}

// implementations are the queues the shared suite runs against.
var implementations = []struct {
	name string
	new  func(t *testing.T, concurrency int) testQueue
}{
	{"InProcess", func(t *testing.T, concurrency int) testQueue {
		q := NewInProcess(concurrency)
		testOptions(&q.Options)
		t.Cleanup(func() { q.Close() })
		return testInProcess{q}
	}},
	{"Asynq", func(t *testing.T, concurrency int) testQueue {
		return testAsynq{newTestAsynq(t, services.Redis(t), concurrency, "")}
	}},
}

func TestQueue(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			t.Run("RunsOnce", func(t *testing.T) { testRunsOnce(t, impl.new(t, 2)) })
			t.Run("Duplicate", func(t *testing.T) { testDuplicate(t, impl.new(t, 2)) })
			t.Run("Retries", func(t *testing.T) { testRetries(t, impl.new(t, 2)) })
			t.Run("Dead", func(t *testing.T) { testDead(t, impl.new(t, 2)) })
			t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, impl.new(t, 2)) })
			t.Run("CloseWaits", func(t *testing.T) { testCloseWaits(t, impl.new(t, 1)) })
			t.Run("ContextEnds", func(t *testing.T) { testContextEnds(t, impl.new(t, 1)) })
		})
	}
}

// counter counts handler runs per key.
type counter struct {
	mu   sync.Mutex
	runs map[string]int
	jobs []Job
}

func (c *counter) add(j Job) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[j.Key]++
	c.jobs = append(c.jobs, j)
	return c.runs[j.Key]
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[key]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.jobs)
}

// settle gives a wrongly repeated job time to show up: several poll intervals and
// retry delays.
func settle() { time.Sleep(4 * testRetryDelay) }

func start(t *testing.T, q Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func enqueue(t *testing.T, q Queue, j Job) {
	t.Helper()
	if err := q.Enqueue(context.Background(), j); err != nil {
		t.Fatalf("Enqueue(%s %q): %v", j.Kind, j.Key, err)
	}
}

func testRunsOnce(t *testing.T, q testQueue) {
	var c counter
	q.Handle("echo", func(_ context.Context, j Job) error { c.add(j); return nil })
	start(t, q)
	enqueue(t, q, Job{Kind: "echo", Key: "k1", Payload: []byte(`{"n":1}`)})
	enqueue(t, q, Job{Kind: "echo", Payload: []byte(`{"n":2}`)}) // no key: no dedup
	testkit.WaitFor(t, testWait, "both jobs", func() bool { return c.total() == 2 })
	settle()
	if n := c.total(); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	got := map[string]string{}
	for _, j := range c.jobs {
		if j.Kind != "echo" {
			t.Errorf("job kind %q", j.Kind)
		}
		got[j.Key] = string(j.Payload)
	}
	if got["k1"] != `{"n":1}` || got[""] != `{"n":2}` {
		t.Errorf("jobs seen by the handler (key → payload): %v", got)
	}
	if d := q.dead(t); len(d) != 0 {
		t.Errorf("dead jobs: %v", d)
	}
}

func testDuplicate(t *testing.T, q testQueue) {
	var c counter
	release := make(chan struct{})
	q.Handle("validate", func(_ context.Context, j Job) error {
		if c.add(j) == 1 && j.Key == "acme/x@1.0.0" {
			<-release
		}
		return nil
	})
	j := Job{Kind: "validate", Key: "acme/x@1.0.0"}
	enqueue(t, q, j)
	// Pending (no worker yet): a second one is refused.
	if err := q.Enqueue(context.Background(), j); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Enqueue while pending: %v, want ErrDuplicate", err)
	}
	// The same key under another kind, and another key, are other jobs.
	q.Handle("benchmark", func(_ context.Context, j Job) error { c.add(Job{Key: "bench:" + j.Key}); return nil })
	enqueue(t, q, Job{Kind: "benchmark", Key: "acme/x@1.0.0"})
	enqueue(t, q, Job{Kind: "validate", Key: "acme/y@1.0.0"})
	start(t, q)
	testkit.WaitFor(t, testWait, "the job to start", func() bool { return c.get("acme/x@1.0.0") == 1 })
	// Running: still refused.
	err := q.Enqueue(context.Background(), j)
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Enqueue while running: %v, want ErrDuplicate", err)
	}
	if !strings.Contains(err.Error(), "acme/x@1.0.0") {
		t.Errorf("duplicate error does not name the key: %v", err)
	}
	close(release)
	testkit.WaitFor(t, testWait, "the other jobs", func() bool { return c.get("bench:acme/x@1.0.0") == 1 && c.get("acme/y@1.0.0") == 1 })
	settle()
	if n := c.get("acme/x@1.0.0"); n != 1 {
		t.Fatalf("duplicate job ran %d times, want 1", n)
	}
	// Finished: the key is free again.
	enqueue(t, q, j)
	testkit.WaitFor(t, testWait, "the job to run again", func() bool { return c.get("acme/x@1.0.0") == 2 })
}

func testRetries(t *testing.T, q testQueue) {
	var c counter
	q.Handle("flaky", func(_ context.Context, j Job) error {
		switch c.add(j) {
		case 1:
			panic("first attempt panics")
		case 2:
			return errors.New("second attempt fails")
		}
		return nil
	})
	// Asynq keeps retry times in whole seconds, so a 100 ms delay lasts 0–1 s there:
	// check that RetryDelay is asked, not how long the retries took.
	var mu sync.Mutex
	var delays []string
	q.options().RetryDelay = func(retried int, err error) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		delays = append(delays, fmt.Sprintf("%d: %v", retried, err))
		return testRetryDelay
	}
	start(t, q)
	t0 := time.Now()
	enqueue(t, q, Job{Kind: "flaky", Key: "f"})
	testkit.WaitFor(t, testWait, "3 attempts", func() bool { return c.get("f") == 3 })
	t.Logf("3 attempts in %v", time.Since(t0).Round(time.Millisecond))
	settle()
	if n := c.get("f"); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	mu.Lock()
	if len(delays) != 2 || !strings.HasPrefix(delays[0], "0: ") || !strings.Contains(delays[0], "first attempt panics") ||
		delays[1] != "1: second attempt fails" {
		t.Errorf("RetryDelay calls (retried: error): %q", delays)
	}
	mu.Unlock()
	if d := q.dead(t); len(d) != 0 {
		t.Errorf("dead jobs: %v", d)
	}
	// Finished after the retries: the key is free.
	enqueue(t, q, Job{Kind: "flaky", Key: "f"})
	testkit.WaitFor(t, testWait, "the job to run again", func() bool { return c.get("f") == 4 })
}

func testDead(t *testing.T, q testQueue) {
	var c counter
	var fail atomic.Bool
	fail.Store(true)
	q.Handle("doomed", func(_ context.Context, j Job) error {
		c.add(j)
		if fail.Load() {
			return errors.New("camera unreachable")
		}
		return nil
	})
	start(t, q)
	enqueue(t, q, Job{Kind: "doomed", Key: "d", Payload: []byte("p")})
	testkit.WaitFor(t, testWait, "the dead job", func() bool { return len(q.dead(t)) == 1 })
	if n := c.get("d"); n != 4 { // MaxRetry 3
		t.Errorf("%d attempts, want 4", n)
	}
	d := q.dead(t)[0]
	if d.Job.Kind != "doomed" || d.Job.Key != "d" || string(d.Job.Payload) != "p" || d.Attempts != 4 ||
		d.Err == nil || !strings.Contains(d.Err.Error(), "camera unreachable") || d.At.IsZero() {
		t.Errorf("dead job: %+v", d)
	}
	// Once the cause is fixed, the same job can be enqueued again.
	fail.Store(false)
	enqueue(t, q, Job{Kind: "doomed", Key: "d"})
	testkit.WaitFor(t, testWait, "the job to run again", func() bool { return c.get("d") == 5 })
	settle()
	if n := c.get("d"); n != 5 {
		t.Errorf("%d attempts, want 5", n)
	}
}

func testConcurrency(t *testing.T, q testQueue) {
	var c counter
	var now, peak atomic.Int32
	q.Handle("work", func(_ context.Context, j Job) error {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		c.add(j)
		return nil
	})
	const jobs = 30
	for i := range jobs {
		enqueue(t, q, Job{Kind: "work", Key: fmt.Sprint(i)})
	}
	start(t, q)
	testkit.WaitFor(t, testWait, "all jobs", func() bool { return c.total() == jobs })
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d handlers ran at once with concurrency 2", p)
	} else {
		t.Logf("peak concurrency %d", p)
	}
}

func testCloseWaits(t *testing.T, q testQueue) {
	started := make(chan struct{})
	var finished atomic.Bool
	q.Handle("slow", func(ctx context.Context, j Job) error {
		close(started)
		time.Sleep(500 * time.Millisecond)
		finished.Store(ctx.Err() == nil)
		return nil
	})
	start(t, q)
	enqueue(t, q, Job{Kind: "slow", Key: "s"})
	<-started
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the running handler finished")
	}
	if err := q.Enqueue(context.Background(), Job{Kind: "slow", Key: "t"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v, want ErrClosed", err)
	}
}

// testContextEnds checks that ending Start's context stops the queue like Close,
// letting the running handler finish.
func testContextEnds(t *testing.T, q testQueue) {
	started := make(chan struct{})
	var finished atomic.Bool
	q.Handle("slow", func(ctx context.Context, j Job) error {
		close(started)
		time.Sleep(200 * time.Millisecond)
		finished.Store(ctx.Err() == nil)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	enqueue(t, q, Job{Kind: "slow", Key: "s"})
	<-started
	cancel()
	testkit.WaitFor(t, testWait, "the queue to close", func() bool {
		return errors.Is(q.Enqueue(context.Background(), Job{Kind: "slow", Key: "t"}), ErrClosed)
	})
	q.Close() // waits for the first Close, which the context's end began
	if !finished.Load() {
		t.Fatal("the running handler was cut short")
	}
}

func TestJobChecks(t *testing.T) {
	q := NewInProcess(1)
	defer q.Close()
	for _, j := range []Job{{}, {Kind: " "}, {Kind: "a:b"}} {
		if err := q.Enqueue(context.Background(), j); err == nil {
			t.Errorf("Enqueue(%+v) accepted", j)
		}
	}
	q.Capacity = 2
	enqueue(t, q, Job{Kind: "a"})
	enqueue(t, q, Job{Kind: "a"})
	if err := q.Enqueue(context.Background(), Job{Kind: "a"}); !errors.Is(err, ErrFull) {
		t.Errorf("third job with Capacity 2: %v, want ErrFull", err)
	}
	q.Handle("a", func(context.Context, Job) error { return nil })
	start(t, q)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Handle after Start did not panic")
			}
		}()
		q.Handle("b", func(context.Context, Job) error { return nil })
	}()
}
