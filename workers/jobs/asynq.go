package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Asynq is the distributed-mode Queue: jobs are asynq tasks in Redis, so the
// process that enqueues (the API) and those that run them (workers) can differ,
// and every Asynq serving the same Redis and queue name shares the work. A job
// stays in Redis until a handler succeeds: if its worker dies, asynq's recoverer
// runs it again elsewhere once its lease (30 s) runs out.
//
// MaxRetry and Timeout travel with each job, so the enqueuing process's values
// apply; RetryDelay, ShutdownTimeout and PollInterval are the worker's. Redis
// keeps retry times in whole seconds, so a retry comes up to a second off
// RetryDelay. Every worker on a queue must handle every kind enqueued on it (a
// worker without the handler fails the job, which then retries and may die):
// give kinds that only some workers run a queue of their own.
type Asynq struct {
	Options
	// PollInterval is how often an idle worker looks for jobs, and how often jobs
	// due for a retry are moved back to the queue: the latency of an idle queue
	// and of a retry, traded against load on Redis. Default 1 s.
	PollInterval time.Duration

	addr, queue string
	concurrency int
	rdb         *redis.Client // one connection pool for client, server and inspector
	client      *asynq.Client
	inspector   *asynq.Inspector
	running     sync.WaitGroup // handlers, which asynq abandons at its shutdown timeout
	stop        chan struct{}
	closeOnce   sync.Once

	mu       sync.Mutex
	handlers map[string]Handler
	srv      *asynq.Server
	started  bool
	closed   bool
	cancel   context.CancelFunc // ends the handlers' contexts
}

// keyHeader carries Job.Key in the task (its ID is Kind:Key, or a UUID without a Key).
const keyHeader = "cityeye-job-key"

// NewAsynq returns a queue on the Redis server at redisAddr (host:port) and the
// named asynq queue ("default" when empty), whose Start runs up to concurrency
// jobs at once in this process (GOMAXPROCS when concurrency < 1). It connects
// lazily: an unreachable Redis shows in Enqueue and Start errors, which name it.
func NewAsynq(redisAddr string, concurrency int, queueName string) *Asynq {
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	if queueName == "" {
		queueName = "default"
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	return &Asynq{
		Options:      defaultOptions(),
		PollInterval: time.Second,
		addr:         redisAddr,
		queue:        queueName,
		concurrency:  concurrency,
		rdb:          rdb,
		client:       asynq.NewClientFromRedisClient(rdb),
		inspector:    asynq.NewInspectorFromRedisClient(rdb),
		stop:         make(chan struct{}),
		handlers:     map[string]Handler{},
	}
}

// Handle implements Queue.
func (q *Asynq) Handle(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	checkHandle(kind, h, q.handlers, q.started)
	q.handlers[kind] = h
}

// Enqueue implements Queue. A job with a Key becomes the task with ID Kind:Key,
// which Redis holds at most once per queue while it is pending, running, waiting
// for a retry, or dead (archived); a dead one is deleted so the job can run again.
func (q *Asynq) Enqueue(ctx context.Context, j Job) error {
	if err := j.check(); err != nil {
		return err
	}
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: cannot enqueue %s %q", ErrClosed, j.Kind, j.Key)
	}
	opts := []asynq.Option{asynq.Queue(q.queue), asynq.MaxRetry(max(q.MaxRetry, 0))}
	if q.Timeout > 0 {
		opts = append(opts, asynq.Timeout(max(q.Timeout.Round(time.Second), time.Second)))
	}
	id := ""
	if j.Key != "" {
		id = j.Kind + ":" + j.Key
		opts = append(opts, asynq.TaskID(id))
	}
	task := asynq.NewTaskWithHeaders(j.Kind, j.Payload, map[string]string{keyHeader: j.Key})
	_, err := q.client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) && q.replaceDead(id) {
		_, err = q.client.EnqueueContext(ctx, task, opts...)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return fmt.Errorf("%w: %s %q is already pending or running in queue %q", ErrDuplicate, j.Kind, j.Key, q.queue)
	case ctx.Err() != nil:
		return fmt.Errorf("jobs: enqueue %s %q on Redis %s: %w", j.Kind, j.Key, q.addr, err)
	default:
		return fmt.Errorf("jobs: enqueue %s %q on Redis %s: %w; is Redis running and reachable there?", j.Kind, j.Key, q.addr, err)
	}
}

// replaceDead deletes the task id if it is dead (archived) or already gone, and
// reports whether enqueueing it again may now succeed.
func (q *Asynq) replaceDead(id string) bool {
	info, err := q.inspector.GetTaskInfo(q.queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return true // it finished in between
	}
	if err != nil || info.State != asynq.TaskStateArchived {
		return false
	}
	return q.inspector.DeleteTask(q.queue, id) == nil
}

// Start implements Queue: it checks that Redis answers, starts an asynq server
// with concurrency workers on the queue, and returns.
func (q *Asynq) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("%w: cannot start", ErrClosed)
	}
	if q.started {
		return fmt.Errorf("jobs: asynq queue %q already started", q.queue)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := q.rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("jobs: Redis at %s does not answer: %w; start it (redis-server) or fix the address", q.addr, err)
	}
	// Handlers get ctx's values but not its end: when ctx ends, Close gives them
	// ShutdownTimeout to finish, then cancels this context.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	log := q.logger().With("queue", q.queue, "redis", q.addr)
	q.srv = asynq.NewServerFromRedisClient(q.rdb, asynq.Config{
		Concurrency:              q.concurrency,
		Queues:                   map[string]int{q.queue: 1},
		BaseContext:              func() context.Context { return hctx },
		RetryDelayFunc:           func(n int, err error, _ *asynq.Task) time.Duration { return q.retryDelay(n, err) },
		ShutdownTimeout:          max(q.ShutdownTimeout, time.Nanosecond), // 0 would mean asynq's 8 s
		TaskCheckInterval:        q.PollInterval,
		DelayedTaskCheckInterval: q.PollInterval,
		Logger:                   asynqLogger{log},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			l := log.With("kind", t.Type(), "key", t.Headers()[keyHeader], "attempt", retried+1, "err", err)
			if retried >= maxRetry {
				l.Error("job dead: every attempt failed; fix the cause and enqueue it again")
			} else {
				l.Warn("job failed; will retry")
			}
		}),
	})
	if err := q.srv.Start(asynq.HandlerFunc(q.process)); err != nil {
		hcancel()
		return fmt.Errorf("jobs: start asynq server on Redis %s: %w", q.addr, err)
	}
	q.started, q.cancel = true, hcancel
	go func() {
		select {
		case <-ctx.Done():
			q.Close()
		case <-q.stop:
		}
	}()
	return nil
}

func (q *Asynq) process(ctx context.Context, t *asynq.Task) error {
	h := q.handlers[t.Type()] // read-only once started
	if h == nil {
		return noHandler(t.Type())
	}
	q.running.Add(1)
	defer q.running.Done()
	return h(ctx, Job{Kind: t.Type(), Key: t.Headers()[keyHeader], Payload: t.Payload()})
}

// Dead returns the jobs of this queue that failed every attempt (asynq's archived
// tasks, the newest 100). Enqueueing one again replaces it.
func (q *Asynq) Dead() ([]DeadJob, error) {
	tasks, err := q.inspector.ListArchivedTasks(q.queue, asynq.PageSize(100))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: list dead jobs of queue %q on Redis %s: %w", q.queue, q.addr, err)
	}
	dead := make([]DeadJob, 0, len(tasks))
	for _, t := range tasks {
		dead = append(dead, DeadJob{
			Job:      Job{Kind: t.Type, Key: t.Headers[keyHeader], Payload: t.Payload},
			Err:      errors.New(t.LastErr),
			Attempts: t.Retried + 1,
			At:       t.LastFailedAt,
		})
	}
	return dead, nil
}

// Close implements Queue. A handler still running at ShutdownTimeout has its
// context cancelled and its job goes back to Redis, to run again.
func (q *Asynq) Close() error {
	var err error
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		srv := q.srv
		q.mu.Unlock()
		close(q.stop)
		if srv != nil {
			// Shutdown waits for handlers up to ShutdownTimeout, then cancels their
			// contexts and requeues their jobs but does not wait for them to return:
			// running does.
			srv.Shutdown()
			q.running.Wait()
			q.cancel()
		}
		err = q.rdb.Close() // the asynq client, server and inspector only borrow it
	})
	return err
}

var _ Queue = (*Asynq)(nil)

// asynqLogger sends asynq's log lines to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug("asynq: " + fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info("asynq: " + fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn("asynq: " + fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error("asynq: " + fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error("asynq: " + fmt.Sprint(args...))
	os.Exit(1)
}
