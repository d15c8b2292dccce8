// Package algorithms holds CityEye's registered algorithms. An algorithm receives
// sampled frames of one task together with the detections of the models it declared,
// and returns captures; it never runs a model itself, so the worker can run each
// model once per frame for all tasks and batch frames across streams.
package algorithms

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// Frame is one sampled frame as an algorithm sees it. Mat is shared and read-only.
type Frame struct {
	StreamID string
	Seq      uint64
	Time     time.Time
	Mat      gocv.Mat
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
}

// Algorithm processes one task's frames. Not safe for concurrent use.
type Algorithm interface {
	// Models lists the model names whose detections Process needs.
	Models() []string
	// Process takes a frame and the detections of each declared model on it.
	Process(f Frame, dets map[string][]decode.Detection) []Capture
	// Close ends every object in view and returns their final captures.
	Close() []Capture
}

// Spec describes a registered algorithm.
type Spec struct {
	Name        string
	Description string
	Models      []string
	New         func(taskID string, p Params) (Algorithm, error)
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
	Thresholds map[string]float64 `json:"thresholds,omitempty"` // score (detection), min_size (pixels)
	Schedule   *Schedule          `json:"schedule,omitempty"`   // daily window; nil = always
	// Models pins model versions (name → version); unpinned models follow the
	// warehouse's published version and switch when a new one is published.
	Models map[string]string `json:"models,omitempty"`
}

// Schedule is a daily time window, e.g. 08:00-20:00; End before Start spans midnight.
type Schedule struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// FieldError names the bad parameter for the API's error body.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParseParams decodes and validates task parameters.
var pinRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$`)

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
		if !pinRE.MatchString(v) {
			return p, &FieldError{"params.models." + name, "a model version such as 1.2.0"}
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
			return p, &FieldError{"params.thresholds." + k, "unknown threshold (known: score, min_size)"}
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
	return p, nil
}

// Threshold returns a threshold or its default.
func (p Params) Threshold(name string, def float64) float64 {
	if v, ok := p.Thresholds[name]; ok {
		return v
	}
	return def
}

// Active reports whether the schedule window contains t (in t's location).
func (p Params) Active(t time.Time) bool {
	if p.Schedule == nil {
		return true
	}
	s, _ := time.Parse("15:04", p.Schedule.Start)
	e, _ := time.Parse("15:04", p.Schedule.End)
	m := t.Hour()*60 + t.Minute()
	sm, em := s.Hour()*60+s.Minute(), e.Hour()*60+e.Minute()
	if sm <= em {
		return m >= sm && m < em
	}
	return m >= sm || m < em
}

// InROI reports whether a normalised point lies in the ROI (always, without one).
func (p Params) InROI(x, y float64) bool {
	if len(p.ROI) == 0 {
		return true
	}
	in := false
	for i, j := 0, len(p.ROI)-1; i < len(p.ROI); j, i = i, i+1 {
		xi, yi, xj, yj := p.ROI[i][0], p.ROI[i][1], p.ROI[j][0], p.ROI[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
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
