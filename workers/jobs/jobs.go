// Package jobs runs CityEye's discrete background jobs — model validation and
// benchmarks, notification delivery, offline video analysis, retention sweeps —
// with at-least-once execution: a job whose handler returns an error (or panics)
// is retried with backoff up to MaxRetry times, then set aside as dead, where an
// operator can see it (Dead) and enqueue it again once the cause is fixed.
//
// Two Queue implementations share these semantics:
//
//   - InProcess, for embedded mode (one process): a bounded in-memory queue. Jobs
//     not finished when the process stops are lost, as nothing else could run them.
//   - Asynq, for distributed mode: jobs live in Redis (github.com/hibiken/asynq) and
//     any worker process serving the same queue takes them; a job whose worker died
//     runs again elsewhere once its lease expires.
//
// At-least-once means a job can run more than once (after a crash, a shutdown
// timeout, a lost acknowledgement), so handlers must be idempotent. A job's Key
// keeps the same work from being queued twice while it is pending or running; it
// does not make a finished job unrepeatable.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// Job is one unit of background work.
type Job struct {
	// Kind selects the Handler (e.g. "model.validate"). It must not be empty or
	// contain ':' (Asynq builds task IDs as Kind:Key).
	Kind string
	// Key identifies the work for deduplication (e.g. "acme/x@1.0.0"): while a job
	// with the same Kind and Key is pending, running or waiting for a retry,
	// Enqueue refuses another with ErrDuplicate. Empty means no deduplication.
	Key string
	// Payload is the handler's input, opaque to the queue (JSON by convention).
	Payload []byte
}

// Handler does the work of one job. A non-nil error (or a panic) fails this
// attempt and schedules a retry; ctx ends at the queue's Timeout or when Close
// gives up waiting (ShutdownTimeout).
type Handler func(ctx context.Context, j Job) error

// Queue schedules jobs and runs them.
type Queue interface {
	// Enqueue schedules a job. If a job with the same Kind and non-empty Key is
	// already pending, running or waiting for a retry, it returns an error wrapping
	// ErrDuplicate and schedules nothing: callers that only want the work to happen
	// treat that as success (errors.Is(err, ErrDuplicate)).
	Enqueue(ctx context.Context, j Job) error
	// Handle registers the handler for a kind. Call it before Start; it panics on
	// a second handler for the same kind, as http.ServeMux does.
	Handle(kind string, h Handler)
	// Start runs handlers on the queue's workers, in the background, until ctx
	// ends or Close is called; either way running handlers are waited for.
	Start(ctx context.Context) error
	// Close stops taking jobs and waits for running handlers: up to
	// ShutdownTimeout, then it cancels their contexts and waits for them to return.
	// Enqueue fails with ErrClosed afterwards. Calling it again is harmless.
	Close() error
}

// Errors callers may test with errors.Is.
var (
	// ErrDuplicate: the same Kind and Key is already pending, running or waiting
	// for a retry; the work will happen without this second job.
	ErrDuplicate = errors.New("jobs: duplicate job")
	// ErrFull: InProcess has Capacity unfinished jobs.
	ErrFull = errors.New("jobs: queue full")
	// ErrClosed: the queue was closed.
	ErrClosed = errors.New("jobs: queue closed")
)

// Options are the settings both queues share. The constructors fill in the
// defaults; change them before the first Enqueue or Start.
type Options struct {
	// MaxRetry is how many times a failed job is retried after its first attempt
	// before it is dead; 0 means no retries. Default DefaultMaxRetry.
	MaxRetry int
	// RetryDelay is the wait before a retry, given how many retries have happened
	// already (0 before the first) and the error. Default DefaultRetryDelay.
	RetryDelay func(retried int, err error) time.Duration
	// Timeout bounds one attempt: the handler's context ends then, and the attempt
	// fails. Default 30 minutes; 0 means none for InProcess (Asynq then applies its
	// own 30-minute default, and rounds up to whole seconds).
	Timeout time.Duration
	// ShutdownTimeout is how long Close lets running handlers finish before it
	// cancels their contexts. Default 10 s.
	ShutdownTimeout time.Duration
	// Logger receives failed attempts, dead jobs and, for Asynq, the library's own
	// warnings. Nil means slog.Default().
	Logger *slog.Logger
}

// Defaults applied by the constructors.
const (
	DefaultMaxRetry        = 10
	DefaultTimeout         = 30 * time.Minute
	DefaultShutdownTimeout = 10 * time.Second
	maxRetryDelay          = 10 * time.Minute
)

func defaultOptions() Options {
	return Options{
		MaxRetry:        DefaultMaxRetry,
		RetryDelay:      DefaultRetryDelay,
		Timeout:         DefaultTimeout,
		ShutdownTimeout: DefaultShutdownTimeout,
	}
}

// DefaultRetryDelay backs off exponentially from 1 s (1, 2, 4 … s, capped at 10
// minutes) with ±25% jitter, so jobs that failed together (a dependency was down)
// do not all retry at the same instant. With DefaultMaxRetry a job gets about 17
// minutes of retries before it is dead.
func DefaultRetryDelay(retried int, _ error) time.Duration {
	d := maxRetryDelay
	if retried < 10 {
		d = min(time.Second<<retried, maxRetryDelay)
	}
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (o *Options) retryDelay(retried int, err error) time.Duration {
	if o.RetryDelay != nil {
		return o.RetryDelay(retried, err)
	}
	return DefaultRetryDelay(retried, err)
}

// DeadJob is a job that failed every attempt.
type DeadJob struct {
	Job      Job
	Err      error // the last attempt's
	Attempts int   // MaxRetry+1, as MaxRetry was when it was enqueued
	At       time.Time
}

func (j Job) check() error {
	if strings.TrimSpace(j.Kind) == "" {
		return errors.New("jobs: job has no Kind; set it to the kind a Handler was registered for")
	}
	if strings.Contains(j.Kind, ":") {
		return fmt.Errorf("jobs: kind %q contains ':'; use another separator (e.g. '.')", j.Kind)
	}
	return nil
}

func checkHandle(kind string, h Handler, handlers map[string]Handler, started bool) {
	if err := (Job{Kind: kind}).check(); err != nil {
		panic(err.Error())
	}
	if h == nil {
		panic(fmt.Sprintf("jobs: nil handler for kind %q", kind))
	}
	if started {
		panic(fmt.Sprintf("jobs: Handle(%q) after Start; register handlers before Start", kind))
	}
	if handlers[kind] != nil {
		panic(fmt.Sprintf("jobs: a handler for kind %q is already registered", kind))
	}
}

func noHandler(kind string) error {
	return fmt.Errorf("jobs: no handler for kind %q in this process; register one with Handle before Start", kind)
}
