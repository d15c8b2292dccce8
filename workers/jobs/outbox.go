package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cityeye/cityeye/store"
)

// Outbox is where jobs wait, committed with the change that called for them, until
// a queue takes them (store.DB).
type Outbox interface {
	PendingOutbox(ctx context.Context, limit int) ([]store.OutboxJob, error)
	DeleteOutbox(ctx context.Context, id int64) error
}

// Relay moves jobs from the outbox to a queue: at once when kicked, and every Every
// (default 1 s) whatever happens, so a job written while the queue (Redis) was down
// is queued once it is back. A row is deleted only after the queue took the job (or
// already holds it: ErrDuplicate), so a crash in between queues it again, which the
// job's Key and the handlers' idempotence absorb. Several servers may relay the
// same outbox side by side.
type Relay struct {
	Outbox Outbox
	Queue  Queue
	Every  time.Duration

	kick chan struct{}
}

// NewRelay returns a relay from outbox to q.
func NewRelay(outbox Outbox, q Queue) *Relay {
	return &Relay{Outbox: outbox, Queue: q, Every: time.Second, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass soon (a change just wrote to the outbox).
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	t := time.NewTicker(max(r.Every, 10*time.Millisecond))
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("job outbox: jobs wait in the database until the queue takes them", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// Pass moves what the outbox holds now, in order, stopping at the first job the
// queue refuses (it is down: the next pass tries again). It reports how many moved.
func (r *Relay) Pass(ctx context.Context) (int, error) {
	moved := 0
	for {
		js, err := r.Outbox.PendingOutbox(ctx, 200)
		if err != nil || len(js) == 0 {
			return moved, err
		}
		for _, j := range js {
			err := r.Queue.Enqueue(ctx, Job{Kind: j.Kind, Key: j.Key, Payload: j.Payload})
			if err != nil && !errors.Is(err, ErrDuplicate) {
				return moved, err
			}
			if err := r.Outbox.DeleteOutbox(ctx, j.ID); err != nil {
				return moved, err
			}
			moved++
		}
	}
}
