package algorithms

import (
	"fmt"
	"math"
	"time"

	"github.com/cityeye/cityeye/algorithms/track"
	"github.com/cityeye/cityeye/models/decode"
)

// capture is the Frigate-style capture shared by person/vehicle and face capture:
// track detections, keep each object's best snapshot, emit a capture when the object
// is confirmed, again when a clearly better snapshot arrives (at most every
// UpdateEvery), and a final one when it leaves.
type capture struct {
	taskKey string // task ID + run epoch: track keys never collide across restarts
	model   string
	kinds   map[string]string // detector label → GA/T 1400 kind
	params  Params
	score   float32
	minSize float32
	minHits int
	every   time.Duration
	tracker *track.Tracker
	objs    map[uint64]*object
}

type object struct {
	best     Capture // Frame is the clone held for this object
	quality  float32
	emitted  bool
	dirty    bool // best changed since the last emission
	lastEmit time.Time
	hits     int
	hasFrame bool
}

func newCapture(taskID, model string, kinds map[string]string, p Params, defScore float64) *capture {
	return &capture{
		taskKey: fmt.Sprintf("%s/%x", taskID, time.Now().UnixNano()),
		model:   model, kinds: kinds, params: p,
		score:   float32(p.Threshold("score", defScore)),
		minSize: float32(p.Threshold("min_size", 16)),
		minHits: 3, every: 2 * time.Second,
		tracker: track.New(0.3, 2*time.Second),
		objs:    map[uint64]*object{},
	}
}

func (c *capture) Models() []string { return []string{c.model} }

// quality prefers large, confident, uncut views: score × √area, halved when the box
// touches the frame edge (the object is probably cut off).
func quality(d decode.Detection, w, h int) float32 {
	q := d.Score * float32(math.Sqrt(float64(d.Box.Area())))
	if d.Box.X1 <= 1 || d.Box.Y1 <= 1 || d.Box.X2 >= float32(w-1) || d.Box.Y2 >= float32(h-1) {
		q /= 2
	}
	return q
}

func (c *capture) Process(f Frame, all map[string][]decode.Detection) Output {
	return Output{Captures: c.process(f, all)}
}

func (c *capture) process(f Frame, all map[string][]decode.Detection) []Capture {
	w, h := f.Mat.Cols(), f.Mat.Rows()
	var dets []decode.Detection
	for _, d := range all[c.model] {
		if _, ok := c.kinds[d.Label]; !ok || d.Score < c.score {
			continue
		}
		if d.Box.W() < c.minSize || d.Box.H() < c.minSize {
			continue
		}
		cx, cy := float64(d.Box.X1+d.Box.X2)/2/float64(w), float64(d.Box.Y1+d.Box.Y2)/2/float64(h)
		if !c.params.InROI(cx, cy) {
			continue
		}
		dets = append(dets, d)
	}
	assigned, ended := c.tracker.Update(f.Time, dets)
	var out []Capture
	for i, d := range dets {
		k := assigned[i]
		o := c.objs[k.ID]
		if o == nil {
			o = &object{best: Capture{TrackKey: fmt.Sprintf("%s/%d", c.taskKey, k.ID), Kind: c.kinds[d.Label], Label: d.Label, Appear: f.Time}}
			c.objs[k.ID] = o
		}
		o.hits++
		if q := quality(d, w, h); q > o.quality*1.15 {
			o.quality = q
			if o.hasFrame {
				o.best.Frame.Close()
			}
			o.hasFrame = true
			o.best.Frame = f.Mat.Clone()
			o.best.Box, o.best.Score, o.best.Shot = d.Box, d.Score, f.Time
			o.dirty = true
		}
		if o.hits >= c.minHits && o.dirty && (!o.emitted || f.Time.Sub(o.lastEmit) >= c.every) {
			out = append(out, c.emit(o, f.Time, false))
		}
	}
	for _, k := range ended {
		if o := c.objs[k.ID]; o != nil {
			if cp, ok := c.finish(o, k.LastSeen); ok {
				out = append(out, cp)
			}
			delete(c.objs, k.ID)
		}
	}
	return out
}

// emit copies the object's best capture (with its own frame clone) for the receiver.
func (c *capture) emit(o *object, t time.Time, final bool) Capture {
	cp := o.best
	cp.Frame = o.best.Frame.Clone()
	cp.Final = final
	o.emitted, o.dirty, o.lastEmit = true, false, t
	return cp
}

// finish returns the final capture of an object that left, if it was ever confirmed.
func (c *capture) finish(o *object, lastSeen time.Time) (Capture, bool) {
	defer o.best.Frame.Close()
	if !o.emitted && o.hits < c.minHits {
		return Capture{}, false // seen too briefly: likely a false detection
	}
	o.best.Disappear = lastSeen
	o.dirty = true
	return c.emit(o, lastSeen, true), true
}

func (c *capture) Close() Output { return Output{Captures: c.close()} }

func (c *capture) close() []Capture {
	var out []Capture
	for _, k := range c.tracker.Flush() {
		if o := c.objs[k.ID]; o != nil {
			if cp, ok := c.finish(o, k.LastSeen); ok {
				out = append(out, cp)
			}
		}
	}
	c.objs = map[uint64]*object{}
	return out
}

func init() {
	Register(Spec{
		Name:        "person_vehicle_capture",
		Description: "Tracks people and vehicles (COCO NanoDet) and emits one GA/T 1400 Person, MotorVehicle or NonMotorVehicle record per object with its best snapshot.",
		Models:      []string{"nanodet"},
		New: func(taskID string, p Params) (Algorithm, error) {
			return newCapture(taskID, "nanodet", map[string]string{
				"person": "Person", "car": "MotorVehicle", "bus": "MotorVehicle", "truck": "MotorVehicle",
				"motorcycle": "NonMotorVehicle", "bicycle": "NonMotorVehicle",
			}, p, 0.4), nil
		},
	})
	Register(Spec{
		Name:        "face_capture",
		Description: "Tracks faces (BlazeFace, full range) and emits one GA/T 1400 Face record per face with its best snapshot.",
		Models:      []string{"blazeface-back"},
		New: func(taskID string, p Params) (Algorithm, error) {
			return newCapture(taskID, "blazeface-back", map[string]string{"face": "Face"}, p, 0.6), nil
		},
	})
}
