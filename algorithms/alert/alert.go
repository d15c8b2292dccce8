// Package alert is detector_alert, the alerting algorithm configured by data: a
// detector's labels (or second-stage verdicts on its crops) raise alert kinds under
// the shared rules (zones, tripwires, persistence, cooldown, levels), so a newly
// published detector becomes a new alert kind on the map without Go code.
package alert

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/rules"
	"github.com/cityeye/cityeye/algorithms/track"
	"github.com/cityeye/cityeye/models/decode"
)

// Name is the algorithm.
const Name = "detector_alert"

// Defaults.
const (
	DefaultScore    = 0.5
	DefaultCooldown = 5 * time.Minute
)

type rule struct {
	Rule
	persist  *rules.Persist
	cooldown *rules.Cooldown
	score    float32
}

type alg struct {
	params  algorithms.Params
	opts    Options
	rules   []*rule
	auto    map[string]*rule // label → rule, when no rules are configured
	zones   []string
	minSize float32
	tracker *track.Tracker                    // tripwire rules only
	last    map[uint64]map[string]rules.Point // track → line → last point off the line
}

// New builds a task's instance.
func New(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
	o, err := parse(p)
	if err != nil {
		return nil, err
	}
	a := &alg{params: p, opts: o, zones: []string{""}, auto: map[string]*rule{}, last: map[uint64]map[string]rules.Point{},
		minSize: float32(p.Threshold("min_size", 0))}
	if len(p.Zones) > 0 {
		a.zones = a.zones[:0]
		for _, z := range p.Zones {
			a.zones = append(a.zones, z.Name)
		}
	}
	for _, r := range o.Rules {
		a.rules = append(a.rules, a.newRule(r))
		if len(r.Lines) > 0 && a.tracker == nil {
			a.tracker = track.New(track.Config{FPS: p.SampleFPS, High: float32(p.Threshold("score", DefaultScore))})
		}
	}
	return a, nil
}

func (a *alg) newRule(r Rule) *rule {
	def := rules.Persistence{}
	if r.Persistence != nil {
		def = *r.Persistence
	}
	p := a.params
	if r.Persistence != nil {
		p.Persistence = nil // the rule's own wins over the task's
	}
	pers, cd := p.Rules(def, DefaultCooldown)
	pers.MaxGap = a.params.PersistenceGap()
	if r.CooldownSeconds > 0 {
		cd.Every = time.Duration(r.CooldownSeconds * float64(time.Second))
	}
	score := r.MinScore
	if score == 0 {
		score = a.params.Threshold("score", DefaultScore)
	}
	return &rule{Rule: r, persist: pers, cooldown: cd, score: float32(score)}
}

func (a *alg) Models() []string { return []string{a.opts.Model} }

// matches reports whether a detection triggers a rule: its label, or a second-stage
// verdict on its crop ("hat:head_no_hat", "attrs.tone:dark"; see decode.Detection.Has).
func matches(d decode.Detection, labels []string) bool {
	for _, l := range labels {
		stage, value, staged := strings.Cut(l, ":")
		if !staged && d.Label == l || staged && d.Has(stage, value) {
			return true
		}
	}
	return false
}

func (a *alg) Process(f algorithms.Frame, all map[string][]decode.Detection) algorithms.Output {
	w, h := float64(f.Mat.Cols()), float64(f.Mat.Rows())
	var dets []decode.Detection
	for _, d := range all[a.opts.Model] {
		if d.Box.W() >= a.minSize && d.Box.H() >= a.minSize {
			dets = append(dets, d)
		}
	}
	if len(a.opts.Rules) == 0 { // every label is a kind of its own
		for _, d := range dets {
			if a.auto[d.Label] == nil && d.Label != "" {
				a.auto[d.Label] = a.newRule(Rule{Kind: a.opts.Model + "." + d.Label, Labels: []string{d.Label}, Level: 2})
				a.rules = append(a.rules, a.auto[d.Label])
			}
		}
	}
	crossed := a.crossings(f, dets, w, h)
	var out algorithms.Output
	for _, r := range a.rules {
		for _, z := range a.zones {
			if len(r.Zones) > 0 && !slices.Contains(r.Zones, z) {
				continue
			}
			var boxes []algorithms.Box
			if len(r.Lines) > 0 {
				boxes = crossed[r.Kind+"\x00"+z]
			} else {
				for _, d := range dets {
					if d.Score < r.score || !matches(d, r.Labels) {
						continue
					}
					if dz, ok := a.params.Zone(float64(d.Box.X1+d.Box.X2)/2/w, float64(d.Box.Y1+d.Box.Y2)/2/h); ok && dz == z {
						boxes = append(boxes, algorithms.Box{Label: d.Label, Score: d.Score, Box: d.Box})
					}
				}
			}
			key := z + "\x00" + r.Kind
			if !r.persist.Observe(key, f.Time, len(boxes) >= max(r.MinCount, 1)) || !r.cooldown.Allow(key, f.Time) {
				continue
			}
			level := r.Level
			for _, s := range r.Levels {
				if len(boxes) >= s.MinCount {
					level = max(level, s.Level)
				}
			}
			out.Alerts = append(out.Alerts, algorithms.Alert{Kind: r.Kind, Level: level, Zone: z, Time: f.Time, Boxes: boxes,
				Frame: f.Mat.Clone(), Details: map[string]any{"model": a.opts.Model, "labels": r.Labels, "count": len(boxes),
					"persistence": r.persist.Spec.Describe(), "cooldown_s": r.cooldown.Every.Seconds()}})
		}
	}
	return out
}

// crossings follows the tripwire rules' objects and returns, per rule kind and zone,
// the boxes of those that crossed one of the rule's lines in this frame.
func (a *alg) crossings(f algorithms.Frame, dets []decode.Detection, w, h float64) map[string][]algorithms.Box {
	if a.tracker == nil {
		return nil
	}
	var follow []decode.Detection
	for _, d := range dets {
		if slices.ContainsFunc(a.rules, func(r *rule) bool { return len(r.Lines) > 0 && d.Score >= r.score && matches(d, r.Labels) }) {
			follow = append(follow, d)
		}
	}
	a.tracker.SetBounds(f.Mat.Cols(), f.Mat.Rows())
	assigned, ended := a.tracker.Update(f.Time, follow, nil)
	for _, k := range ended {
		delete(a.last, k.ID)
	}
	out := map[string][]algorithms.Box{}
	for i, k := range assigned {
		if k == nil {
			continue
		}
		b := k.Predicted()
		pt := rules.Point{float64(b.X1+b.X2) / 2 / w, float64(b.Y2) / h} // where it stands
		seen := a.last[k.ID]
		if seen == nil {
			seen = map[string]rules.Point{}
			a.last[k.ID] = seen
		}
		for _, l := range a.params.Lines {
			if prev, ok := seen[l.Name]; ok && k.Confirmed && l.Crossed(prev, pt) {
				z, _ := a.params.Zone(pt[0], pt[1])
				for _, r := range a.rules {
					if slices.Contains(r.Lines, l.Name) && matches(follow[i], r.Labels) {
						out[r.Kind+"\x00"+z] = append(out[r.Kind+"\x00"+z], algorithms.Box{Label: follow[i].Label, Score: follow[i].Score, Box: follow[i].Box})
					}
				}
			}
			if l.Side(pt) != 0 {
				seen[l.Name] = pt
			}
		}
	}
	return out
}

func (a *alg) Close() algorithms.Output { return algorithms.Output{} }

func init() {
	algorithms.Register(algorithms.Spec{
		Name:    Name,
		Title:   "detector alerts",
		TitleZH: "自定义检测告警",
		Summary: "Alerts configured by data: any detector (a vendor's published one too) and rules saying which of its labels raise " +
			"which alert, how many and at what level, in which zones or across which lines.",
		SummaryZH:      "按配置告警：选用任一检测模型（可为厂商发布的模型），用规则指定哪些标签、达到多少数量、在哪些区域或穿越哪些检测线时触发何种告警及等级。",
		OptionsExample: json.RawMessage(`{"model":"garbage-det","rules":[{"kind":"city.garbage_overflow","labels":["garbage"],"min_count":1,"level":2}]}`),
		Description: "Alerts configured by data: options.model names any detector (params.models picks a vendor's published build) and " +
			"options.rules say which labels raise which alert kind (kind, labels — a label, or stage:label for a second-stage verdict on the " +
			"detection's crop —, min_score, min_count, level with levels escalating by count, zones of params.zones, lines of params.lines " +
			"for tripwire rules, persistence and cooldown_seconds overriding the task's). Without rules every label the model reports raises " +
			"<model>.<label> at level 2. Default persistence: at once; cooldown 5 min per zone and kind.",
		Outputs: []string{"<options.rules[].kind>", "<model>.<label>"},
		Params: []algorithms.ParamDoc{
			{Name: "model", Type: "string", Description: "the detector's model name (required)"},
			{Name: "rules", Type: "[]object", Description: "alert kinds: kind, labels, min_score, min_count, level, levels, zones, lines, persistence, cooldown_seconds"},
		},
		New: New,
	})
}
