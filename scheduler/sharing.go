package scheduler

import (
	"context"
	"log/slog"
	"time"

	"github.com/cityeye/cityeye/store"
)

// SweepSharing applies the sharing deadlines now: applications that expire
// undecided, owners' reminders, grants whose period ended. A change re-plans at
// once, so a grant that ended stops its tasks.
func (s *Scheduler) SweepSharing(ctx context.Context) (store.SharingChanges, error) {
	remind := s.Remind
	if remind <= 0 {
		remind = 24 * time.Hour
	}
	ch, err := s.DB.SweepSharing(ctx, s.now(), remind)
	if err == nil && ch.Any() {
		s.Notify()
	}
	return ch, err
}

// RunSharingSweeper sweeps every interval until ctx ends.
func (s *Scheduler) RunSharingSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.SweepSharing(ctx); err != nil && ctx.Err() == nil {
			slog.Error("sharing sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
