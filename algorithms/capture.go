package algorithms

import (
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sort"
	"time"

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
	score   float32 // the tracker's first-pass threshold (task "score")
	// labelScore is the algorithm's default minimum peak score per label (see
	// classScore; tasks override it with "score.<label>" thresholds).
	labelScore map[string]float32
	minSize    float32
	minHits    int
	every      time.Duration
	tracker    *track.Tracker
	objs       map[uint64]*object
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

	// confirmation evidence (confirm.go)
	roiHits        int     // confident detections inside the ROI
	peak           float32 // highest score inside the ROI
	started        bool
	x0, y0, travel float32 // first feet position; farthest since, in box heights

	featShot time.Time // the shot Feature was computed on
	vehicle  *vehicleState
	stage2   map[string]string // the task's second-stage results as attributes (Params.Stage2)
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

// newCapture sets up capture; reid enables the tracker's re-identification of lost
// tracks by colour appearance (bodies; faces need their embedding instead).
func newCapture(taskID, model string, kinds map[string]string, p Params, defScore float64, reid bool) *capture {
	cfg := track.Config{FPS: p.SampleFPS, High: float32(p.Threshold("score", defScore)),
		Family: func(label string) string { return kinds[label] }}
	if !reid {
		cfg.ReID = -1
	}
	return &capture{
		taskKey: fmt.Sprintf("%s/%x", taskID, time.Now().UnixNano()),
		model:   model, kinds: kinds, params: p,
		score:   float32(p.Threshold("score", defScore)),
		minSize: float32(p.Threshold("min_size", 16)),
		minHits: 3, every: 2 * time.Second,
		tracker:  track.New(cfg),
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
		dets = append(dets, d)
	}
	dets = c.dedupe(dets)
	feats := make([][]float32, len(dets))
	for i, d := range dets {
		feats[i] = Appearance(f.Mat, d.Box)
	}
	// objects are tracked everywhere (one identity when they cross the ROI's
	// border) but confirmed and shot only inside the ROI
	c.tracker.SetBounds(w, h)
	assigned, ended := c.tracker.Update(f.Time, dets, feats)
	var out []Capture
	for i, d := range dets {
		k := assigned[i]
		if k == nil {
			continue // a low-score detection that continues no track
		}
		o := c.objs[k.ID]
		if o == nil {
			o = &object{best: Capture{TrackKey: fmt.Sprintf("%s/%d", c.taskKey, k.ID), Kind: c.kinds[d.Label], Appear: f.Time}}
			c.objs[k.ID] = o
		}
		o.hits++
		o.best.Label = k.Label // the track's majority label (car and truck are one family)
		for k, v := range c.params.Stage2Attributes(d) {
			if o.stage2 == nil {
				o.stage2 = map[string]string{}
			}
			o.stage2[k] = v
		}
		cx, cy := float64(d.Box.X1+d.Box.X2)/2/float64(w), float64(d.Box.Y1+d.Box.Y2)/2/float64(h)
		inROI := c.params.InROI(cx, cy)
		o.observeShape(d, inROI, c.score)
		improved := false
		if q := c.quality(f, d); inROI && (q > o.quality*c.betterBy || !o.hasFrame) {
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
		if c.observe != nil && o.hasFrame {
			c.observe(c, o, f, d, improved)
		}
		if o.hasFrame && o.dirty && c.confirmed(o) && (!o.emitted || (f.Time.Sub(o.lastEmit) >= c.every && o.quality > 1.15*o.emittedQ)) {
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
	for k, v := range o.stage2 { // a declared second-stage model wins over built-in estimates
		o.setAttr(k, v)
	}
	cp := o.best
	cp.Frame = o.best.Frame.Clone()
	cp.Attributes = maps.Clone(o.best.Attributes)
	cp.Final = final
	o.emitted, o.dirty, o.lastEmit, o.emittedQ = true, false, t, o.quality
	return cp
}

// finish returns the final capture of an object that left, if it was ever confirmed
// (a record exists).
func (c *capture) finish(o *object, lastSeen time.Time) (Capture, bool) {
	if !o.hasFrame {
		return Capture{}, false // never inside the ROI
	}
	defer o.best.Frame.Close()
	if !o.emitted {
		return Capture{}, false // never confirmed: no record exists
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
// best shot the face embedding (EmbedFace) in Feature, with the keypoints, the
// quality factors and, when the runner estimates them, gender and age range
// (EstimateFace) in Attributes.
func newFaceCapture(taskID string, p Params) *capture {
	c := newCapture(taskID, "blazeface-back", map[string]string{"face": "Face"}, p, 0.6, false)
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
		if fa, ok := c.run.(FaceAttributer); ok {
			attrs, err := EstimateFace(fa, o.best.Frame, o.det)
			if err != nil {
				c.warn(FaceAttrModel, err)
			}
			for _, k := range []string{AttrGender, AttrAgeLower, AttrAgeUpper} {
				o.setAttr(k, attrs[k]) // a new best shot's estimate replaces the old one's
			}
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
	AttrVehicleClass      = "vehicle_class"       // vehicle: a GA 24.4 VehicleClass code, from a second-stage classifier
)

func init() {
	Register(Spec{
		Name:    "person_vehicle_capture",
		Title:   "person & vehicle capture",
		TitleZH: "人车抓拍",
		Summary: "Tracks people and vehicles and records each once with its best snapshot (Person, MotorVehicle, NonMotorVehicle); " +
			"vehicles get their plate number and colour, body colour and class.",
		SummaryZH: "跟踪行人与车辆，每个目标生成一条带最佳抓拍图的记录（人员、机动车、非机动车）；机动车识别车牌号码、车牌颜色、车身颜色和车型。",
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
		Name:      "face_capture",
		Title:     "face capture",
		TitleZH:   "人脸抓拍",
		Summary:   "Tracks faces and records each once with its best snapshot (by size, sharpness and frontal pose) and a feature for search by photo.",
		SummaryZH: "跟踪人脸，每张人脸生成一条带最佳抓拍图（按大小、清晰度和正脸程度选取）的人脸记录，并提取特征用于以图搜人。",
		Description: "Tracks faces (BlazeFace, full range) and emits one GA/T 1400 Face record per face with its best snapshot " +
			"(chosen by size, sharpness and frontal pose) and the face's " + FaceEmbedModel + " feature for search by photo.",
		Models: []string{"blazeface-back"},
		Contracts: []Contract{
			{Name: "blazeface-back", Task: "face_detection", Stage: "frame", Labels: []string{"face"}},
			{Name: FaceEmbedModel, Task: "embedding", Stage: "crop"},
			{Name: FaceAttrModel, Task: "face_attributes", Stage: "crop"},
		},
		Outputs: []string{"Face"},
		New: func(taskID string, p Params) (Algorithm, error) {
			return newFaceCapture(taskID, p), nil
		},
	})
}
