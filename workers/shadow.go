package workers

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers/plan"
)

// Shadow runs: a candidate version runs on the frames a stream's tasks just ran
// the primary version on (the same decoded Mat: decode is shared), after the tasks
// have their results; its detections are compared and counted, never handed to an
// algorithm, so it writes no record.

// shadowSet holds the counters of the shadow runs on this worker, by run ID.
type shadowSet struct {
	mu   sync.Mutex
	runs map[string]*shadowRun
}

type shadowRun struct {
	plan.ShadowStats
	primary, candidate string  // batcher keys, for the cost per frame
	base               [2]cost // the two batchers' counters when the run began here
}

// cost is a batcher's busy seconds and frames.
type cost [2]float64

// runShadows runs the stream's shadows whose primary ran on this frame.
func (p *pipeline) runShadows(ctx context.Context, sp plan.StreamPlan, mat gocv.Mat, dets map[string][]decode.Detection, took map[string]time.Duration) {
	for _, sh := range sp.Shadows {
		prim, ok := dets[sh.Primary]
		if !ok {
			continue // the primary did not run on this frame
		}
		b, err := p.w.batcher(sh.Candidate, sp.Device)
		start := time.Now()
		var cand []decode.Detection
		if err == nil {
			cand, err = b.Detect(ctx, sp.Stream.ID, mat)
		}
		spent := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		matched, extra, missed := compareDetections(prim, cand)
		s := &p.w.shadows
		s.mu.Lock()
		if s.runs == nil {
			s.runs = map[string]*shadowRun{}
		}
		r := s.runs[sh.RunID]
		if r == nil { // the cost counts from here: a batcher may have run long before
			costs := p.w.batcherCosts()
			r = &shadowRun{ShadowStats: plan.ShadowStats{RunID: sh.RunID}, primary: sh.Primary, candidate: sh.Candidate,
				base: [2]cost{costs[sh.Primary], costs[sh.Candidate]}}
			s.runs[sh.RunID] = r
		}
		r.Frames++
		r.PrimaryMS += float64(took[sh.Primary].Microseconds()) / 1000
		for _, d := range prim {
			r.PrimaryScores[scoreBin(d.Score)]++
		}
		if err != nil {
			r.CandidateErrors++
			r.LastCandidateError = err.Error()
		} else {
			r.CandidateMS += float64(spent.Microseconds()) / 1000
			r.Matched, r.Extra, r.Missed = r.Matched+int64(matched), r.Extra+int64(extra), r.Missed+int64(missed)
			for _, d := range cand {
				r.CandidateScores[scoreBin(d.Score)]++
			}
		}
		s.mu.Unlock()
		if err != nil {
			slog.Warn("shadow run: the candidate failed", "run", sh.RunID, "candidate", sh.Candidate, "err", err)
		}
	}
}

func scoreBin(s float32) int { return min(max(int(s*10), 0), 9) }

// compareDetections matches the candidate's detections to the primary's: the
// candidate's, highest score first, each to the unmatched primary detection of its
// label with the highest IoU ≥ 0.5.
func compareDetections(primary, cand []decode.Detection) (matched, extra, missed int) {
	c := slices.Clone(cand)
	sort.SliceStable(c, func(i, j int) bool { return c[i].Score > c[j].Score })
	used := make([]bool, len(primary))
	for _, d := range c {
		best, bi := float32(0.5), -1
		for i, p := range primary {
			if !used[i] && p.Label == d.Label {
				if iou := decode.IoU(d.Box, p.Box); iou >= best {
					best, bi = iou, i
				}
			}
		}
		if bi < 0 {
			extra++
			continue
		}
		used[bi] = true
		matched++
	}
	return matched, extra, len(primary) - matched
}

// batcherCosts sums each model key's batchers (all devices): busy seconds, frames.
func (w *Worker) batcherCosts() map[string]cost {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]cost{}
	for key, b := range w.batchers {
		name, _, _ := strings.Cut(key, "#")
		st := b.Stats()
		c := out[name]
		out[name] = cost{c[0] + st.BusySec, c[1] + float64(st.Frames)}
	}
	return out
}

// Shadows reports the shadow runs' counters, with each side's batcher busy time
// per frame on this worker since the run began here (the cost of a frame of that
// version; the primary's batcher also serves frames of tasks the run does not see).
func (w *Worker) Shadows() []plan.ShadowStats {
	costs := w.batcherCosts()
	perFrame := func(now, base cost) float64 {
		if f := now[1] - base[1]; f > 0 {
			return 1000 * (now[0] - base[0]) / f
		}
		return 0
	}
	s := &w.shadows
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []plan.ShadowStats{}
	for _, r := range s.runs {
		st := r.ShadowStats
		st.PrimaryCostMS, st.CandidateCostMS = perFrame(costs[r.primary], r.base[0]), perFrame(costs[r.candidate], r.base[1])
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunID < out[j].RunID })
	return out
}
