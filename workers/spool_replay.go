package workers

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// spoolLanes is how many writes Run replays at once. Order matters only among the
// versions of one record (a track's): each record, and each alert, has one lane,
// which writes its share in the queue's order.
const spoolLanes = 8

// Run replays the queue through write until ctx ends. The writes are handed out in
// the queue's order to lanes by their record's track (alerts by ID), so a track's
// versions are written in the order they were made while other tracks' writes go
// on beside them; a lane whose write fails retries it every 250 ms doubling to
// 2 s, so the queue starts draining within 2 s of storage's return. A write is
// removed from the disk once it is committed.
func (s *Spool) Run(ctx context.Context, write func(context.Context, *spoolEntry) error) {
	s.mu.Lock()
	s.next = s.head // a previous Run may have handed out writes it did not finish
	s.mu.Unlock()
	var wg sync.WaitGroup
	lanes := make([]chan spoolJob, spoolLanes)
	for i := range lanes {
		lanes[i] = make(chan spoolJob, 16)
		wg.Go(func() { s.lane(ctx, lanes[i], write) })
	}
	defer func() {
		for _, l := range lanes {
			close(l)
		}
		wg.Wait()
	}()
	for {
		f, ok := s.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		if time.Since(f.created) > s.cfg.MaxAge {
			slog.Error("spool: write older than the spool's age limit dropped", "file", f.name, "age", time.Since(f.created).Round(time.Second))
			s.remove(f, func(st *plan.SpoolStats) { st.DroppedExpired++ })
			continue
		}
		e, err := s.read(f)
		if err != nil {
			slog.Error("spool: unreadable write dropped", "file", f.name, "err", err)
			s.remove(f, func(st *plan.SpoolStats) { st.DroppedCorrupt++ })
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(e.lane()))
		select {
		case lanes[h.Sum32()%spoolLanes] <- spoolJob{f, e}:
		case <-ctx.Done():
			return
		}
	}
}

type spoolJob struct {
	f *spoolFile
	e *spoolEntry
}

// take hands out the next file to replay.
func (s *Spool) take() (*spoolFile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.next < len(s.files) && s.files[s.next].done {
		s.next++
	}
	if s.next == len(s.files) {
		return nil, false
	}
	s.next++
	return s.files[s.next-1], true
}

// lane writes its jobs in order, each until it is committed or refused.
func (s *Spool) lane(ctx context.Context, jobs <-chan spoolJob, write func(context.Context, *spoolEntry) error) {
	for j := range jobs {
		for backoff := time.Duration(0); ; {
			if ctx.Err() != nil {
				break // the files stay for the next Run
			}
			err := write(ctx, j.e)
			if err == nil {
				s.remove(j.f, func(st *plan.SpoolStats) { st.Replayed++ })
				break
			}
			if store.Permanent(err) {
				slog.Error("spool: write refused by storage, dropped", "file", j.f.name, "err", err)
				s.remove(j.f, func(st *plan.SpoolStats) { st.DroppedRefused++ })
				break
			}
			s.mu.Lock()
			s.lastErr = waitingOn(err)
			s.mu.Unlock()
			backoff = min(max(backoff*2, 250*time.Millisecond), 2*time.Second)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
		}
	}
}

// lane is what orders e among the writes: its record's track, or its alert.
func (e *spoolEntry) lane() string {
	if e.Alert != nil {
		return "alert " + e.Alert.ID
	}
	return "track " + e.Record.TrackKey
}

// spoolDrain is how long Worker.Close waits for the spool to empty.
const spoolDrain = 5 * time.Second

// waitEmpty waits until nothing is queued, or for d.
func (s *Spool) waitEmpty(d time.Duration) {
	for deadline := time.Now().Add(d); s.busy() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}
