// Package water is the waterlogging-point algorithm (城市易涝点): it reads the water
// level at a gauge in the picture from a water detector's boxes, records it as a
// time series for the map, and alerts when the level stays above a threshold.
package water

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/rules"
	"github.com/cityeye/cityeye/models/decode"
)

// Name is the algorithm; Model the detector it runs; Label the class it reads.
const (
	Name  = "waterlogging"
	Model = "water-level"
	Label = "water"
)

// Measure and alert names.
const (
	MeasureName = "water_level_cm"
	AlertKind   = "water.level"
)

// Defaults.
const (
	DefaultScore        = 0.4
	DefaultMinSize      = 4 // pixels, the shorter box side
	DefaultPersist      = 30 * time.Second
	DefaultCooldown     = 10 * time.Minute
	DefaultMeasureEvery = 10.0  // seconds
	DefaultRateWindow   = 300.0 // seconds
	smoothFrames        = 5     // the level is the median of the last 5 sampled frames
)

// Gauge maps image rows to water depth: the row (normalised y) where the level is
// 0 cm and the row of a known mark RefCM above it, as read off a gauge pole or a
// marked wall in the picture. Linear in between and beyond.
type Gauge struct {
	ZeroY *float64 `json:"zero_y"`
	RefY  *float64 `json:"ref_y"`
	RefCM float64  `json:"ref_cm"`
}

// CM converts a normalised row to centimetres above zero (negative below it).
func (g Gauge) CM(y float64) float64 { return (y - *g.ZeroY) / (*g.RefY - *g.ZeroY) * g.RefCM }

// Options are waterlogging's own parameters (params.options).
type Options struct {
	Gauge *Gauge `json:"gauge"`
	// AlertCM raises water.level (level 2) when the level stays above it.
	AlertCM float64 `json:"alert_cm"`
	// CriticalCM, when set (above AlertCM), raises water.level at level 3.
	CriticalCM float64 `json:"critical_cm,omitempty"`
	// MeasureEveryS: one water_level_cm sample per this many seconds (the median
	// of the frames since the last one); 0 records every sampled frame. Default 10.
	MeasureEveryS *float64 `json:"measure_every_s,omitempty"`
	// RateWindowS is the span the rise rate is fitted over. Default 300.
	RateWindowS float64 `json:"rate_window_s,omitempty"`
}

func fieldErr(f, msg string) error {
	return &algorithms.FieldError{Field: "params.options." + f, Msg: msg}
}

// ParseOptions decodes and validates the options.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if len(raw) == 0 || string(raw) == "null" {
		return o, fieldErr("gauge", `required: {"gauge": {"zero_y": 0.9, "ref_y": 0.5, "ref_cm": 100}, "alert_cm": 30}`)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, &algorithms.FieldError{Field: "params.options", Msg: err.Error()}
	}
	g := o.Gauge
	switch {
	case g == nil:
		return o, fieldErr("gauge", "required: the image rows of 0 cm and of a known height")
	case g.ZeroY == nil || *g.ZeroY < 0 || *g.ZeroY > 1:
		return o, fieldErr("gauge.zero_y", "the normalised row of level 0 cm, in [0,1]")
	case g.RefY == nil || *g.RefY < 0 || *g.RefY > 1:
		return o, fieldErr("gauge.ref_y", "the normalised row of the reference mark, in [0,1]")
	case math.Abs(*g.RefY-*g.ZeroY) < 0.01:
		return o, fieldErr("gauge.ref_y", "must be at least 0.01 of the image height away from zero_y")
	case g.RefCM <= 0 || g.RefCM > 10000:
		return o, fieldErr("gauge.ref_cm", "the reference mark's height above 0 cm, in (0, 10000]")
	case o.AlertCM <= 0 || o.AlertCM > 10000:
		return o, fieldErr("alert_cm", "required: the level that raises water.level, in (0, 10000] cm")
	case o.CriticalCM != 0 && (o.CriticalCM <= o.AlertCM || o.CriticalCM > 10000):
		return o, fieldErr("critical_cm", "must be above alert_cm (and ≤ 10000)")
	case o.MeasureEveryS != nil && (*o.MeasureEveryS < 0 || *o.MeasureEveryS > 3600):
		return o, fieldErr("measure_every_s", "in [0, 3600] seconds")
	case o.RateWindowS != 0 && (o.RateWindowS < 30 || o.RateWindowS > 3600):
		return o, fieldErr("rate_window_s", "in [30, 3600] seconds")
	}
	if o.MeasureEveryS == nil {
		d := DefaultMeasureEvery
		o.MeasureEveryS = &d
	}
	if o.RateWindowS == 0 {
		o.RateWindowS = DefaultRateWindow
	}
	return o, nil
}

type sample struct {
	t     time.Time
	level float64
}

type alg struct {
	params   algorithms.Params
	opts     Options
	score    float32
	minSize  float32
	warn     *rules.Persist // level above alert_cm
	crit     *rules.Persist // level above critical_cm
	cooldown *rules.Cooldown

	recent    []float64 // raw levels of the last smoothFrames frames
	pending   []float64 // smoothed levels since the last measure
	lastMeas  time.Time
	history   []sample // smoothed levels over the rate window
	lastFrame time.Time
	lastCrit  time.Time // the last level-3 alert
}

// New builds a task's instance.
func New(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
	o, err := ParseOptions(p.Options)
	if err != nil {
		return nil, err
	}
	a := &alg{params: p, opts: o,
		score:   float32(p.Threshold("score", DefaultScore)),
		minSize: float32(p.Threshold("min_size", DefaultMinSize)),
	}
	a.warn, a.cooldown = p.Rules(rules.Persistence{Seconds: DefaultPersist.Seconds()}, DefaultCooldown)
	a.crit, _ = p.Rules(rules.Persistence{Seconds: DefaultPersist.Seconds()}, DefaultCooldown)
	a.warn.MaxGap, a.crit.MaxGap = p.PersistenceGap(), p.PersistenceGap()
	return a, nil
}

func (a *alg) Models() []string { return []string{Model} }

// reading is the frame's highest water surface inside the zones.
type reading struct {
	level float64 // cm, ≥ 0
	box   *algorithms.Box
	zone  string
}

// read finds the water box whose top edge is highest while touching the zones (one
// of five points along the top edge inside the ROI and a zone) and converts that
// edge's row to centimetres. No water: 0 cm.
func (a *alg) read(f algorithms.Frame, dets []decode.Detection) reading {
	w, h := float64(f.Mat.Cols()), float64(f.Mat.Rows())
	var r reading
	best := math.Inf(1)
	for _, d := range dets {
		if d.Label != Label || d.Score < a.score || d.Box.W() < a.minSize || d.Box.H() < a.minSize {
			continue
		}
		y := float64(d.Box.Y1) / h
		if y >= best {
			continue
		}
		for i := 0; i <= 4; i++ {
			x := (float64(d.Box.X1) + float64(d.Box.W())*float64(i)/4) / w
			if z, ok := a.params.Zone(x, y); ok {
				best, r.zone = y, z
				r.box = &algorithms.Box{Label: d.Label, Score: d.Score, Box: d.Box}
				break
			}
		}
	}
	if r.box != nil {
		r.level = max(0, a.opts.Gauge.CM(best))
	}
	return r
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// rate fits a least-squares line through the history: cm per minute.
func rate(h []sample) float64 {
	if len(h) < 2 || h[len(h)-1].t.Sub(h[0].t) < 10*time.Second {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for _, s := range h {
		x := s.t.Sub(h[0].t).Minutes()
		sx, sy, sxx, sxy = sx+x, sy+s.level, sxx+x*x, sxy+x*s.level
	}
	n := float64(len(h))
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func (a *alg) Process(f algorithms.Frame, dets map[string][]decode.Detection) algorithms.Output {
	var out algorithms.Output
	if !a.lastFrame.IsZero() && f.Time.Sub(a.lastFrame) > a.warn.MaxGap {
		a.recent, a.history = nil, nil // stale: start the smoothing and the rate afresh
	}
	a.lastFrame = f.Time
	r := a.read(f, dets[Model])
	a.recent = append(a.recent, r.level)
	if len(a.recent) > smoothFrames {
		a.recent = a.recent[1:]
	}
	level := median(a.recent)

	window := time.Duration(a.opts.RateWindowS * float64(time.Second))
	a.history = append(a.history, sample{f.Time, level})
	i := 0
	for i < len(a.history) && f.Time.Sub(a.history[i].t) > window {
		i++
	}
	a.history = a.history[i:]

	a.pending = append(a.pending, level)
	every := time.Duration(*a.opts.MeasureEveryS * float64(time.Second))
	if a.lastMeas.IsZero() || f.Time.Sub(a.lastMeas) >= every {
		out.Measures = append(out.Measures, algorithms.Measure{Name: MeasureName, Value: round1(median(a.pending)), Unit: "cm", Time: f.Time})
		a.pending, a.lastMeas = a.pending[:0], f.Time
	}

	warn := a.warn.Observe("warn", f.Time, level > a.opts.AlertCM)
	crit := a.opts.CriticalCM > 0 && a.crit.Observe("crit", f.Time, level > a.opts.CriticalCM)
	// level 3 escalates past a level-2 cooldown; a level 2 is not raised while the
	// level is critical, nor inside the cooldown of a level 3 (receding water)
	alertLevel, threshold := 0, 0.0
	switch {
	case crit:
		if a.cooldown.Allow("crit", f.Time) {
			alertLevel, threshold, a.lastCrit = 3, a.opts.CriticalCM, f.Time
		}
	case warn && (a.lastCrit.IsZero() || f.Time.Sub(a.lastCrit) >= a.cooldown.Every) && a.cooldown.Allow("warn", f.Time):
		alertLevel, threshold = 2, a.opts.AlertCM
	}
	if alertLevel > 0 {
		al := algorithms.Alert{Kind: AlertKind, Level: alertLevel, Zone: r.zone, Time: f.Time, Frame: f.Mat.Clone(),
			Details: map[string]any{
				"level_cm":        round1(level),
				"threshold_cm":    threshold,
				"alert_cm":        a.opts.AlertCM,
				"rise_cm_per_min": math.Round(rate(a.history)*100) / 100,
				"rate_window_s":   a.opts.RateWindowS,
				"persistence":     a.warn.Spec.Describe(),
				"model":           Model,
			}}
		if a.opts.CriticalCM > 0 {
			al.Details["critical_cm"] = a.opts.CriticalCM
		}
		if r.box != nil {
			al.Boxes = []algorithms.Box{*r.box}
		}
		out.Alerts = append(out.Alerts, al)
	}
	return out
}

func (a *alg) Close() algorithms.Output { return algorithms.Output{} }

func init() {
	algorithms.Register(algorithms.Spec{
		Name:    Name,
		Title:   "waterlogging point",
		TitleZH: "易涝点积水监测",
		Summary: "Reads the water level in cm at a gauge in view, records it every 10 s for the trend and alerts while it stays above " +
			"alert_cm (high above critical_cm); the options calibrate the gauge.",
		SummaryZH:      "读取画面中水尺处的积水深度（厘米），每 10 秒记录一次用于趋势，持续超过 alert_cm 时告警（超过 critical_cm 为严重）；须在选项中标定水尺。",
		OptionsExample: json.RawMessage(`{"gauge":{"zero_y":0.9,"ref_y":0.5,"ref_cm":100},"alert_cm":30,"critical_cm":60}`),
		Description: "Waterlogging point (城市易涝点): reads the water level at a gauge from the boxes of a detector published as " + Model +
			" (label water; other labels are ignored). The level is the highest water box top edge touching the zones (params.zones and/or the ROI; " +
			"else the whole frame), converted to cm by the linear gauge in options, median of the last 5 frames, 0 cm without water. " +
			"Records water_level_cm every measure_every_s (default 10 s) for the map's trend and raises water.level (level 2) when the level " +
			"stays above alert_cm for 30 s (params.persistence), level 3 above critical_cm, with the level and the rise rate " +
			"(cm/min, least squares over rate_window_s, default 5 min) in the details; cooldown 10 min per level (params.cooldown_seconds). " +
			"Boxes only: segmentation masks are out of scope.",
		Models:    []string{Model},
		Contracts: []algorithms.Contract{{Name: Model, Task: "detection", Stage: "frame", Labels: []string{Label}}},
		Outputs:   []string{AlertKind, MeasureName},
		Params: []algorithms.ParamDoc{
			{Name: "gauge.zero_y", Type: "number", Description: "required: normalised image row (0 top, 1 bottom) of the 0 cm level"},
			{Name: "gauge.ref_y", Type: "number", Description: "required: normalised image row of a mark of known height"},
			{Name: "gauge.ref_cm", Type: "number", Description: "required: that mark's height above 0 cm"},
			{Name: "alert_cm", Type: "number", Description: "required: raise water.level (level 2) when the level stays above this"},
			{Name: "critical_cm", Type: "number", Description: "optional, above alert_cm: raise water.level at level 3"},
			{Name: "measure_every_s", Type: "number", Description: "seconds between water_level_cm samples (median of the frames in between); 0 = every sampled frame; default 10"},
			{Name: "rate_window_s", Type: "number", Description: "span of the rise-rate fit in seconds, 30–3600, default 300"},
		},
		New: New,
	})
}
