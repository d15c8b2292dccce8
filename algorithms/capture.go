package algorithms

import (
	"fmt"
	"image"
	"log/slog"
	"maps"
	"math"
	"sort"
	"strconv"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms/track"
	"github.com/cityeye/cityeye/models/decode"
)

// capture is the Frigate-style capture shared by person/vehicle and face capture:
// track detections, keep each object's best snapshot (the detection of highest
// quality so far, see betterBy), emit a capture when the object is confirmed, again
// when a clearly better snapshot arrives (≥ 15 % more quality than the last one
// emitted, at most every 2 s), and a final one, with the best snapshot of the whole
// track, when it leaves. Second-stage models run only on those emissions (and, for plates, on a
// few more frames), never on every detection.
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
	// quality scores a detection as a candidate best shot (default detQuality).
	quality func(f Frame, d decode.Detection) float32
	// betterBy is how much more quality a detection needs to replace the best shot
	// held: each replacement clones the frame, and a person or vehicle walking up to
	// the camera improves every frame, so they need 15 % more (default 1.15). Faces
	// keep the exact maximum (1): their quality saturates once the face is large.
	betterBy float32
	// enrich adds second-stage results to o.best before it is emitted; may be nil.
	enrich func(c *capture, o *object)
	// observe sees every detection of a track after the best shot was updated; may be nil.
	observe func(c *capture, o *object, f Frame, d decode.Detection, improved bool)
	run     Runner // the latest frame's runner: Close has no frame of its own
	warned  map[string]bool
}

type object struct {
	best     Capture          // Frame is the clone held for this object
	det      decode.Detection // the best shot's detection (keypoints)
	quality  float32
	emittedQ float32 // quality of the best shot last emitted
	emitted  bool
	dirty    bool // best changed since the last emission
	lastEmit time.Time
	hits     int
	hasFrame bool

	featShot time.Time // the shot Feature was computed on
	vehicle  *vehicleState
}

// warn logs a second-stage failure once per task and kind, not once per object.
func (c *capture) warn(kind string, err error) {
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	if !c.warned[kind] {
		c.warned[kind] = true
		slog.Warn("capture: second-stage model failed; captures go on without it", "task", c.taskKey, "what", kind, "err", err)
	}
}

func newCapture(taskID, model string, kinds map[string]string, p Params, defScore float64) *capture {
	return &capture{
		taskKey: fmt.Sprintf("%s/%x", taskID, time.Now().UnixNano()),
		model:   model, kinds: kinds, params: p,
		score:   float32(p.Threshold("score", defScore)),
		minSize: float32(p.Threshold("min_size", 16)),
		minHits: 3, every: 2 * time.Second,
		tracker: track.New(track.Config{FPS: p.SampleFPS, High: float32(p.Threshold("score", defScore)),
			Family: func(label string) string { return kinds[label] }}),
		objs:     map[uint64]*object{},
		quality:  func(f Frame, d decode.Detection) float32 { return detQuality(d, f.Mat.Cols(), f.Mat.Rows()) },
		betterBy: 1.15,
	}
}

func (c *capture) Models() []string { return []string{c.model} }

// detQuality prefers large, confident, uncut views: score × √area, halved when the
// box touches the frame edge (the object is probably cut off). Faces use FaceQuality.
func detQuality(d decode.Detection, w, h int) float32 {
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
	if f.Run != nil {
		c.run = f.Run
	}
	w, h := f.Mat.Cols(), f.Mat.Rows()
	var dets []decode.Detection
	for _, d := range all[c.model] {
		if _, ok := c.kinds[d.Label]; !ok {
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
	dets = c.dedupe(dets)
	assigned, ended := c.tracker.Update(f.Time, dets)
	var out []Capture
	for i, d := range dets {
		k := assigned[i]
		if k == nil {
			continue // a low-score detection that continues no track
		}
		o := c.objs[k.ID]
		if o == nil {
			o = &object{best: Capture{TrackKey: fmt.Sprintf("%s/%d", c.taskKey, k.ID), Kind: c.kinds[d.Label], Label: d.Label, Appear: f.Time}}
			c.objs[k.ID] = o
		}
		o.hits++
		improved := false
		if q := c.quality(f, d); q > o.quality*c.betterBy || !o.hasFrame {
			improved = true
			o.quality = q
			if o.hasFrame {
				o.best.Frame.Close()
			}
			o.hasFrame = true
			o.best.Frame = f.Mat.Clone()
			o.best.Box, o.best.Score, o.best.Shot, o.best.Quality = d.Box, d.Score, f.Time, q
			o.det = d
			o.dirty = true
		}
		if c.observe != nil {
			c.observe(c, o, f, d, improved)
		}
		if o.hits >= c.minHits && o.dirty && (!o.emitted || (f.Time.Sub(o.lastEmit) >= c.every && o.quality > 1.15*o.emittedQ)) {
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

// dedupe drops a detection that overlaps (IoU ≥ 0.7) a higher-scored one of another
// label of the same kind: detectors suppress overlaps per class only, and COCO models
// often call one vehicle both car and truck, which would make two records of it.
func (c *capture) dedupe(dets []decode.Detection) []decode.Detection {
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
	out := dets[:0]
	for _, d := range dets {
		dup := false
		for _, k := range out {
			if k.Label != d.Label && c.kinds[k.Label] == c.kinds[d.Label] && decode.IoU(k.Box, d.Box) >= 0.7 {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, d)
		}
	}
	return out
}

// emit copies the object's best capture (with its own frame clone and attributes)
// for the receiver, after the second stage has run on it.
func (c *capture) emit(o *object, t time.Time, final bool) Capture {
	if c.enrich != nil {
		c.enrich(c, o)
	}
	cp := o.best
	cp.Frame = o.best.Frame.Clone()
	cp.Attributes = maps.Clone(o.best.Attributes)
	cp.Final = final
	o.emitted, o.dirty, o.lastEmit, o.emittedQ = true, false, t, o.quality
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

// setAttr sets one attribute of the object's best capture.
func (o *object) setAttr(k, v string) {
	if o.best.Attributes == nil {
		o.best.Attributes = map[string]string{}
	}
	if v == "" {
		delete(o.best.Attributes, k)
		return
	}
	o.best.Attributes[k] = v
}

// newFaceCapture is face capture: best shots by FaceQuality, and on every emitted
// best shot the face embedding (EmbedFace) in Feature, with the keypoints and the
// quality factors in Attributes.
func newFaceCapture(taskID string, p Params) *capture {
	c := newCapture(taskID, "blazeface-back", map[string]string{"face": "Face"}, p, 0.6)
	c.quality = func(f Frame, d decode.Detection) float32 { return FaceQuality(f.Mat, d).Total }
	c.betterBy = 1 // the best shot is the track's maximum of FaceQuality
	c.enrich = func(c *capture, o *object) {
		if !o.featShot.IsZero() && o.featShot.Equal(o.best.Shot) {
			return // this best shot has its feature already
		}
		q := FaceQuality(o.best.Frame, o.det)
		o.setAttr(AttrKeypoints, KeypointsJSON(o.det.Keypoints))
		o.setAttr(AttrFaceQuality, fmt.Sprintf(`{"detection":%.3f,"size":%.3f,"sharpness":%.3f,"pose":%.3f,"edge":%.1f,"yaw":%.3f,"roll":%.1f}`,
			q.Detection, q.Size, q.Sharpness, q.Pose, q.Edge, q.Yaw, q.Roll))
		o.best.Feature = nil
		if c.run == nil {
			return // no second stage (unit tests of the first)
		}
		v, err := EmbedFace(c.run, o.best.Frame, o.det)
		if err != nil {
			c.warn(FaceEmbedModel, err)
			return
		}
		o.best.Feature, o.featShot = v, o.best.Shot
	}
	return c
}

// Vehicle second stage.
const (
	maxPlateReads = 5             // OCR runs per vehicle track at most
	plateReadGap  = time.Second   // between reads on frames that are not emitted
	plateMargin   = float32(0.05) // the vehicle crop OCR reads is the box grown by this much
	minPlateSide  = float32(48)   // vehicles smaller than this (shorter side) are not read
)

type vehicleState struct {
	votes    PlateVote
	reads    int
	lastRead time.Time
	readShot time.Time    // the best shot last read, so an emission does not read it twice
	plates   []decode.Box // plate boxes read on that shot (frame pixels): not body colour
}

// readPlate runs OCR on the vehicle's crop of frame and adds the valid plates to the
// vote, with the colour of each plate's pixels.
func (c *capture) readPlate(o *object, frame gocv.Mat, box decode.Box, t time.Time) {
	v := o.vehicle
	if c.run == nil || v.reads >= maxPlateReads || min(box.W(), box.H()) < minPlateSide {
		return
	}
	v.reads++
	v.lastRead = t
	mx, my := plateMargin*box.W(), plateMargin*box.H()
	r := image.Rect(int(box.X1-mx), int(box.Y1-my), int(box.X2+mx+0.5), int(box.Y2+my+0.5)).Intersect(image.Rect(0, 0, frame.Cols(), frame.Rows()))
	if r.Dx() < 8 || r.Dy() < 8 {
		return
	}
	roi := frame.Region(r)
	crop := roi.Clone()
	roi.Close()
	defer crop.Close()
	lines, err := c.run.ReadText(crop)
	if err != nil {
		c.warn("ocr", err)
		return
	}
	for _, p := range PlateCandidates(lines) {
		p.Color = PlateColor(crop, p.Box)
		p.Box = decode.Box{X1: p.Box.X1 + float32(r.Min.X), Y1: p.Box.Y1 + float32(r.Min.Y), X2: p.Box.X2 + float32(r.Min.X), Y2: p.Box.Y2 + float32(r.Min.Y)}
		v.votes.Add(p)
		if t.Equal(o.best.Shot) {
			v.plates = append(v.plates, p.Box)
		}
	}
}

// newVehicleCapture is person/vehicle capture with the motor-vehicle second stage:
// plate reads (OCR on the vehicle crop, on each emitted best shot and on up to
// maxPlateReads frames in all, valid mainland plates only, voted over the track) and
// the body colour of the best shot.
func newVehicleCapture(taskID string, p Params) *capture {
	c := newCapture(taskID, "nanodet", map[string]string{
		"person": "Person", "car": "MotorVehicle", "bus": "MotorVehicle", "truck": "MotorVehicle",
		"motorcycle": "NonMotorVehicle", "bicycle": "NonMotorVehicle",
	}, p, 0.4)
	c.observe = func(c *capture, o *object, f Frame, d decode.Detection, improved bool) {
		if o.best.Kind != "MotorVehicle" {
			return
		}
		if o.vehicle == nil {
			o.vehicle = &vehicleState{}
		}
		v := o.vehicle
		// a few reads between emissions, on new best shots, while there is budget
		// left for the emissions' own reads and no plate is agreed on yet
		if improved && o.hits >= c.minHits && o.emitted && v.reads < maxPlateReads-1 && f.Time.Sub(v.lastRead) >= plateReadGap {
			if r, ok := v.votes.Result(); !ok || r.Agreeing < 2 {
				v.readShot, v.plates = o.best.Shot, nil
				c.readPlate(o, f.Mat, d.Box, f.Time)
			}
		}
	}
	c.enrich = func(c *capture, o *object) {
		if o.best.Kind != "MotorVehicle" {
			return
		}
		if o.vehicle == nil {
			o.vehicle = &vehicleState{}
		}
		v := o.vehicle
		if !v.readShot.Equal(o.best.Shot) {
			v.readShot, v.plates = o.best.Shot, nil
			c.readPlate(o, o.best.Frame, o.best.Box, o.best.Shot)
		}
		if r, ok := v.votes.Result(); ok {
			o.setAttr(AttrPlateNo, r.Text)
			o.setAttr(AttrPlateColor, r.Color)
			o.setAttr(AttrPlateReliability, strconv.Itoa(r.Reliability))
			o.setAttr(AttrPlateReads, fmt.Sprintf("%d/%d", r.Agreeing, r.Reads))
		}
		name, dark := VehicleColor(o.best.Frame, o.best.Box, v.plates...)
		o.setAttr(AttrVehicleColor, name)
		depth := ""
		if name != "" {
			depth = map[bool]string{true: "dark", false: "light"}[dark]
		}
		o.setAttr(AttrVehicleColorDepth, depth)
	}
	return c
}

// Capture.Attributes keys the capture algorithms set.
const (
	AttrKeypoints         = "keypoints"           // face: BlazeFace keypoints of the best shot, JSON [[x,y],…]
	AttrFaceQuality       = "face_quality"        // face: FaceQuality's factors, JSON
	AttrPlateNo           = "plate_no"            // vehicle: the voted plate (valid mainland format)
	AttrPlateColor        = "plate_color"         // vehicle: its colour name (ColorBlue…), if classified
	AttrPlateReliability  = "plate_reliability"   // vehicle: 0-100 (PlateVote.Result)
	AttrPlateReads        = "plate_reads"         // vehicle: "agreeing/valid" reads
	AttrVehicleColor      = "vehicle_color"       // vehicle: body colour name
	AttrVehicleColorDepth = "vehicle_color_depth" // vehicle: "dark" or "light"
)

func init() {
	Register(Spec{
		Name: "person_vehicle_capture",
		Description: "Tracks people and vehicles (COCO NanoDet) and emits one GA/T 1400 Person, MotorVehicle or NonMotorVehicle record per object with its best snapshot. " +
			"Motor vehicles get their plate (PP-OCR on the vehicle crop, up to 5 reads per vehicle, mainland plate formats only, voted), plate colour, body colour and class.",
		Models: []string{"nanodet"},
		Contracts: []Contract{
			{Name: "nanodet", Task: "detection", Stage: "frame", Labels: []string{"person", "car", "bus", "truck", "motorcycle", "bicycle"}},
			{Name: "ppocr-det", Task: "text_detection", Stage: "crop"},
			{Name: "ppocr-cls", Task: "text_direction", Stage: "crop"},
			{Name: "ppocr-rec", Task: "text_recognition", Stage: "crop"},
		},
		Outputs: []string{"Person", "MotorVehicle", "NonMotorVehicle"},
		New: func(taskID string, p Params) (Algorithm, error) {
			return newVehicleCapture(taskID, p), nil
		},
	})
	Register(Spec{
		Name: "face_capture",
		Description: "Tracks faces (BlazeFace, full range) and emits one GA/T 1400 Face record per face with its best snapshot " +
			"(chosen by size, sharpness and frontal pose) and the face's " + FaceEmbedModel + " feature for search by photo.",
		Models: []string{"blazeface-back"},
		Contracts: []Contract{
			{Name: "blazeface-back", Task: "face_detection", Stage: "frame", Labels: []string{"face"}},
			{Name: FaceEmbedModel, Task: "embedding", Stage: "crop"},
		},
		Outputs: []string{"Face"},
		New: func(taskID string, p Params) (Algorithm, error) {
			return newFaceCapture(taskID, p), nil
		},
	})
}
