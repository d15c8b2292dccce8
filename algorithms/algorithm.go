// Package algorithms holds CityEye's registered algorithms. An algorithm receives
// sampled frames of one task together with the detections of the models it declared,
// and returns captures; it never runs a model itself, so the worker can run each
// model once per frame for all tasks and batch frames across streams.
package algorithms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms/rules"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
)

// Frame is one sampled frame as an algorithm sees it. Mat is shared and read-only.
type Frame struct {
	StreamID string
	Seq      uint64
	Time     time.Time
	Mat      gocv.Mat
	// Run runs second-stage models on crops (face embeddings, plate OCR); nil when
	// the worker has none (unit tests of first-stage logic).
	Run Runner
}

// Runner runs second-stage models on image regions. Algorithms call it sparingly
// (on best shots, not on every detection): it is not batched across streams.
type Runner interface {
	// Embed returns one feature vector per image from an embedding model.
	Embed(model string, imgs []gocv.Mat) ([][]float32, error)
	// ReadText runs the OCR pipeline (text detection, direction, recognition) on img.
	ReadText(img gocv.Mat) ([]TextLine, error)
}

// TextLine is one line of text read in an image.
type TextLine struct {
	Text  string
	Score float32
	Box   decode.Box
}

// Capture is one object worth a record: created when first confirmed, re-emitted
// (same TrackKey) when a better snapshot arrives, and a last time when it leaves.
type Capture struct {
	TrackKey   string // stable identity of the object: the record's upsert key
	Kind       string // GA/T 1400 object: Face, Person, MotorVehicle, NonMotorVehicle
	Label      string // detector label (person, car, face…)
	Box        decode.Box
	Score      float32
	Frame      gocv.Mat // the best frame; owned by the receiver, who must Close it
	Shot       time.Time
	Appear     time.Time
	Disappear  time.Time // zero while the object is still in view
	Final      bool
	Attributes map[string]string
	Feature    []float32 // an appearance feature (face embedding) for search, if any
	Quality    float32   // the score the best shot was chosen by
}

// Alert is an event someone must see (a rat in the kitchen, smoke on the hill): the
// recorder stores it with a snapshot showing Boxes and the notifier delivers it.
type Alert struct {
	Kind    string // e.g. kitchen.no_hat, kitchen.rat, fire.smoke, water.level
	Level   int    // 1 info, 2 warning, 3 critical
	Zone    string // the ROI zone it happened in ("" for the whole frame)
	Time    time.Time
	Boxes   []Box          // what triggered it, drawn on the snapshot
	Frame   gocv.Mat       // the triggering frame; owned by the receiver, who must Close it
	Details map[string]any // algorithm-specific facts (level in cm, growth ratio…)
}

// Box is a labelled box in frame pixels.
type Box struct {
	Label string     `json:"label"`
	Score float32    `json:"score"`
	Box   decode.Box `json:"box"`
}

// Measure is one sample of a quantity an algorithm tracks over time (the water level
// at a waterlogging point), stored as a time series for trends on the map.
type Measure struct {
	Name  string
	Value float64
	Unit  string
	Time  time.Time
}

// Output is what an algorithm returns for a frame.
type Output struct {
	Captures []Capture
	Alerts   []Alert
	Measures []Measure
}

// Empty reports whether there is nothing to record.
func (o Output) Empty() bool { return len(o.Captures)+len(o.Alerts)+len(o.Measures) == 0 }

// Algorithm processes one task's frames. Not safe for concurrent use.
type Algorithm interface {
	// Models lists the model names whose detections Process needs (full frames,
	// batched across streams by the worker).
	Models() []string
	// Process takes a frame and the detections of each declared model on it.
	Process(f Frame, dets map[string][]decode.Detection) Output
	// Close ends every object in view and returns their final captures.
	Close() Output
}

// Contract is what an algorithm needs of a model, so that a vendor's model with the
// right task and labels can replace ours: publish it under Name in the warehouse.
type Contract struct {
	Name   string   `json:"name"`   // the model name the algorithm runs
	Task   string   `json:"task"`   // warehouse task, e.g. detection
	Labels []string `json:"labels"` // labels it must output (others are ignored)
	Stage  string   `json:"stage"`  // "frame" (batched full frames) or "crop" (second stage)
}

// Spec describes a registered algorithm.
type Spec struct {
	Name        string
	Description string // the full behaviour, for the API's readers
	// Title and Summary are what the console shows people choosing an algorithm:
	// a short name and one or two sentences, in English and in Chinese (the
	// console's default language).
	Title, TitleZH, Summary, SummaryZH string
	// OptionsExample is a valid params.options for this algorithm (the console's
	// placeholder); nil for an algorithm that takes no options.
	OptionsExample json.RawMessage
	Models         []string   // frame-stage model names (what the worker batches)
	Contracts      []Contract // every model it uses, frame and crop stage, with the labels it needs
	Outputs        []string   // what it emits: GA/T 1400 object names and alert kinds
	Params         []ParamDoc // its own parameters beyond the common ones
	New            func(taskID string, p Params) (Algorithm, error)
}

// DecodeOptions decodes a task's params.options (absent or null: dst unchanged)
// strictly into dst, so a misspelt option is a FieldError, not ignored.
func DecodeOptions(raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return &FieldError{Field: "params.options", Msg: err.Error()}
	}
	return nil
}

// ParamDoc documents one algorithm-specific parameter for the API's schema.
type ParamDoc struct {
	Name, Type, Description string
}

var registry = map[string]Spec{}

// Register adds an algorithm; packages call it from init.
func Register(s Spec) { registry[s.Name] = s }

// Lookup finds a registered algorithm.
func Lookup(name string) (Spec, bool) { s, ok := registry[name]; return s, ok }

// Names lists registered algorithms.
func Names() []string {
	var n []string
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Params are a task's parameters, common to all algorithms.
type Params struct {
	SampleFPS  float64            `json:"sample_fps"`           // frames per second this task analyses (default 5)
	ROI        [][2]float64       `json:"roi,omitempty"`        // polygon in normalised [0,1] image coordinates
	Thresholds map[string]float64 `json:"thresholds,omitempty"` // score (detection), score.<label> (a track's minimum peak score), min_size (pixels)
	Schedule   *Schedule          `json:"schedule,omitempty"`   // daily window; nil = always
	// Models chooses the build of the algorithm's models, by model name: a version
	// of the platform's model ("1.2.0"), or a vendor's ("acme/nanodet" follows its
	// published version, "acme/nanodet@1.1.0" pins one; see models.ParseRef). Models
	// not named follow the platform's published version and switch when a new one
	// is published.
	Models map[string]string `json:"models,omitempty"`

	// The shared event rules (package rules): named zones, tripwires, persistence,
	// cooldown and further active windows. Alerting algorithms use all of them.
	Zones           []rules.Zone       `json:"zones,omitempty"`
	Lines           []rules.Line       `json:"lines,omitempty"`
	Persistence     *rules.Persistence `json:"persistence,omitempty"`
	CooldownSeconds float64            `json:"cooldown_seconds,omitempty"`
	Windows         []rules.Window     `json:"windows,omitempty"`
	// Stage2 are second-stage models on crops of the detections (see Stage2).
	Stage2 []Stage2 `json:"stage2,omitempty"`
	// Options are the algorithm's own parameters (see its Spec.Params).
	Options json.RawMessage `json:"options,omitempty"`
}

// Schedule is a daily time window, e.g. 08:00-20:00; End before Start spans midnight.
type Schedule = rules.Window

// FieldError names the bad parameter for the API's error body.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ModelRef is the build of model name the task runs (see Params.Models).
func (p Params) ModelRef(name string) models.Ref {
	if s, ok := p.Models[name]; ok {
		if r, err := models.ParseRef(name, s); err == nil {
			return r
		}
	}
	return models.Ref{Vendor: models.PlatformVendor, Name: name}
}

// ParseParams decodes and validates task parameters.
func ParseParams(raw json.RawMessage) (Params, error) {
	p := Params{SampleFPS: 5}
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, &FieldError{"params", err.Error()}
		}
	}
	if p.SampleFPS <= 0 || p.SampleFPS > 30 {
		return p, &FieldError{"params.sample_fps", "must be in (0, 30]"}
	}
	if p.ROI != nil {
		if len(p.ROI) < 3 {
			return p, &FieldError{"params.roi", "a polygon needs at least 3 points"}
		}
		for i, pt := range p.ROI {
			if pt[0] < 0 || pt[0] > 1 || pt[1] < 0 || pt[1] > 1 {
				return p, &FieldError{fmt.Sprintf("params.roi[%d]", i), "coordinates are normalised to [0,1]"}
			}
		}
		if polygonArea(p.ROI) < 1e-6 {
			return p, &FieldError{"params.roi", "polygon has no area"}
		}
	}
	for name, v := range p.Models {
		if _, err := models.ParseRef(name, v); err != nil {
			return p, &FieldError{"params.models." + name, "a model version such as 1.2.0, or vendor/" + name + "[@version]: " + err.Error()}
		}
	}
	for k, v := range p.Thresholds {
		switch k {
		case "score":
			if v <= 0 || v >= 1 {
				return p, &FieldError{"params.thresholds.score", "must be in (0,1)"}
			}
		case "min_size":
			if v < 0 || v > 4096 {
				return p, &FieldError{"params.thresholds.min_size", "must be in [0,4096] pixels"}
			}
		default:
			if ok, isClass := validClassThreshold(k, v); isClass {
				if !ok {
					return p, &FieldError{"params.thresholds." + k, "a label's minimum score, in (0,1)"}
				}
				continue
			}
			return p, &FieldError{"params.thresholds." + k, "unknown threshold (known: score, score.<label>, min_size)"}
		}
	}
	if s := p.Schedule; s != nil {
		if _, err := time.Parse("15:04", s.Start); err != nil {
			return p, &FieldError{"params.schedule.start", "must be HH:MM"}
		}
		if _, err := time.Parse("15:04", s.End); err != nil {
			return p, &FieldError{"params.schedule.end", "must be HH:MM"}
		}
	}
	for i, w := range p.Windows {
		if err := w.Validate(); err != nil {
			return p, &FieldError{fmt.Sprintf("params.windows[%d]", i), err.Error()}
		}
	}
	names := map[string]bool{}
	for i, z := range p.Zones {
		f := fmt.Sprintf("params.zones[%d]", i)
		if err := z.Validate(); err != nil {
			return p, &FieldError{f + ".polygon", err.Error()}
		}
		if z.Name == "" || names[z.Name] {
			return p, &FieldError{f + ".name", "each zone needs a unique name"}
		}
		names[z.Name] = true
	}
	for i, l := range p.Lines {
		if err := l.Validate(); err != nil {
			return p, &FieldError{fmt.Sprintf("params.lines[%d]", i), err.Error()}
		}
	}
	if p.Persistence != nil {
		if err := p.Persistence.Validate(); err != nil {
			return p, &FieldError{"params.persistence", err.Error()}
		}
	}
	if err := CheckStage2(p.Stage2, "params.stage2"); err != nil {
		return p, err
	}
	if p.CooldownSeconds < 0 || p.CooldownSeconds > 86400 {
		return p, &FieldError{"params.cooldown_seconds", "in [0, 86400]"}
	}
	return p, nil
}

// Rules returns the task's persistence (default: at once) and cooldown (default def).
func (p Params) Rules(defPersist rules.Persistence, defCooldown time.Duration) (*rules.Persist, *rules.Cooldown) {
	spec := defPersist
	if p.Persistence != nil {
		spec = *p.Persistence
	}
	spec.Validate()
	cd := defCooldown
	if p.CooldownSeconds > 0 {
		cd = time.Duration(p.CooldownSeconds * float64(time.Second))
	}
	return rules.NewPersist(spec), &rules.Cooldown{Every: cd}
}

// PersistenceGap is how long a pause between analysed frames may be before
// persistence starts afresh (rules.Persist.MaxGap): frames skipped outside the active
// windows, or during an outage, are not evidence. Ten sampling intervals, at least a
// minute; every alerting algorithm uses it.
func (p Params) PersistenceGap() time.Duration {
	gap := time.Minute
	if p.SampleFPS > 0 {
		gap = max(gap, time.Duration(10/p.SampleFPS*float64(time.Second)))
	}
	return gap
}

// Threshold returns a threshold or its default.
func (p Params) Threshold(name string, def float64) float64 {
	if v, ok := p.Thresholds[name]; ok {
		return v
	}
	return def
}

// Active reports whether t (already in the camera's location) is inside the
// schedule and the windows.
func (p Params) Active(t time.Time) bool {
	if p.Schedule != nil && !rules.Active([]rules.Window{*p.Schedule}, t, t.Location()) {
		return false
	}
	return rules.Active(p.Windows, t, t.Location())
}

// Zone names the zone a normalised point falls in ("" when there are no zones), or
// ok=false when it is outside the ROI or every zone.
func (p Params) Zone(x, y float64) (string, bool) {
	if !p.InROI(x, y) {
		return "", false
	}
	return rules.Locate(p.Zones, rules.Point{x, y})
}

// InROI reports whether a normalised point lies in the ROI (always, without one).
func (p Params) InROI(x, y float64) bool {
	if len(p.ROI) == 0 {
		return true
	}
	return rules.Zone{Polygon: p.ROI}.Contains(rules.Point{x, y})
}

func polygonArea(pts [][2]float64) float64 {
	var a float64
	for i := range pts {
		j := (i + 1) % len(pts)
		a += pts[i][0]*pts[j][1] - pts[j][0]*pts[i][1]
	}
	if a < 0 {
		a = -a
	}
	return a / 2
}
