package warehouse

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
)

// Evaluation puts a version's scores beside the published version's, set by set,
// and says whether the platform admin's gate lets it be published.
type Evaluation struct {
	// Published is the version compared with (vendor/name@version): the published
	// version of the same model, else the platform's of that name; empty if none.
	Published string      `json:"published_version,omitempty"`
	Sets      []SetResult `json:"sets"`
	Gate      *GateResult `json:"gate,omitempty"`
}

// SetResult is one evaluation set: the candidate's state and score, the published
// version's score, and the difference of the primary measure in percentage points.
type SetResult struct {
	Set         string   `json:"set"`
	State       string   `json:"state"` // queued, running, done or failed
	Progress    int      `json:"progress"`
	Error       string   `json:"error,omitempty"`
	Metric      string   `json:"metric,omitempty"`
	Score       *Score   `json:"score,omitempty"`
	Published   *Score   `json:"published,omitempty"`
	DeltaPoints *float64 `json:"delta_points,omitempty"`
}

// GateResult is the gate that applies and its verdict.
type GateResult struct {
	Model         string   `json:"model"` // the model the gate was set for; "" is the general gate
	MaxDropPoints float64  `json:"max_drop_points"`
	Blocked       bool     `json:"blocked"`
	Reasons       []string `json:"reasons,omitempty"`
}

// ScoreQueued is the state of a set a version has not been scored on yet.
const ScoreQueued = "queued"

// Evaluate compares a version (its scores so far) with the published version's on
// every evaluation set that applies to it, and applies the gate.
func (w *Warehouse) Evaluate(ctx context.Context, vendor, name, version string) (Evaluation, error) {
	ev := Evaluation{Sets: []SetResult{}}
	m, _, err := w.versionManifest(ctx, key{vendor, name, version})
	if err != nil {
		return ev, err
	}
	sets, err := w.DB.ListEvalSets(ctx, m.Task)
	if err != nil {
		return ev, err
	}
	mine, err := scoresBySet(ctx, w.DB, key{vendor, name, version})
	if err != nil {
		return ev, err
	}
	var theirs map[string]store.ModelScore
	if b, ok := w.baseline(ctx, vendor, name, version); ok {
		ev.Published = b.String()
		if theirs, err = scoresBySet(ctx, w.DB, b); err != nil {
			return ev, err
		}
	}
	for _, s := range sets {
		var spec EvalSpec
		if json.Unmarshal(s.Spec, &spec) != nil {
			continue
		}
		if ok, _ := spec.applies(m.Task, m.Labels); !ok {
			continue
		}
		r := SetResult{Set: s.Name, State: ScoreQueued}
		if c, ok := mine[s.Name]; ok && c.SetSHA256 == s.SHA256 {
			r.State, r.Progress, r.Error, r.Score = c.State, c.Progress, c.Error, decodeScore(c)
		}
		if p, ok := theirs[s.Name]; ok && p.SetSHA256 == s.SHA256 {
			r.Published = decodeScore(p)
		}
		if r.Score != nil {
			r.Metric = r.Score.Metric
			if r.Published != nil {
				d := 100 * (r.Score.Value - r.Published.Value)
				r.DeltaPoints = &d
			}
		}
		ev.Sets = append(ev.Sets, r)
	}
	g, ok, err := w.DB.GateFor(ctx, models.QualifiedName(vendor, name))
	if err != nil || !ok {
		return ev, err
	}
	gr := &GateResult{Model: g.Model, MaxDropPoints: g.MaxDropPoints}
	for _, r := range ev.Sets {
		switch {
		case r.State != store.ScoreDone:
			gr.Reasons = append(gr.Reasons, fmt.Sprintf("%s: not scored (%s%s)", r.Set, r.State, prefixed(": ", r.Error)))
		case r.DeltaPoints != nil && *r.DeltaPoints < -g.MaxDropPoints:
			gr.Reasons = append(gr.Reasons, fmt.Sprintf("%s: %s %.1f against %.1f for %s (%.1f points; the gate allows −%g)",
				r.Set, r.Metric, 100*r.Score.Value, 100*r.Published.Value, ev.Published, *r.DeltaPoints, g.MaxDropPoints))
		}
	}
	gr.Blocked = len(gr.Reasons) > 0
	ev.Gate = gr
	return ev, nil
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func scoresBySet(ctx context.Context, db *store.DB, k key) (map[string]store.ModelScore, error) {
	rows, err := db.ListModelScores(ctx, k.Vendor, k.Name, k.Version)
	out := map[string]store.ModelScore{}
	for _, r := range rows {
		out[r.Set] = r
	}
	return out, err
}

func decodeScore(r store.ModelScore) *Score {
	if r.State != store.ScoreDone || len(r.Score) == 0 {
		return nil
	}
	var s Score
	if json.Unmarshal(r.Score, &s) != nil {
		return nil
	}
	return &s
}
