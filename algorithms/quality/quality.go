// Package quality is the picture diagnosis (视频质量诊断) every camera gets, with or
// without tasks: on key frames it measures brightness, sharpness, noise, texture,
// colour cast, motion and the scene's structure, and decides which defects the
// picture has — black or very dark, over-exposed, frozen, blurred, covered, colour
// cast, noisy, scene changed (the camera was moved). Each frame's measurements are
// measures; a defect that starts or clears (after Persist frames) is an alert with
// the snapshot. It runs no model. Signal loss is the stream's state, not a picture,
// and is reported by whoever runs the rotation (the frames stop).
package quality

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/decode"
)

// Name is the algorithm.
const Name = "video_quality"

// Defects, in the order they are checked; the alert kind is "quality." + defect.
const (
	Black        = "black"
	Overexposed  = "overexposed"
	Covered      = "covered"
	Frozen       = "frozen"
	Blurred      = "blurred"
	ColourCast   = "colour_cast"
	Noisy        = "noisy"
	SceneChanged = "scene_changed"
	Recovered    = "recovered" // the alert kind when a defect clears
	SignalLost   = "signal_lost"
)

// Defects lists every picture defect.
var Defects = []string{Black, Overexposed, Covered, Frozen, Blurred, ColourCast, Noisy, SceneChanged}

// Thresholds decide the defects from Metrics; zero fields take the defaults, which
// were measured on real footage and its degraded copies (see docs/bench/quality.md).
type Thresholds struct {
	DarkBrightness float64 `json:"dark_brightness"`  // black: mean luma below (default 30) …
	DarkContrast   float64 `json:"dark_contrast"`    // … and luma std below (default 12)
	OverBright     float64 `json:"over_bright"`      // over-exposed: this fraction of pixels ≥ 250 (default 0.5)
	FlatCells      float64 `json:"flat_cells"`       // covered: this fraction of the grid untextured (default 0.45)
	FrozenMotion   float64 `json:"frozen_motion"`    // frozen: median mean-luma change below (default 0.05) …
	FrozenFrames   int     `json:"frozen_frames"`    // … over the last this many frames (default 5; the median ignores a key frame's refresh)
	BlurSharpness  float64 `json:"blur_sharpness"`   // blurred: Laplacian variance below (default 50)
	CastFactor     float64 `json:"cast_factor"`      // colour cast: factor above (default 1.8) …
	CastOffset     float64 `json:"cast_offset"`      // … and chroma offset above (default 25)
	NoiseSigma     float64 `json:"noise_sigma"`      // noisy: estimated sigma above (default 5)
	SceneSimilar   float64 `json:"scene_similarity"` // scene changed: structure correlation with the reference below (default 0.3)
}

// Options are video_quality's own parameters (params.options).
type Options struct {
	Thresholds
	// Persist is how many measured frames in a row a defect must show (or be gone)
	// before it is raised (or cleared). Default 3.
	Persist int `json:"persist"`
}

func (t Thresholds) withDefaults() Thresholds {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&t.DarkBrightness, 30)
	def(&t.DarkContrast, 12)
	def(&t.OverBright, 0.5)
	def(&t.FlatCells, 0.45)
	def(&t.FrozenMotion, 0.05)
	def(&t.BlurSharpness, 50)
	def(&t.CastFactor, 1.8)
	def(&t.CastOffset, 25)
	def(&t.NoiseSigma, 5)
	def(&t.SceneSimilar, 0.3)
	if t.FrozenFrames == 0 {
		t.FrozenFrames = 5
	}
	return t
}

// ParseOptions decodes and validates the options.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := algorithms.DecodeOptions(raw, &o); err != nil {
		return o, err
	}
	for name, v := range map[string]float64{"dark_brightness": o.DarkBrightness, "dark_contrast": o.DarkContrast, "over_bright": o.OverBright,
		"flat_cells": o.FlatCells, "frozen_motion": o.FrozenMotion, "blur_sharpness": o.BlurSharpness, "cast_factor": o.CastFactor,
		"cast_offset": o.CastOffset, "noise_sigma": o.NoiseSigma, "scene_similarity": o.SceneSimilar} {
		if v < 0 || math.IsNaN(v) {
			return o, &algorithms.FieldError{Field: "params.options." + name, Msg: "must not be negative"}
		}
	}
	if o.OverBright > 1 || o.FlatCells > 1 || o.SceneSimilar > 1 {
		return o, &algorithms.FieldError{Field: "params.options", Msg: "over_bright, flat_cells and scene_similarity are fractions in [0,1]"}
	}
	if o.Persist < 0 || o.Persist > 100 || o.FrozenFrames < 0 || o.FrozenFrames > 1000 {
		return o, &algorithms.FieldError{Field: "params.options.persist", Msg: "persist must be in [0,100] and frozen_frames in [0,1000]"}
	}
	if o.Persist == 0 {
		o.Persist = 3
	}
	o.Thresholds = o.Thresholds.withDefaults()
	return o, nil
}

// Judge says which defects m shows; still says whether the picture has not moved
// over the last FrozenFrames frames.
func (t Thresholds) Judge(m Metrics, still bool) []string {
	var out []string
	black := m.Brightness < t.DarkBrightness && m.Contrast < t.DarkContrast
	over := m.Bright >= t.OverBright
	switch {
	case black:
		out = append(out, Black)
	case over:
		out = append(out, Overexposed)
	}
	if black || over {
		return out // nothing else can be judged on a blank picture
	}
	covered := m.Flat >= t.FlatCells
	if covered {
		out = append(out, Covered)
	}
	if still && !covered {
		out = append(out, Frozen)
	}
	if m.Sharpness < t.BlurSharpness && !covered {
		out = append(out, Blurred)
	}
	if m.Cast > t.CastFactor && m.CastOffset > t.CastOffset {
		out = append(out, ColourCast)
	}
	if m.Noise > t.NoiseSigma {
		out = append(out, Noisy)
	}
	if !math.IsNaN(m.Similarity) && m.Similarity < t.SceneSimilar && !covered {
		out = append(out, SceneChanged)
	}
	return out
}

func init() {
	algorithms.Register(algorithms.Spec{
		Name:    Name,
		Title:   "picture diagnosis",
		TitleZH: "视频质量诊断",
		Summary: "Checks the picture for black, over-exposed, covered, frozen, blurred, colour cast, noisy and a changed scene; " +
			"alerts when a defect appears and when it clears.",
		SummaryZH:      "检测画面黑屏、过曝、遮挡、冻结、模糊、偏色、噪声和场景变化，缺陷出现和恢复时告警。",
		OptionsExample: json.RawMessage(`{"persist":3,"blur_sharpness":30}`),
		Description: "Picture diagnosis (视频质量诊断), run on key frames of every camera: black/very dark, over-exposed, covered, frozen, " +
			"blurred, colour cast, noisy and scene changed (structure compared with the first frame seen, the reference). Each frame's " +
			"measurements are measures (quality.*); a defect raises quality.<defect> (level 2) after persist frames and quality.recovered " +
			"when it has cleared for as long. Thresholds per camera in params.options (defaults in docs/bench/quality.md). No model.",
		Outputs: append(kinds(), "quality.brightness", "quality.sharpness", "quality.noise", "quality.motion", "quality.similarity"),
		Params: []algorithms.ParamDoc{
			{Name: "options.persist", Type: "integer", Description: "frames in a row before a defect is raised or cleared (default 3)"},
			{Name: "options.<threshold>", Type: "number", Description: "dark_brightness, dark_contrast, over_bright, flat_cells, frozen_motion, frozen_frames, blur_sharpness, cast_factor, cast_offset, noise_sigma, scene_similarity"},
		},
		New: New,
	})
}

func kinds() []string {
	var k []string
	for _, d := range append(slices.Clone(Defects), Recovered) {
		k = append(k, "quality."+d)
	}
	return k
}

// New makes a diagnosis for one camera.
func New(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
	o, err := ParseOptions(p.Options)
	if err != nil {
		return nil, err
	}
	return &alg{opt: o, streak: map[string]int{}, active: map[string]bool{}}, nil
}

type alg struct {
	opt       Options
	prev, ref *frame
	motion    []float64       // the last FrozenFrames motions
	streak    map[string]int  // per defect: frames in a row it was seen (> 0) or not (< 0)
	active    map[string]bool // raised and not yet cleared
}

func (a *alg) Models() []string { return nil }

// Active lists the defects raised and not cleared, sorted.
func (a *alg) Active() []string {
	var out []string
	for d, on := range a.active {
		if on {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

func (a *alg) Process(f algorithms.Frame, _ map[string][]decode.Detection) algorithms.Output {
	m, fr := measure(f.Mat, a.prev, a.ref)
	if a.ref == nil {
		a.ref = fr
	} else if a.prev != nil && a.prev != a.ref {
		a.prev.Close()
	}
	a.prev = fr
	if !math.IsNaN(m.Motion) {
		a.motion = append(a.motion, m.Motion)
		if len(a.motion) > a.opt.FrozenFrames {
			a.motion = a.motion[1:]
		}
	}
	still := len(a.motion) == a.opt.FrozenFrames && median(a.motion) < a.opt.FrozenMotion
	seen := a.opt.Judge(m, still)
	var out algorithms.Output
	for _, ms := range []struct {
		name string
		v    float64
	}{{"quality.brightness", m.Brightness}, {"quality.sharpness", m.Sharpness}, {"quality.noise", m.Noise},
		{"quality.motion", m.Motion}, {"quality.similarity", m.Similarity}, {"quality.flat", m.Flat}, {"quality.cast", m.Cast}} {
		if !math.IsNaN(ms.v) {
			out.Measures = append(out.Measures, algorithms.Measure{Name: ms.name, Value: math.Round(ms.v*1000) / 1000, Time: f.Time})
		}
	}
	for _, d := range Defects {
		on := slices.Contains(seen, d)
		switch s := a.streak[d]; {
		case on && s >= 0:
			a.streak[d] = s + 1
		case on:
			a.streak[d] = 1
		case s <= 0:
			a.streak[d] = s - 1
		default:
			a.streak[d] = -1
		}
		switch {
		case on && !a.active[d] && a.streak[d] >= a.opt.Persist:
			a.active[d] = true
			out.Alerts = append(out.Alerts, a.alert(f, "quality."+d, 2, d, m))
		case !on && a.active[d] && -a.streak[d] >= a.opt.Persist:
			a.active[d] = false
			out.Alerts = append(out.Alerts, a.alert(f, "quality."+Recovered, 1, d, m))
		}
	}
	return out
}

func (a *alg) alert(f algorithms.Frame, kind string, level int, defect string, m Metrics) algorithms.Alert {
	return algorithms.Alert{Kind: kind, Level: level, Time: f.Time, Frame: f.Mat.Clone(), Details: map[string]any{
		"defect": defect, "active": strings.Join(a.Active(), ","), "brightness": round(m.Brightness), "sharpness": round(m.Sharpness),
		"noise": round(m.Noise), "flat": round(m.Flat), "cast": round(m.Cast), "motion": round(m.Motion), "similarity": round(m.Similarity),
		"summary": fmt.Sprintf("%s (%s)", defect, describe(defect)),
	}}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return math.Round(v*100) / 100
}

// describe is a defect's Chinese name, as the console and the map show it.
func describe(d string) string {
	return map[string]string{Black: "黑屏/过暗", Overexposed: "过曝", Covered: "遮挡", Frozen: "画面冻结", Blurred: "模糊",
		ColourCast: "偏色", Noisy: "噪声", SceneChanged: "场景变更", SignalLost: "信号丢失"}[d]
}

func (a *alg) Close() algorithms.Output {
	if a.prev != nil && a.prev != a.ref {
		a.prev.Close()
	}
	if a.ref != nil {
		a.ref.Close()
	}
	a.prev, a.ref = nil, nil
	return algorithms.Output{}
}
