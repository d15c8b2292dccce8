// Package kitchen is the kitchen-hygiene algorithm (明厨亮灶): alerts on a cook
// without a hat, a rat, or an overflowing bin inside the kitchen zones, from any
// detector published as "kitchen-hygiene" with the contract's labels.
package kitchen

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/rules"
	"github.com/cityeye/cityeye/models/decode"
)

// Name is the algorithm; Model the detector it runs. In "person_hat" mode it runs
// PersonModel and HatModel, a classifier, on the head crops of its persons.
const (
	Name        = "kitchen_hygiene"
	Model       = "kitchen-hygiene"
	PersonModel = "nanodet"
	HatModel    = "hat-classifier"

	DetectorHead      = "head"       // the kitchen-hygiene detector's head_hat/head_no_hat boxes
	DetectorPersonHat = "person_hat" // a person detector + the hat classifier on head crops
)

// HeadRegion is where a standing person's head is, as fractions of the person's box;
// the hat classifier sees it grown by a tenth on each side.
var HeadRegion = [4]float64{0.2, 0, 0.8, 0.22}

// The contract's labels. Detections with other labels are ignored, so any vendor's
// detector that outputs these (and more) works.
const (
	LabelHat     = "head_hat"
	LabelNoHat   = "head_no_hat"
	LabelRat     = "rat"
	LabelGarbage = "garbage_overflow"
)

// kind is one alert the algorithm raises.
type kind struct {
	option  string // its name in options.alerts
	alert   string // Alert.Kind
	label   string
	level   int
	persist rules.Persistence // default; params.persistence overrides
}

var kinds = []kind{
	{"no_hat", "kitchen.no_hat", LabelNoHat, 2, rules.Persistence{K: 3, N: 5}},
	{"rat", "kitchen.rat", LabelRat, 2, rules.Persistence{K: 2, N: 3}},
	{"garbage_overflow", "kitchen.garbage_overflow", LabelGarbage, 2, rules.Persistence{Seconds: 10}},
}

// Defaults.
const (
	DefaultScore    = 0.5
	DefaultMinSize  = 8 // pixels, the shorter box side
	DefaultCooldown = 5 * time.Minute
	// a head_no_hat box is dropped when a head_hat box scored at least as high
	// overlaps it this much (IoU): the detector saw one head both ways
	hatOverlap = 0.5
)

// Options are kitchen_hygiene's own parameters (params.options).
type Options struct {
	// Alerts limits the alerts raised: any of no_hat, rat, garbage_overflow
	// (default all; no_hat alone with the person_hat detector).
	Alerts []string `json:"alerts,omitempty"`
	// Detector finds heads with and without hats: "head" (default) or
	// "person_hat" (PersonModel + HatModel on head crops; rat and garbage alerts, when
	// asked for, still run the kitchen-hygiene detector).
	Detector string `json:"detector,omitempty"`
	// HatEvery re-classifies a person's head every this many frames (default 5;
	// a cook puts a hat on or takes it off).
	HatEvery int `json:"hat_every,omitempty"`
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := algorithms.DecodeOptions(raw, &o); err != nil {
		return o, err
	}
	switch o.Detector {
	case "":
		o.Detector = DetectorHead
	case DetectorHead, DetectorPersonHat:
	default:
		return o, &algorithms.FieldError{Field: "params.options.detector", Msg: fmt.Sprintf("%q is not head or person_hat", o.Detector)}
	}
	if o.HatEvery < 0 || o.HatEvery > 1000 {
		return o, &algorithms.FieldError{Field: "params.options.hat_every", Msg: "frames in [1, 1000]"}
	}
	if o.HatEvery == 0 {
		o.HatEvery = 5
	}
	if o.Detector == DetectorPersonHat && len(o.Alerts) == 0 {
		o.Alerts = []string{"no_hat"}
	}
	for i, a := range o.Alerts {
		if !slices.ContainsFunc(kinds, func(k kind) bool { return k.option == a }) {
			return o, &algorithms.FieldError{Field: fmt.Sprintf("params.options.alerts[%d]", i), Msg: fmt.Sprintf("%q is not one of no_hat, rat, garbage_overflow", a)}
		}
	}
	return o, nil
}

type rule struct {
	kind
	persist *rules.Persist
}

type alg struct {
	params   algorithms.Params
	opts     Options
	score    float32
	minSize  float32
	rules    []rule
	cooldown *rules.Cooldown
	zones    []string // the zone names persistence is tracked for ("" = the whole frame or ROI)
}

// New builds a task's instance.
func New(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
	o, err := parseOptions(p.Options)
	if err != nil {
		return nil, err
	}
	a := &alg{params: p, opts: o,
		score:   float32(p.Threshold("score", DefaultScore)),
		minSize: float32(p.Threshold("min_size", DefaultMinSize)),
		zones:   []string{""},
	}
	if len(p.Zones) > 0 {
		a.zones = a.zones[:0]
		for _, z := range p.Zones {
			a.zones = append(a.zones, z.Name)
		}
	}
	for _, k := range kinds {
		if len(o.Alerts) > 0 && !slices.Contains(o.Alerts, k.option) {
			continue
		}
		pers, cd := p.Rules(k.persist, DefaultCooldown)
		pers.MaxGap = p.PersistenceGap()
		if a.cooldown == nil {
			a.cooldown = cd // one cooldown, keyed by zone and kind
		}
		a.rules = append(a.rules, rule{kind: k, persist: pers})
	}
	return a, nil
}

func (a *alg) Models() []string {
	if a.opts.Detector == DetectorHead {
		return []string{Model}
	}
	if slices.ContainsFunc(a.rules, func(r rule) bool { return r.label != LabelNoHat }) {
		return []string{PersonModel, Model}
	}
	return []string{PersonModel}
}

// Stages declares the hat classifier on head crops in person_hat mode.
func (a *alg) Stages() []algorithms.Stage2 {
	if a.opts.Detector != DetectorPersonHat {
		return nil
	}
	region := HeadRegion
	return []algorithms.Stage2{{Name: "hat", Model: HatModel, On: PersonModel, Classes: []string{"person"},
		Region: &region, Padding: 0.1, MinSize: 8, Every: a.opts.HatEvery}}
}

// heads turns persons with a hat verdict into head boxes labelled by the verdict.
func heads(persons []decode.Detection) []decode.Detection {
	var out []decode.Detection
	for _, p := range persons {
		r, ok := p.Stage2["hat"]
		if p.Label != "person" || !ok || len(r.Classes) == 0 {
			continue
		}
		v := r.Classes[0]
		if v.Label != LabelHat && v.Label != LabelNoHat {
			continue
		}
		w, h := p.Box.W(), p.Box.H()
		box := decode.Box{X1: p.Box.X1 + float32(HeadRegion[0])*w, Y1: p.Box.Y1 + float32(HeadRegion[1])*h,
			X2: p.Box.X1 + float32(HeadRegion[2])*w, Y2: p.Box.Y1 + float32(HeadRegion[3])*h}
		out = append(out, decode.Detection{Box: box, Label: v.Label, Score: min(p.Score, v.Score)})
	}
	return out
}

// locate returns the zone a normalised point is in: it must be inside the ROI (if
// any) and one of the zones (if any); with neither, the whole frame counts as "".
func (a *alg) Process(f algorithms.Frame, dets map[string][]decode.Detection) algorithms.Output {
	w, h := float64(f.Mat.Cols()), float64(f.Mat.Rows())
	var kept, hats []decode.Detection
	found := dets[Model]
	if a.opts.Detector == DetectorPersonHat {
		found = append(heads(dets[PersonModel]), dets[Model]...)
	}
	for _, d := range found {
		if d.Score < a.score || d.Box.W() < a.minSize || d.Box.H() < a.minSize {
			continue
		}
		switch d.Label {
		case LabelHat:
			hats = append(hats, d)
		case LabelNoHat, LabelRat, LabelGarbage:
			kept = append(kept, d)
		}
	}
	// zone → label → boxes
	inZone := map[string]map[string][]algorithms.Box{}
	hatsIn := map[string]int{}
	for _, d := range hats {
		if z, ok := a.params.Zone(float64(d.Box.X1+d.Box.X2)/2/w, float64(d.Box.Y1+d.Box.Y2)/2/h); ok {
			hatsIn[z]++
		}
	}
	for _, d := range kept {
		if d.Label == LabelNoHat && slices.ContainsFunc(hats, func(hd decode.Detection) bool {
			return hd.Score >= d.Score && decode.IoU(hd.Box, d.Box) >= hatOverlap
		}) {
			continue
		}
		z, ok := a.params.Zone(float64(d.Box.X1+d.Box.X2)/2/w, float64(d.Box.Y1+d.Box.Y2)/2/h)
		if !ok {
			continue
		}
		if inZone[z] == nil {
			inZone[z] = map[string][]algorithms.Box{}
		}
		inZone[z][d.Label] = append(inZone[z][d.Label], algorithms.Box{Label: d.Label, Score: d.Score, Box: d.Box})
	}
	var out algorithms.Output
	for _, r := range a.rules {
		for _, z := range a.zones {
			boxes := inZone[z][r.label]
			key := z + "\x00" + r.alert
			if !r.persist.Observe(key, f.Time, len(boxes) > 0) || !a.cooldown.Allow(key, f.Time) {
				continue
			}
			best := float32(0)
			for _, b := range boxes {
				best = max(best, b.Score)
			}
			details := map[string]any{
				"model":       a.Models()[0],
				"detector":    a.opts.Detector,
				"count":       len(boxes),
				"max_score":   best,
				"persistence": r.persist.Spec.Describe(),
				"cooldown_s":  a.cooldown.Every.Seconds(),
			}
			if r.label == LabelNoHat {
				details["heads_with_hat"] = hatsIn[z]
			}
			out.Alerts = append(out.Alerts, algorithms.Alert{Kind: r.alert, Level: r.level, Zone: z, Time: f.Time,
				Boxes: boxes, Frame: f.Mat.Clone(), Details: details})
		}
	}
	return out
}

func (a *alg) Close() algorithms.Output { return algorithms.Output{} }

func init() {
	algorithms.Register(algorithms.Spec{
		Name:           Name,
		Title:          "kitchen hygiene",
		TitleZH:        "明厨亮灶",
		Summary:        "In the kitchen zones, alerts on a head without a hat, a rat or overflowing garbage, within the task's schedule.",
		SummaryZH:      "在后厨区域内对未戴厨师帽、老鼠出没、垃圾满溢告警，只在任务设定的时段内运行。",
		OptionsExample: json.RawMessage(`{"alerts":["no_hat","rat","garbage_overflow"]}`),
		Description: "Kitchen hygiene (明厨亮灶): alerts kitchen.no_hat (a head without a hat), kitchen.rat and kitchen.garbage_overflow " +
			"inside the kitchen zones (params.zones, else the ROI, else the whole frame), from any detector published as " + Model +
			" with labels " + strings.Join([]string{LabelHat, LabelNoHat, LabelRat, LabelGarbage}, ", ") + " (other labels are ignored). " +
			"A head_no_hat box overlapping a head_hat box scored at least as high (IoU ≥ 0.5) is dropped. Default persistence: no_hat 3 of 5 frames, " +
			"rat 2 of 3 frames, garbage 10 s unbroken (params.persistence overrides all three); cooldown 5 min per zone and kind " +
			"(params.cooldown_seconds); thresholds.score (default 0.5) and thresholds.min_size (default 8 px, shorter side). " +
			"With options.detector person_hat it finds heads as the head crops of " + PersonModel + " persons classified by " + HatModel + " (a second stage, re-run every hat_every frames of a tracked person) instead. " +
			"The worker runs it only inside params.schedule/params.windows; persistence restarts after a pause of more than ten sampling intervals (at least 1 min).",
		Models: []string{Model}, // the default mode's; person_hat's come from the instance (Models, Stages)
		Contracts: []algorithms.Contract{{Name: Model, Task: "detection", Stage: "frame",
			Labels: []string{LabelHat, LabelNoHat, LabelRat, LabelGarbage}},
			{Name: PersonModel, Task: "detection", Stage: "frame", Labels: []string{"person"}},
			{Name: HatModel, Task: "classification", Stage: "crop", Labels: []string{LabelHat, LabelNoHat}}},
		Outputs: []string{"kitchen.no_hat", "kitchen.rat", "kitchen.garbage_overflow"},
		Params: []algorithms.ParamDoc{
			{Name: "alerts", Type: "[]string", Description: "the alerts to raise: any of no_hat, rat, garbage_overflow (default all; no_hat with person_hat)"},
			{Name: "detector", Type: "string", Description: "head (default: the " + Model + " detector's head_hat/head_no_hat) or person_hat (" + PersonModel + " persons, " + HatModel + " on their head crops)"},
			{Name: "hat_every", Type: "int", Description: "person_hat: re-classify a tracked person's head every this many frames (default 5)"},
		},
		New: New,
	})
}
