// Package fire is the forest-fire early-warning algorithm (林火): alerts fire.fire
// and fire.smoke from a detector published as "fire-smoke", or — with options
// {"detector": "baseline"} — fire.fire from a model-free CPU baseline (flame colour
// rules plus flicker, see baseline.go). Both go through the same persistence,
// stability and cooldown rules.
package fire

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/rules"
	"github.com/cityeye/cityeye/models/decode"
)

// Name is the algorithm; Model the detector it runs in "model" mode.
const (
	Name  = "fire_smoke"
	Model = "fire-smoke"

	LabelFire  = "fire"
	LabelSmoke = "smoke"

	KindFire  = "fire.fire"
	KindSmoke = "fire.smoke"

	DetectorModel    = "model"
	DetectorBaseline = "baseline"
)

// Defaults.
const (
	DefaultScore    = 0.4
	DefaultMinSize  = 16 // pixels, the shorter box side
	DefaultCooldown = 10 * time.Minute
	// MinOverlap: a region must overlap each earlier sighting in the persistence
	// span this much (intersection over the smaller box): it stays in place.
	MinOverlap          = 0.3
	DefaultSmokeGrowth  = 0.8  // smoke area now ≥ 0.8 × its area at the window's start
	DefaultSmokeWindowS = 10.0 // seconds
)

// DefaultPersistence: seen in 3 of the last 4 sampled frames.
var DefaultPersistence = rules.Persistence{K: 3, N: 4}

// BaselinePersistence is the baseline's longer default: flickering flame colour in
// 70% of the frames of the last 3 seconds (11 of 15 at 5 fps; at least 3 of 4).
// Someone walking past an orange traffic cone flickers it too, but for a second or
// two; a fire keeps flickering.
func BaselinePersistence(fps float64) rules.Persistence {
	if fps <= 0 {
		fps = 5
	}
	n := max(4, int(math.Round(3*fps)))
	return rules.Persistence{K: int(math.Ceil(0.7 * float64(n))), N: n}
}

// Options are fire_smoke's own parameters (params.options).
type Options struct {
	// Detector is "model" (default: the fire-smoke detector, fire and smoke) or
	// "baseline" (no model: flame colour and flicker, fire only).
	Detector string `json:"detector,omitempty"`
	// SmokeMinGrowth: smoke alerts only when its area now is at least this times its
	// area at the start of SmokeWindowS (grows, or holds within 20% by default).
	SmokeMinGrowth *float64 `json:"smoke_min_growth,omitempty"`
	SmokeWindowS   float64  `json:"smoke_window_s,omitempty"`
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := algorithms.DecodeOptions(raw, &o); err != nil {
		return o, err
	}
	switch o.Detector {
	case "":
		o.Detector = DetectorModel
	case DetectorModel, DetectorBaseline:
	default:
		return o, &algorithms.FieldError{Field: "params.options.detector", Msg: fmt.Sprintf("%q is not model or baseline", o.Detector)}
	}
	if o.SmokeMinGrowth == nil {
		g := DefaultSmokeGrowth
		o.SmokeMinGrowth = &g
	} else if g := *o.SmokeMinGrowth; g < 0 || g > 10 {
		return o, &algorithms.FieldError{Field: "params.options.smoke_min_growth", Msg: "an area ratio in [0, 10]"}
	}
	switch {
	case o.SmokeWindowS == 0:
		o.SmokeWindowS = DefaultSmokeWindowS
	case o.SmokeWindowS < 1 || o.SmokeWindowS > 600:
		return o, &algorithms.FieldError{Field: "params.options.smoke_window_s", Msg: "in [1, 600] seconds"}
	}
	return o, nil
}

type kind struct {
	alert, label string
	level        int
	persist      *rules.Persist
}

// sighting is one frame's observation of a kind in a zone.
type sighting struct {
	t       time.Time
	present bool
	region  decode.Box // union of the boxes, when present
}

type alg struct {
	params   algorithms.Params
	opts     Options
	score    float32
	minSize  float32
	kinds    []kind
	cooldown *rules.Cooldown
	zones    []string
	seen     map[string][]sighting // zone/kind → recent sightings
	base     *baseline             // nil in model mode
}

// New builds a task's instance. In model mode it needs the fire-smoke model: the
// API checks that every model in Models() is installed before it accepts a task.
func New(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
	o, err := parseOptions(p.Options)
	if err != nil {
		return nil, err
	}
	a := &alg{params: p, opts: o,
		score:   float32(p.Threshold("score", DefaultScore)),
		minSize: float32(p.Threshold("min_size", DefaultMinSize)),
		zones:   []string{""},
		seen:    map[string][]sighting{},
	}
	if len(p.Zones) > 0 {
		a.zones = a.zones[:0]
		for _, z := range p.Zones {
			a.zones = append(a.zones, z.Name)
		}
	}
	def := DefaultPersistence
	if o.Detector == DetectorBaseline {
		def = BaselinePersistence(p.SampleFPS)
	}
	add := func(alert, label string, level int) {
		pers, cd := p.Rules(def, DefaultCooldown)
		pers.MaxGap = p.PersistenceGap()
		a.cooldown = cd
		a.kinds = append(a.kinds, kind{alert, label, level, pers})
	}
	add(KindFire, LabelFire, 3)
	if o.Detector == DetectorBaseline {
		a.base = newBaseline(a.minSize)
	} else {
		add(KindSmoke, LabelSmoke, 2)
	}
	return a, nil
}

func (a *alg) Models() []string {
	if a.base != nil {
		return nil
	}
	return []string{Model}
}

func union(boxes []algorithms.Box) decode.Box {
	u := boxes[0].Box
	for _, b := range boxes[1:] {
		u = decode.Box{X1: min(u.X1, b.Box.X1), Y1: min(u.Y1, b.Box.Y1), X2: max(u.X2, b.Box.X2), Y2: max(u.Y2, b.Box.Y2)}
	}
	return u
}

// overlap is the intersection over the smaller box's area.
func overlap(a, b decode.Box) float32 {
	in := decode.Box{X1: max(a.X1, b.X1), Y1: max(a.Y1, b.Y1), X2: min(a.X2, b.X2), Y2: min(a.Y2, b.Y2)}.Area()
	s := min(a.Area(), b.Area())
	if s <= 0 {
		return 0
	}
	return in / s
}

func (a *alg) Process(f algorithms.Frame, all map[string][]decode.Detection) algorithms.Output {
	w, h := float64(f.Mat.Cols()), float64(f.Mat.Rows())
	var dets []decode.Detection
	var flicker map[decode.Box]float64
	if a.base != nil {
		dets, flicker = a.base.detect(f.Mat)
	} else {
		for _, d := range all[Model] {
			if (d.Label == LabelFire || d.Label == LabelSmoke) && d.Score >= a.score && d.Box.W() >= a.minSize && d.Box.H() >= a.minSize {
				dets = append(dets, d)
			}
		}
	}
	found := map[string]map[string][]algorithms.Box{}
	for _, d := range dets {
		z, ok := a.params.Zone(float64(d.Box.X1+d.Box.X2)/2/w, float64(d.Box.Y1+d.Box.Y2)/2/h)
		if !ok {
			continue
		}
		if found[z] == nil {
			found[z] = map[string][]algorithms.Box{}
		}
		found[z][d.Label] = append(found[z][d.Label], algorithms.Box{Label: d.Label, Score: d.Score, Box: d.Box})
	}
	var out algorithms.Output
	for _, k := range a.kinds {
		for _, z := range a.zones {
			boxes := found[z][k.label]
			key := z + "\x00" + k.alert
			s := sighting{t: f.Time, present: len(boxes) > 0}
			if s.present {
				s.region = union(boxes)
			}
			hist := a.record(key, s, k.persist)
			if !k.persist.Observe(key, f.Time, s.present) {
				continue
			}
			details, ok := a.confirm(k, hist)
			if !ok || !a.cooldown.Allow(key, f.Time) {
				continue
			}
			details["detector"] = a.opts.Detector
			if a.base != nil {
				details["rule"] = BaselineRule
				fl := 0.0
				for _, b := range boxes {
					fl = max(fl, flicker[b.Box])
				}
				details["flicker"] = round2(fl)
			} else {
				details["model"] = Model
			}
			details["persistence"] = k.persist.Spec.Describe()
			out.Alerts = append(out.Alerts, algorithms.Alert{Kind: k.alert, Level: k.level, Zone: z, Time: f.Time,
				Boxes: boxes, Frame: f.Mat.Clone(), Details: details})
		}
	}
	return out
}

// record appends a sighting and trims the history to what the checks look at: the
// persistence span (the last N frames, or For) and the smoke window. A pause longer
// than the persistence's MaxGap starts it afresh.
func (a *alg) record(key string, s sighting, p *rules.Persist) []sighting {
	h := a.seen[key]
	if n := len(h); n > 0 && s.t.Sub(h[n-1].t) > p.MaxGap {
		h = h[:0]
	}
	h = append(h, s)
	keep := max(p.Spec.For, time.Duration(a.opts.SmokeWindowS*float64(time.Second)))
	i := 0
	for len(h)-i > max(p.Spec.N, 2) && s.t.Sub(h[i].t) > keep {
		i++
	}
	h = h[i:]
	a.seen[key] = h
	return h
}

// span is the part of the history the persistence rule looked at (the last N
// frames, or For), and at least the last two frames.
func span(h []sighting, p rules.Persistence) []sighting {
	i := max(0, len(h)-max(p.N, 2))
	if p.For > 0 {
		now := h[len(h)-1].t
		i = len(h) - 1
		for i > 0 && now.Sub(h[i-1].t) <= p.For {
			i--
		}
		i = min(i, max(0, len(h)-2))
	}
	return h[i:]
}

// confirm applies the false-alarm checks to a persisted condition:
//   - stability: the current region overlaps every other sighting in the
//     persistence span (the last N frames or For, at least the last two frames;
//     intersection over the smaller box ≥ MinOverlap), and there are at least two
//     sightings — a single-frame flash or boxes hopping across the frame
//     (reflections, headlights, birds) never pass, even with persistence 1/1;
//   - smoke only: its area now is at least smoke_min_growth (0.8) times its area at
//     the oldest sighting within smoke_window_s (10 s) — smoke from a fire grows or
//     holds, steam and dust puffs dissipate.
func (a *alg) confirm(k kind, h []sighting) (map[string]any, bool) {
	cur := h[len(h)-1]
	sp := span(h, k.persist.Spec)
	frames := 0
	minOv := float32(1)
	for _, s := range sp {
		if !s.present {
			continue
		}
		frames++
		minOv = min(minOv, overlap(cur.region, s.region))
	}
	if frames < 2 || minOv < MinOverlap {
		return nil, false
	}
	d := map[string]any{"frames": frames, "min_overlap": round2(float64(minOv))}
	if k.label == LabelSmoke {
		window := time.Duration(a.opts.SmokeWindowS * float64(time.Second))
		var first *sighting
		for i := range h {
			if h[i].present && cur.t.Sub(h[i].t) <= window {
				first = &h[i]
				break
			}
		}
		growth := float64(cur.region.Area() / first.region.Area())
		if growth < *a.opts.SmokeMinGrowth {
			return nil, false
		}
		d["area_ratio"] = round2(growth)
		d["window_s"] = cur.t.Sub(first.t).Seconds()
	}
	return d, true
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func (a *alg) Close() algorithms.Output {
	if a.base != nil {
		a.base.close()
	}
	return algorithms.Output{}
}

func init() {
	algorithms.Register(algorithms.Spec{
		Name:    Name,
		Title:   "forest fire & smoke",
		TitleZH: "林火烟火识别",
		Summary: "Alerts on fire (high) and smoke (medium) in the zones, with the fire-smoke model; detector \"baseline\" needs no model " +
			"but sees flames only, from colour and flicker, and is fooled by sunsets and lamps.",
		SummaryZH:      "在划定区域内识别明火（严重告警）和烟雾（较重告警），使用烟火检测模型；detector 设为 \"baseline\" 时无需模型，仅依据颜色与闪烁识别明火，易受夕阳、灯光误报，只作过渡之用。",
		OptionsExample: json.RawMessage(`{"detector":"model","smoke_min_growth":0.8,"smoke_window_s":10}`),
		Description: "Forest fire early warning (林火). Detector \"model\" (default): a detector published as " + Model +
			" with labels fire and smoke raises fire.fire (level 3) and fire.smoke (level 2). Detector \"baseline\" (options " +
			`{"detector":"baseline"}` + "): a model-free CPU BASELINE, fire.fire only (no smoke), from flame colour rules " +
			"(Chen, Wu & Chiou 2004 RGB/saturation; Çelik & Demirel 2009 YCbCr) and flicker (after Töreyin et al. 2006): colour-only " +
			"detectors are fooled by sunsets, lamps and orange objects, so treat it as a stopgap until a model is published; its alerts say " +
			`"detector": "baseline". ` +
			"Both: a kind must be seen in 3 of the last 4 frames (baseline: in 70% of the frames of the last 3 s; params.persistence overrides) in a zone (params.zones, else the ROI, else the frame), " +
			"overlapping its earlier sightings there (intersection over the smaller box ≥ 0.3, at least 2 sightings: no single-frame flashes, no boxes hopping around); " +
			"smoke must also grow or hold (area ≥ smoke_min_growth × its area smoke_window_s ago, default 0.8 over 10 s). " +
			"Cooldown 10 min per zone and kind (params.cooldown_seconds); thresholds.score (default 0.4), thresholds.min_size (default 16 px).",
		Models:    []string{Model},
		Contracts: []algorithms.Contract{{Name: Model, Task: "detection", Stage: "frame", Labels: []string{LabelFire, LabelSmoke}}},
		Outputs:   []string{KindFire, KindSmoke},
		Params: []algorithms.ParamDoc{
			{Name: "detector", Type: "string", Description: `"model" (default; needs the fire-smoke model installed) or "baseline" (no model; fire only, colour and flicker rules)`},
			{Name: "smoke_min_growth", Type: "number", Description: "smoke alerts only if its area is at least this times its area smoke_window_s earlier (default 0.8: grows or holds)"},
			{Name: "smoke_window_s", Type: "number", Description: "the smoke growth window in seconds, 1–600 (default 10)"},
		},
		New: New,
	})
}
