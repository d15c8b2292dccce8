package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers"
)

// Rotation runs the picture diagnosis on every catalogue camera that has a pull URL,
// with or without tasks, a few key frames a visit, as many visits a tick as the
// capacity the tasks leave allows. Its visits, and the live streams' states, are the
// cameras' online time (store.RecordOnline).
type Rotation struct {
	DB    *store.DB
	Sched *Scheduler // whose capacity and grants say what is spare
	// Diagnose visits one camera (workers.Recorder.Diagnose in process).
	Diagnose func(ctx context.Context, st store.Stream, prev *store.Diagnosis, v workers.Visit) (store.Diagnosis, error)
	Visit    workers.Visit
	// Share is the fraction of spare capacity the rotation may use (default 0.5);
	// FrameCost is a diagnosed key frame in the capacity's units, analysed frames
	// (default 1: decode and diagnosis cost about what one detector frame does on CPU).
	Share, FrameCost float64
	// Revisit is the least time between two visits of one camera (default 15 min):
	// with capacity to spare a round is this long; without, as long as it takes.
	Revisit time.Duration
	// MinVisits a tick are made even when the tasks use everything (default 1), so
	// that the rotation never stops.
	MinVisits int
	Parallel  int // visits at once (default 4): a visit mostly waits for key frames
	// States are the live streams' states (true: delivering frames), from the worker
	// or the cluster; they count as online time for the tick.
	States func() map[string]bool
	Now    func() time.Time

	pruned int
}

func (r *Rotation) defaults() {
	if r.Share <= 0 {
		r.Share = 0.5
	}
	if r.FrameCost <= 0 {
		r.FrameCost = 1
	}
	if r.Revisit <= 0 {
		r.Revisit = 15 * time.Minute
	}
	if r.MinVisits <= 0 {
		r.MinVisits = 1
	}
	if r.Parallel <= 0 {
		r.Parallel = 4
	}
	if r.Visit.Frames == 0 {
		r.Visit.Frames = 5
	}
}

func (r *Rotation) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Spare is the capacity (analysed frames per second) the granted tasks leave.
func (r *Rotation) Spare() float64 {
	if r.Sched == nil {
		return 0
	}
	used := 0.0
	for _, g := range r.Sched.Grants() {
		used += g.GrantedFPS
	}
	return max(r.Sched.CapacityFPS-used, 0)
}

// Visits is how many cameras a tick of this length may visit: the rotation's share
// of the spare capacity over the tick, in visits of Visit.Frames key frames.
func (r *Rotation) Visits(tick time.Duration) int {
	r.defaults()
	n := int(r.Spare() * r.Share * tick.Seconds() / (float64(r.Visit.Frames) * r.FrameCost))
	return max(n, r.MinVisits)
}

// Run ticks until ctx ends.
func (r *Rotation) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if n, err := r.Tick(ctx, tick); err != nil && ctx.Err() == nil {
			slog.Error("diagnosis rotation", "err", err)
		} else if n > 0 {
			slog.Debug("diagnosis rotation", "visited", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick credits the live streams' states for the tick, then visits the cameras due,
// up to Visits(tick), and returns how many it visited.
func (r *Rotation) Tick(ctx context.Context, tick time.Duration) (int, error) {
	r.defaults()
	t := r.now()
	live := map[string]bool{}
	if r.States != nil {
		live = r.States()
	}
	for id, on := range live {
		if err := r.credit(ctx, id, t, tick, on); err != nil {
			return 0, err
		}
	}
	if day := store.DayOf(t); day != r.pruned { // online history is kept a year
		if _, err := r.DB.PruneOnline(ctx, store.DayOf(t.AddDate(-1, 0, 0))); err != nil {
			return 0, err
		}
		r.pruned = day
	}
	due, err := r.DB.DueCameras(ctx, t, r.Visits(tick))
	if err != nil {
		return 0, err
	}
	prev, err := r.DB.Diagnoses(ctx, due)
	if err != nil {
		return 0, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		slots = make(chan struct{}, r.Parallel)
	)
	for _, id := range due {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			var p *store.Diagnosis
			if d, ok := prev[id]; ok {
				p = &d
			}
			if err := r.visit(ctx, id, p, live); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// visit diagnoses one camera with its thresholds, stores the visit and, for a camera
// no live stream reports on, credits the time since its last visit as online or not.
func (r *Rotation) visit(ctx context.Context, id string, prev *store.Diagnosis, live map[string]bool) error {
	st, err := r.DB.GetStream(ctx, id)
	if err != nil {
		return err
	}
	v := r.Visit
	if v.Options, err = r.DB.DiagnosisParams(ctx, st.ID, st.AdminDivision); err != nil {
		return err
	}
	if v.Reference, v.ChangedAt, err = r.DB.SceneReference(ctx, st.ID); err != nil {
		return err
	}
	d, err := r.Diagnose(ctx, st, prev, v)
	if err != nil {
		return err
	}
	d.ProbedAt = r.now()
	d.DueAt = d.ProbedAt.Add(r.Revisit)
	if err := r.DB.SaveDiagnosis(ctx, d); err != nil {
		return err
	}
	if d.Online {
		if err := r.DB.SetSceneReference(ctx, st.ID, d.SceneRef, d.SceneChangedAt); err != nil {
			return err
		}
	}
	if _, ok := live[id]; ok || prev == nil {
		return nil // a live stream's state is counted every tick; a first visit has no span
	}
	// the camera was as this visit found it since the last, up to two revisit periods
	return r.credit(ctx, id, d.ProbedAt, min(d.ProbedAt.Sub(prev.ProbedAt), 2*r.Revisit), d.Online)
}

func (r *Rotation) credit(ctx context.Context, id string, t time.Time, span time.Duration, online bool) error {
	if span <= 0 {
		return nil
	}
	owner, division, err := r.DB.CameraPlace(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return r.DB.RecordOnline(ctx, id, store.DayOf(t), owner, division, span, online)
}
