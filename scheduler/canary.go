package scheduler

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
)

// Canary publishes (store.Canary): the scheduler pins the tasks in a canary to its
// version when it plans them, and CanaryMonitor watches the version's counters in
// the workers' heartbeats to widen it step by step, publish it, or roll it back.

// InCanary reports whether task t is among the canary's: on one of its cameras, or
// in its current percentage of the others (by a hash of the task ID, stable as the
// canary widens).
func InCanary(c store.Canary, t store.Task) bool {
	if slices.Contains(c.Cameras, t.StreamID) {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(t.ID))
	return int(h.Sum32()%100) < c.Percent()
}

// canaryParams pins t to a running canary's version when t follows that model (its
// published version, unpinned) and is in the canary.
func canaryParams(cs []store.Canary, t store.Task, p algorithms.Params) algorithms.Params {
	spec, ok := algorithms.Lookup(t.Algorithm)
	if !ok {
		return p
	}
	for _, c := range cs {
		if !slices.Contains(spec.Models, c.Name) {
			continue
		}
		if r := p.ModelRef(c.Name); r.Vendor != c.Vendor || r.Version != "" || !InCanary(c, t) {
			continue
		}
		pin := c.Version // the platform's own: a bare version
		if c.Vendor != models.PlatformVendor {
			pin = c.Vendor + "/" + c.Name + "@" + c.Version
		}
		p.Models = maps.Clone(p.Models)
		if p.Models == nil {
			p.Models = map[string]string{}
		}
		p.Models[c.Name] = pin
	}
	return p
}

// CanaryMonitor judges running canaries from the counters of the canary version's
// batchers on every worker (frames, failed frames, busy time per batch): over
// MaxErrorRate or MaxLatencyMS it rolls back at once; healthy for StepSeconds with
// at least MinFrames analysed, it widens to the next step, and after the last step
// publishes the version. Every step is in the audit log (user "system").
type CanaryMonitor struct {
	DB      *store.DB
	Cluster *Cluster
	// Publish publishes the version to every task (the warehouse's Publish).
	Publish func(ctx context.Context, vendor, name, version string) error
	Notify  func() // re-plan: tasks move into or out of the canary
	Now     func() time.Time
}

// CanaryStats are a canary version's counters summed over the workers.
type CanaryStats struct {
	Frames    int64   `json:"frames"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	LatencyMS float64 `json:"latency_ms"` // mean per batch, preprocessing and inference
}

// Stats sums the counters of q@version's batchers on the live workers.
func (m *CanaryMonitor) Stats(c store.Canary) CanaryStats {
	var st CanaryStats
	var busy float64
	var batches int64
	q := models.QualifiedName(c.Vendor, c.Name)
	for _, w := range m.Cluster.Members() {
		for _, b := range w.Batchers {
			if w.Alive && b.Model == q && b.Version == c.Version {
				st.Frames, st.Errors, busy, batches = st.Frames+b.Frames, st.Errors+b.Errors, busy+b.BusySec, batches+b.Batches
			}
		}
	}
	if st.Frames > 0 {
		st.ErrorRate = float64(st.Errors) / float64(st.Frames)
	}
	if batches > 0 {
		st.LatencyMS = 1000 * busy / float64(batches)
	}
	return st
}

// Run checks the running canaries every interval until ctx ends.
func (m *CanaryMonitor) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if err := m.Check(ctx); err != nil {
			slog.Warn("canary check", "err", err)
		}
	})
}

// every calls fn at each tick of interval until ctx ends (the scheduler's loops).
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// Check judges every running canary once.
func (m *CanaryMonitor) Check(ctx context.Context) error {
	cs, err := m.DB.ListCanaries(ctx, store.CanaryRunning)
	if err != nil {
		return err
	}
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	for _, c := range cs {
		st := m.Stats(c)
		if st.Frames < int64(max(c.MinFrames, 1)) {
			continue // too little seen to judge
		}
		old, target := c, fmt.Sprintf("model %s@%s", models.QualifiedName(c.Vendor, c.Name), c.Version)
		var action, detail string
		switch {
		case c.MaxErrorRate > 0 && st.ErrorRate > c.MaxErrorRate:
			action, c.State = "model.canary_rollback", store.CanaryRolledBack
			c.Reason = fmt.Sprintf("error rate %.3f (%d of %d frames) over %.3f", st.ErrorRate, st.Errors, st.Frames, c.MaxErrorRate)
		case c.MaxLatencyMS > 0 && st.LatencyMS > c.MaxLatencyMS:
			action, c.State = "model.canary_rollback", store.CanaryRolledBack
			c.Reason = fmt.Sprintf("latency %.1f ms per batch over %.1f ms (%d frames)", st.LatencyMS, c.MaxLatencyMS, st.Frames)
		case now.Sub(c.StepAt) < time.Duration(c.StepSeconds)*time.Second:
			continue
		case c.Step+1 < len(c.Steps):
			action, c.Step, c.StepAt = "model.canary_widen", c.Step+1, now
			detail = fmt.Sprintf("step %d: %d%% of the other tasks (healthy: error rate %.3f, %.1f ms per batch, %d frames)", c.Step, c.Percent(), st.ErrorRate, st.LatencyMS, st.Frames)
		default:
			if err := m.Publish(ctx, c.Vendor, c.Name, c.Version); err != nil {
				slog.Warn("canary: publishing failed; retried at the next check", "model", target, "err", err)
				continue
			}
			action, c.State = "model.canary_promote", store.CanaryPromoted
			c.Reason = fmt.Sprintf("published to every task after %d steps (error rate %.3f, %.1f ms per batch, %d frames)", len(c.Steps), st.ErrorRate, st.LatencyMS, st.Frames)
		}
		if c.State != store.CanaryRunning {
			c.EndedAt, detail = now, c.Reason
		}
		if err := m.DB.PutCanary(ctx, c, &old); err != nil {
			slog.Warn("canary: not updated", "model", target, "err", err)
			continue
		}
		slog.Info("canary", "action", action, "model", target, "detail", detail)
		if err := m.DB.Audit(ctx, &store.AuditEntry{At: now, UserID: "system", Action: action, Target: target, Status: 200, Detail: detail}); err != nil {
			slog.Error("canary: audit", "err", err)
		}
		if m.Notify != nil {
			m.Notify()
		}
	}
	return nil
}
