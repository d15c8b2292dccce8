package jobs

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// InProcess is the embedded-mode Queue: jobs wait in memory and run on a fixed
// number of goroutines. It gives at-least-once execution for as long as the
// process lives; what is pending when it stops is lost (the API enqueues the work
// again on its next start, e.g. models still awaiting validation).
type InProcess struct {
	Options
	// Capacity bounds the unfinished jobs (waiting, running or waiting for a
	// retry): Enqueue beyond it fails with ErrFull instead of growing memory
	// without limit. Default DefaultCapacity; set it before the first Enqueue.
	Capacity int

	concurrency int
	stop        chan struct{} // closed by Close: workers take no more jobs
	workers     sync.WaitGroup
	closeOnce   sync.Once

	mu       sync.Mutex
	handlers map[string]Handler
	queue    chan *inProcessJob // Capacity slots; never full, as n <= Capacity
	n        int                // unfinished jobs
	keys     map[string]bool    // Kind+"\x00"+Key of unfinished jobs that have a Key
	dead     []DeadJob          // the last maxDead
	started  bool
	closed   bool
	cancel   context.CancelFunc // ends the handlers' contexts
}

// DefaultCapacity is InProcess's default bound on unfinished jobs.
const DefaultCapacity = 1024

// maxDead bounds InProcess's dead-job list; older entries are dropped (they were logged).
const maxDead = 100

type inProcessJob struct {
	Job
	retried int
}

// NewInProcess returns an in-process queue that runs up to concurrency jobs at
// once (GOMAXPROCS when concurrency < 1).
func NewInProcess(concurrency int) *InProcess {
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return &InProcess{
		Options:     defaultOptions(),
		Capacity:    DefaultCapacity,
		concurrency: concurrency,
		stop:        make(chan struct{}),
		handlers:    map[string]Handler{},
		keys:        map[string]bool{},
	}
}

// Handle implements Queue.
func (q *InProcess) Handle(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	checkHandle(kind, h, q.handlers, q.started)
	q.handlers[kind] = h
}

// Enqueue implements Queue. It never blocks: a full queue is ErrFull.
func (q *InProcess) Enqueue(ctx context.Context, j Job) error {
	if err := j.check(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("%w: cannot enqueue %s %q", ErrClosed, j.Kind, j.Key)
	}
	q.init()
	k := j.Kind + "\x00" + j.Key
	if j.Key != "" && q.keys[k] {
		return fmt.Errorf("%w: %s %q is already pending or running", ErrDuplicate, j.Kind, j.Key)
	}
	if q.n >= cap(q.queue) {
		return fmt.Errorf("%w: %d unfinished jobs; retry later, or raise Capacity or concurrency", ErrFull, q.n)
	}
	q.n++
	if j.Key != "" {
		q.keys[k] = true
	}
	j.Payload = bytes.Clone(j.Payload) // the caller may reuse its slice
	q.queue <- &inProcessJob{Job: j}
	return nil
}

// init allocates the queue on first use, so Capacity can be set after NewInProcess.
// Caller holds mu.
func (q *InProcess) init() {
	if q.queue == nil {
		q.queue = make(chan *inProcessJob, max(q.Capacity, 1))
	}
}

// Start implements Queue: it starts the workers and returns.
func (q *InProcess) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("%w: cannot start", ErrClosed)
	}
	if q.started {
		return fmt.Errorf("jobs: in-process queue already started")
	}
	q.started = true
	q.init()
	// Handlers get ctx's values but not its end: when ctx ends, Close gives them
	// ShutdownTimeout to finish, then cancels this context.
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.cancel = cancel
	q.workers.Add(q.concurrency)
	for range q.concurrency {
		go q.work(hctx)
	}
	go func() {
		select {
		case <-ctx.Done():
			q.Close()
		case <-q.stop:
		}
	}()
	return nil
}

func (q *InProcess) work(ctx context.Context) {
	defer q.workers.Done()
	for {
		select { // stop wins over a waiting job
		case <-q.stop:
			return
		default:
		}
		select {
		case <-q.stop:
			return
		case j := <-q.queue:
			q.run(ctx, j)
		}
	}
}

// run makes one attempt and then finishes the job, schedules its retry or buries it.
func (q *InProcess) run(ctx context.Context, j *inProcessJob) {
	err := q.call(ctx, j.Job)
	log := q.logger().With("kind", j.Kind, "key", j.Key, "attempt", j.retried+1)
	if err == nil {
		q.finish(j, nil)
		return
	}
	if j.retried >= q.MaxRetry {
		log.Error("job dead: every attempt failed; fix the cause and enqueue it again", "err", err)
		q.finish(j, &DeadJob{Job: j.Job, Err: err, Attempts: j.retried + 1, At: time.Now()})
		return
	}
	d := q.retryDelay(j.retried, err)
	log.Warn("job failed; will retry", "err", err, "in", d)
	j.retried++
	// The job still counts in n, so its slot in the queue is free for it. After
	// Close nobody takes it: it is lost with the process, like the rest.
	time.AfterFunc(d, func() { q.queue <- j })
}

func (q *InProcess) call(ctx context.Context, j Job) (err error) {
	h := q.handlers[j.Kind] // read-only once started
	if h == nil {
		return noHandler(j.Kind)
	}
	if q.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, q.Timeout)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			q.logger().Error("jobs: handler panicked", "kind", j.Kind, "key", j.Key, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("jobs: handler for %q panicked: %v", j.Kind, r)
		}
	}()
	return h(ctx, j)
}

func (q *InProcess) finish(j *inProcessJob, dead *DeadJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n--
	if j.Key != "" {
		delete(q.keys, j.Kind+"\x00"+j.Key)
	}
	if dead != nil {
		if len(q.dead) == maxDead {
			q.dead = append(q.dead[:0], q.dead[1:]...)
		}
		q.dead = append(q.dead, *dead)
	}
}

// Dead returns the jobs that failed every attempt, oldest first (the last 100;
// all were logged). Their keys are free: enqueue them again to retry.
func (q *InProcess) Dead() []DeadJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]DeadJob(nil), q.dead...)
}

// Close implements Queue.
func (q *InProcess) Close() error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		started := q.started
		q.mu.Unlock()
		close(q.stop)
		if !started {
			return
		}
		done := make(chan struct{})
		go func() { q.workers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(q.ShutdownTimeout):
			q.logger().Warn("jobs: handlers still running after the shutdown timeout; cancelling them",
				"timeout", q.ShutdownTimeout)
			q.cancel()
			<-done
		}
		q.cancel()
	})
	return nil
}

var _ Queue = (*InProcess)(nil)
