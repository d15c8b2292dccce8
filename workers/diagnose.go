package workers

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"net/url"
	"slices"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/quality"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// Visit is how the picture diagnosis rotation looks at one camera.
type Visit struct {
	Frames  int             // key frames diagnosed (default 5, at least 3)
	Persist int             // key frames in a row a defect must show within the visit (default 2)
	Timeout time.Duration   // for the stream to open and deliver them (default 30 s)
	Options json.RawMessage // video_quality's options: the camera's or its area's thresholds
	Files   bool            // file:// sources are decoded as fast as possible (tests)
	// ImportDirs are the only folders a file:// stream may be opened from (the
	// platform's import folders, as for the worker's streams).
	ImportDirs []string
	// Reference is the camera's reference view from earlier visits (nil: this visit's
	// first frame becomes it) and ChangedAt when the view stopped matching it. A view
	// that matches refreshes the reference (slow drift of light and seasons); a changed
	// one keeps scene_changed raised until AdoptAfter (default 24 h) has passed, then
	// becomes the reference (the camera was re-aimed on purpose, and seen).
	Reference  []byte
	ChangedAt  time.Time
	AdoptAfter time.Duration
}

// referenced is what video_quality offers for references kept between visits.
type referenced interface {
	Active() []string
	Reference() []byte
	View() []byte
	SetReference([]byte) error
}

// DiagnosisTask is the task ID the rotation's measures and alerts are stored under,
// per camera; no task has it (store.ListMeasures reads the measures).
func DiagnosisTask(deviceID string) string { return "diagnosis:" + deviceID }

// Diagnose opens the camera's stream decoding key frames only, runs video_quality on
// v.Frames of them, stores every frame's measures, and raises an alert (with the
// snapshot and the camera's location) for each defect that appeared or cleared since
// prev, and quality.signal_lost when the stream cannot be read. It returns the visit.
func (r *Recorder) Diagnose(ctx context.Context, st store.Stream, prev *store.Diagnosis, v Visit) (store.Diagnosis, error) {
	v = v.withDefaults()
	d := store.Diagnosis{DeviceID: st.ID, ProbedAt: time.Now().UTC(), Defects: []string{}}
	opt, err := quality.ParseOptions(v.Options)
	if err != nil {
		return d, err
	}
	opt.Persist = v.Persist
	opt.FrozenFrames = min(opt.FrozenFrames, v.Frames-v.Persist+1)
	raw, _ := json.Marshal(opt)
	alg, err := quality.New(st.ID, algorithms.Params{Options: raw})
	if err != nil {
		return d, err
	}
	defer alg.Close()
	ra := alg.(referenced)
	if v.Reference != nil {
		if err := ra.SetReference(v.Reference); err != nil {
			v.Reference = nil // unreadable (from another version): start again from this visit
		}
	}
	tp := plan.TaskPlan{Task: store.Task{ID: DiagnosisTask(st.ID), StreamID: st.ID, DeptID: st.OwnerDept, Algorithm: quality.Name}}

	ctx, cancel := context.WithTimeout(ctx, v.Timeout)
	defer cancel()
	src := source.Open(ctx, source.Options{URL: st.URL, KeyframesOnly: true, MaxGOP: -1, NoRealtime: v.Files,
		OpenTimeout: v.Timeout / 2, Buffer: 1, ReconnectMin: v.Timeout, ReconnectMax: v.Timeout,
		RestrictFiles: true, ImportDirs: v.ImportDirs})
	defer src.Close()
	last := gocv.NewMat()
	defer func() { last.Close() }()
	seen := 0
	for seen < v.Frames {
		var f source.Frame
		var ok bool
		select {
		case f, ok = <-src.Frames():
		case <-ctx.Done():
		}
		if !ok {
			break
		}
		if !f.Key {
			f.Mat.Close()
			continue
		}
		seen++
		out := alg.Process(algorithms.Frame{StreamID: st.ID, Seq: f.Seq, Time: f.Time, Mat: f.Mat}, nil)
		for _, a := range out.Alerts { // the visit's own starts and clears; what counts is the state at its end
			a.Frame.Close()
		}
		if err := r.SaveMeasures(ctx, st, tp, out.Measures); err != nil {
			f.Mat.Close()
			return d, err
		}
		last.Close()
		last = f.Mat
	}
	if seen == 0 {
		d.Reason = withoutAddress(src.Status().Reason, st.URL)
		if d.Reason == "" {
			d.Reason = "no key frame within " + v.Timeout.String()
		}
		d.Defects = []string{quality.SignalLost}
	} else {
		d.Online = true
		d.Defects = ra.Active()
		if d.Defects == nil {
			d.Defects = []string{}
		}
		d.SceneRef, d.SceneChangedAt = v.sceneReference(ra, &d)
	}
	return d, r.stateAlerts(context.WithoutCancel(ctx), st, tp, prev, d, last)
}

// withoutAddress keeps a stream's address (its host, its file path) out of a reason
// that departments seeing the camera, but not its URL, read.
func withoutAddress(reason, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the stream cannot be read"
	}
	for _, part := range []string{u.Path, u.Host, u.Hostname()} {
		if len(part) > 1 {
			reason = strings.ReplaceAll(reason, part, "…")
		}
	}
	return reason
}

// sceneReference decides the reference to keep after a visit that saw the picture,
// and adopts a changed view once it has lasted AdoptAfter (scene_changed then clears).
func (v Visit) sceneReference(ra referenced, d *store.Diagnosis) ([]byte, time.Time) {
	if !slices.Contains(d.Defects, quality.SceneChanged) {
		if slices.ContainsFunc(d.Defects, func(x string) bool { return x == quality.Black || x == quality.Overexposed || x == quality.Covered }) {
			return ra.Reference(), time.Time{} // a blank or covered picture is no view to keep
		}
		return ra.View(), time.Time{}
	}
	since := v.ChangedAt
	if since.IsZero() {
		since = d.ProbedAt
	}
	if d.ProbedAt.Sub(since) < v.AdoptAfter {
		return ra.Reference(), since
	}
	d.Defects = slices.DeleteFunc(d.Defects, func(x string) bool { return x == quality.SceneChanged })
	return ra.View(), time.Time{}
}

func (v Visit) withDefaults() Visit {
	if v.Frames == 0 {
		v.Frames = 5
	}
	v.Frames = max(v.Frames, 3)
	if v.Persist <= 0 {
		v.Persist = 2
	}
	v.Persist = min(v.Persist, v.Frames-1)
	if v.Timeout <= 0 {
		v.Timeout = 30 * time.Second
	}
	if v.AdoptAfter <= 0 {
		v.AdoptAfter = 24 * time.Hour
	}
	return v
}

// stateAlerts raises quality.<defect> for each defect d has and prev had not, and
// quality.recovered for each prev had and d has not (signal_lost included).
func (r *Recorder) stateAlerts(ctx context.Context, st store.Stream, tp plan.TaskPlan, prev *store.Diagnosis, d store.Diagnosis, frame gocv.Mat) error {
	var before []string
	if prev != nil {
		before = prev.Defects
	}
	snap := frame
	if frame.Empty() {
		snap = noSignal()
		defer snap.Close()
	}
	raise := func(kind, defect string, level int) error {
		return r.SaveAlert(ctx, st, tp, algorithms.Alert{Kind: kind, Level: level, Time: d.ProbedAt, Frame: snap, Details: map[string]any{
			"defect": defect, "active": d.Defects, "source": "diagnosis rotation", "reason": d.Reason, "camera": st.Name}})
	}
	for _, x := range d.Defects {
		if !slices.Contains(before, x) {
			if err := raise("quality."+x, x, 2); err != nil {
				return err
			}
		}
	}
	for _, x := range before {
		if !slices.Contains(d.Defects, x) {
			if err := raise("quality."+quality.Recovered, x, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// noSignal is the snapshot of a signal_lost alert: there is no picture to show.
func noSignal() gocv.Mat {
	m := gocv.NewMatWithSize(180, 320, gocv.MatTypeCV8UC3)
	gocv.PutText(&m, "NO SIGNAL", image.Pt(90, 95), gocv.FontHersheySimplex, 0.9, color.RGBA{R: 255, G: 255, B: 255, A: 255}, 2)
	return m
}
