package scheduler

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// Shadow runs (store.ShadowRun): the scheduler adds a running run to the plans of
// its streams, beside the build their tasks use, and ShadowMonitor turns the
// workers' counters into the run's report until its period ends.

// addShadows gives each running run's streams a plan.Shadow: the candidate runs on
// the frames the stream's tasks run the model on (the first task that uses it).
func addShadows(runs []store.ShadowRun, plans []plan.StreamPlan) {
	for _, r := range runs {
		q := models.QualifiedName(r.Vendor, r.Name)
		for i := range plans {
			sp := &plans[i]
			if !slices.Contains(r.Streams, sp.Stream.ID) {
				continue
			}
			for _, t := range sp.Tasks {
				spec, ok := algorithms.Lookup(t.Task.Algorithm)
				if !ok || !slices.Contains(spec.Models, r.Name) {
					continue
				}
				if ref := t.Params.ModelRef(r.Name); models.QualifiedName(ref.Vendor, ref.Name) == q {
					sp.Shadows = append(sp.Shadows, plan.Shadow{RunID: r.ID, Primary: ref.Key(), Candidate: q + "@" + r.Version})
					break
				}
			}
		}
	}
}

// ShadowReport is a run's report: agreement of the candidate with the version the
// tasks run, score distributions (tenths: Scores[i] counts [i/10, (i+1)/10)), and
// per-frame latency (wall time of the detection) and cost (the batcher's busy time).
type ShadowReport struct {
	Frames          int64     `json:"frames"`
	Matched         int64     `json:"matched"`
	Extra           int64     `json:"extra"`  // the candidate found, the published version did not
	Missed          int64     `json:"missed"` // the published version found, the candidate did not
	Agreement       float64   `json:"agreement"`
	PrimaryScores   [10]int64 `json:"primary_scores"`
	CandidateScores [10]int64 `json:"candidate_scores"`
	PrimaryMS       float64   `json:"primary_latency_ms_per_frame"`
	CandidateMS     float64   `json:"candidate_latency_ms_per_frame"`
	PrimaryCostMS   float64   `json:"primary_cost_ms_per_frame"`
	CandidateCostMS float64   `json:"candidate_cost_ms_per_frame"`
	CandidateErrors int64     `json:"candidate_errors"`
	LastError       string    `json:"last_candidate_error,omitempty"`
	Workers         []string  `json:"workers"`
}

// ShadowMonitor writes each running run's report every check and ends the run at
// its EndsAt (audited), re-planning so that the streams drop the shadow.
type ShadowMonitor struct {
	DB      *store.DB
	Cluster *Cluster
	Notify  func()
}

// Report sums the run's counters over the workers.
func (m *ShadowMonitor) Report(id string) ShadowReport {
	rep := ShadowReport{Workers: []string{}}
	var primCost, candCost float64
	for _, w := range m.Cluster.Members() {
		for _, s := range w.Shadows {
			if s.RunID != id {
				continue
			}
			rep.Workers = append(rep.Workers, w.ID)
			rep.Frames, rep.Matched, rep.Extra, rep.Missed = rep.Frames+s.Frames, rep.Matched+s.Matched, rep.Extra+s.Extra, rep.Missed+s.Missed
			for i := range s.PrimaryScores {
				rep.PrimaryScores[i] += s.PrimaryScores[i]
				rep.CandidateScores[i] += s.CandidateScores[i]
			}
			rep.PrimaryMS, rep.CandidateMS = rep.PrimaryMS+s.PrimaryMS, rep.CandidateMS+s.CandidateMS
			primCost, candCost = primCost+s.PrimaryCostMS*float64(s.Frames), candCost+s.CandidateCostMS*float64(s.Frames)
			rep.CandidateErrors += s.CandidateErrors
			if s.LastCandidateError != "" {
				rep.LastError = s.LastCandidateError
			}
		}
	}
	if rep.Frames > 0 {
		f := float64(rep.Frames)
		rep.PrimaryMS, rep.CandidateMS, rep.PrimaryCostMS, rep.CandidateCostMS = rep.PrimaryMS/f, rep.CandidateMS/max(f-float64(rep.CandidateErrors), 1), primCost/f, candCost/f
	}
	if n := rep.Matched + rep.Extra + rep.Missed; n > 0 {
		rep.Agreement = float64(rep.Matched) / float64(n)
	}
	return rep
}

// Run checks every interval until ctx ends.
func (m *ShadowMonitor) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if err := m.Check(ctx, time.Now()); err != nil {
			slog.Warn("shadow runs", "err", err)
		}
	})
}

// Check saves the running runs' reports and ends those whose period is over.
func (m *ShadowMonitor) Check(ctx context.Context, now time.Time) error {
	runs, err := m.DB.ListShadowRuns(ctx, store.ShadowFilter{State: store.ShadowRunning})
	if err != nil {
		return err
	}
	for _, r := range runs {
		rep := m.Report(r.ID)
		b, _ := json.Marshal(rep)
		state := store.ShadowRunning
		if !now.Before(r.EndsAt) {
			state = store.ShadowDone
		}
		if err := m.DB.SaveShadowReport(ctx, r.ID, b, state, now); err != nil {
			return err
		}
		if state == store.ShadowDone {
			target := "model " + models.QualifiedName(r.Vendor, r.Name) + "@" + r.Version
			m.DB.Audit(ctx, &store.AuditEntry{At: now, UserID: "system", Action: "model.shadow_done", Target: target, Status: 200, Detail: string(b)})
			if m.Notify != nil {
				m.Notify()
			}
		}
	}
	return nil
}
