package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cityeye/cityeye/store"
)

// Elector keeps one scheduler leader among any number of API servers sharing a
// database: each tries the scheduler lock (store.TryLead) every Every; the one that
// holds it leads its Cluster (Lead, with the new fencing epoch), checks its hold
// every Every and, the moment the check fails, follows again (Cluster.Follow), so
// it hands out no lease it may no longer give. When the leader dies its database
// session ends and another server takes over at its next try.
type Elector struct {
	DB      *store.DB
	Cluster *Cluster
	Holder  string        // names this server in scheduler_leader
	Every   time.Duration // default 250 ms
	// URL is where this server answers heartbeats, published while it leads so
	// that followers forward heartbeats to it and show its view (cluster_view.go).
	URL string
	// ViewEvery is how often the leader publishes its view and followers read it
	// (default 1 s); a follower checks the leader's URL every Every.
	ViewEvery time.Duration
	// OnLead runs after this server became leader (e.g. a reconcile now).
	OnLead func()
}

// Run elects until ctx ends, then gives the lock up.
func (e *Elector) Run(ctx context.Context) {
	every := e.Every
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var held *store.Leadership
	var shared time.Time // when the view was last published or read
	defer func() {
		if held != nil {
			e.Cluster.Follow()
			held.Release()
		}
	}()
	for {
		cctx, cancel := context.WithTimeout(ctx, max(every, time.Second))
		if held == nil {
			l, err := e.DB.TryLead(cctx, e.Holder)
			switch {
			case err == nil:
				held = l
				e.Cluster.Lead(l.Epoch)
				slog.Info("this server now leads the scheduler", "holder", e.Holder, "epoch", l.Epoch)
				if e.OnLead != nil {
					e.OnLead()
				}
				shared = time.Time{} // followers learn the new URL at once
			case !errors.Is(err, store.ErrNotLeader) && ctx.Err() == nil:
				slog.Warn("scheduler leader election", "err", err)
			}
		} else if err := held.Check(cctx); err != nil && ctx.Err() == nil {
			e.Cluster.Follow()
			held.Release()
			held = nil
			slog.Warn("lost the scheduler lead: following", "holder", e.Holder, "err", err)
		}
		e.share(cctx, held, &shared)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// share publishes the view while leading, reads the leader's while following:
// every ViewEvery, and at once when the leader changed.
func (e *Elector) share(ctx context.Context, held *store.Leadership, last *time.Time) {
	every := e.ViewEvery
	if every <= 0 {
		every = time.Second
	}
	due := time.Since(*last) >= every
	var err error
	switch {
	case held != nil && due:
		err = PublishView(ctx, held, e.Cluster, e.URL)
	case held == nil:
		var changed bool
		if changed, err = loadAddress(ctx, e.DB, e.Cluster); err == nil && (changed || due) {
			err = LoadView(ctx, e.DB, e.Cluster)
			due = true
		}
	}
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, store.ErrNotLeader) {
			slog.Warn("scheduler view", "err", err)
		}
		return
	}
	if due {
		*last = time.Now()
	}
}
