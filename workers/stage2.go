package workers

import (
	"context"
	"encoding/json"
	"image"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/track"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers/source"
)

// taskStage is one of a task's second stages: the algorithm's model name it crops
// and the pipeline stage (stageRun) that computes it.
type taskStage struct {
	name, on, key string
}

// stageRun is one declared second stage on one stream, shared by every task that
// declares it alike (same crop model build, frame model build, classes and crop):
// it runs once per frame for all of them. It tracks the detections it crops so that
// a result belongs to the tracked object: computed once per track, or again every
// Every frames of it.
type stageRun struct {
	spec    algorithms.Stage2
	on      string // batcher key of the frame model whose detections are cropped
	model   string // batcher key of the crop model
	tracker *track.Tracker
	objs    map[uint64]*stageObj
	failed  string // last error, logged once
}

type stageObj struct {
	res  decode.Stage2
	have bool
	age  int // frames since res was computed
}

// stagesOf resolves a task's declared stages to pipeline stage keys.
func stagesOf(alg algorithms.Algorithm, p algorithms.Params) []taskStage {
	var out []taskStage
	for _, s := range algorithms.StagesOf(alg, p) {
		on := s.On
		if on == "" && len(alg.Models()) > 0 {
			on = alg.Models()[0]
		}
		spec := s
		spec.Name, spec.Fields, spec.Values = "", nil, nil // not part of what is computed
		b, _ := json.Marshal(struct {
			S         algorithms.Stage2
			On, Model string
		}{spec, p.ModelRef(on).Key(), p.ModelRef(s.Model).Key()})
		out = append(out, taskStage{name: s.Name, on: on, key: string(b)})
	}
	return out
}

// stage returns the pipeline's stage for key, creating it.
func (p *pipeline) stage(key string, t *taskRun) *stageRun {
	if st := p.stages[key]; st != nil {
		return st
	}
	var spec algorithms.Stage2
	var on string
	for _, s := range algorithms.StagesOf(t.alg, t.plan.Params) {
		for _, ts := range t.stages {
			if ts.key == key && ts.name == s.Name {
				spec, on = s, ts.on
			}
		}
	}
	st := &stageRun{spec: spec, on: t.models[on], model: t.plan.Params.ModelRef(spec.Model).Key(), objs: map[uint64]*stageObj{},
		tracker: track.New(track.Config{FPS: t.plan.FPS, High: 0.05, Low: 0.01, NewTrack: 0.05})}
	p.stages[key] = st
	return st
}

type cropJob struct {
	st   *stageRun
	obj  *stageObj
	img  gocv.Mat
	slot **decode.Stage2
}

// runStages computes every stage the due tasks declare on this frame, each once, and
// returns per stage key the results aligned with the frame model's detections (nil
// where a detection is not of the stage's classes or its crop is too small).
func (p *pipeline) runStages(ctx context.Context, f source.Frame, device string, due []*taskRun, dets map[string][]decode.Detection) map[string][]*decode.Stage2 {
	out := map[string][]*decode.Stage2{}
	var jobs []cropJob
	for _, t := range due {
		for _, ts := range t.stages {
			if _, done := out[ts.key]; done {
				continue
			}
			st := p.stage(ts.key, t)
			ds := dets[st.on]
			res := make([]*decode.Stage2, len(ds))
			out[ts.key] = res
			var idx []int
			var follow []decode.Detection
			for i, d := range ds {
				if slices.Contains(st.spec.Classes, d.Label) {
					idx, follow = append(idx, i), append(follow, d)
				}
			}
			st.tracker.SetBounds(f.Mat.Cols(), f.Mat.Rows())
			assigned, ended := st.tracker.Update(f.Time, follow, nil)
			for _, k := range ended {
				delete(st.objs, k.ID)
			}
			for j, k := range assigned {
				o := &stageObj{} // an untracked detection: its own result
				if k != nil {
					if o = st.objs[k.ID]; o == nil {
						o = &stageObj{}
						st.objs[k.ID] = o
					}
				}
				o.age++
				if o.have && (st.spec.Every == 0 || o.age < st.spec.Every) {
					r := o.res
					res[idx[j]] = &r
					continue
				}
				if img, ok := cropOf(f.Mat, follow[j].Box, st.spec); ok {
					jobs = append(jobs, cropJob{st: st, obj: o, img: img, slot: &res[idx[j]]})
				}
			}
		}
	}
	// all crops at once: they share batches (with other streams' crops too)
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer j.img.Close()
			b, err := p.w.batcher(j.st.model, device)
			if err == nil {
				var r decode.Stage2
				if r, err = b.Crop(ctx, j.img); err == nil {
					j.obj.res, j.obj.have, j.obj.age = r, true, 0
					*j.slot = &r
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if st := jobs[i].st; err != nil && ctx.Err() == nil && err.Error() != st.failed {
			st.failed = err.Error()
			slog.Error("second stage failed; detections go on without it", "model", st.model, "err", err)
		}
	}
	for key := range p.stages { // stages no task declares any more
		if !slices.ContainsFunc(p.tasksNow(), func(t *taskRun) bool {
			return slices.ContainsFunc(t.stages, func(ts taskStage) bool { return ts.key == key })
		}) {
			delete(p.stages, key)
		}
	}
	return out
}

// attach gives a task its frame models' detections with its stages' results on them
// (copies: tasks sharing a frame model may declare different stages).
func attach(t *taskRun, dets map[string][]decode.Detection, results map[string][]*decode.Stage2) map[string][]decode.Detection {
	byName := make(map[string][]decode.Detection, len(t.models))
	for name, k := range t.models {
		byName[name] = dets[k]
	}
	copied := map[string]bool{}
	for _, ts := range t.stages {
		res, ds := results[ts.key], byName[ts.on]
		if len(res) != len(ds) {
			continue
		}
		if !copied[ts.on] {
			ds = slices.Clone(ds)
			byName[ts.on], copied[ts.on] = ds, true
		}
		for i, r := range res {
			if r == nil {
				continue
			}
			m := maps.Clone(ds[i].Stage2)
			if m == nil {
				m = map[string]decode.Stage2{}
			}
			m[ts.name] = *r
			ds[i].Stage2 = m
		}
	}
	return byName
}

// cropOf cuts a stage's crop of box from frame: the declared region of the box,
// padded, inside the frame, at least MinSize on its shorter side. The crop is a copy.
func cropOf(frame gocv.Mat, box decode.Box, s algorithms.Stage2) (gocv.Mat, bool) {
	x1, y1, x2, y2 := float64(box.X1), float64(box.Y1), float64(box.X2), float64(box.Y2)
	if r := s.Region; r != nil {
		w, h := x2-x1, y2-y1
		x1, y1, x2, y2 = x1+r[0]*w, y1+r[1]*h, x1+r[2]*w, y1+r[3]*h
	}
	px, py := s.Padding*(x2-x1), s.Padding*(y2-y1)
	rect := image.Rect(int(x1-px), int(y1-py), int(x2+px+0.5), int(y2+py+0.5)).Intersect(image.Rect(0, 0, frame.Cols(), frame.Rows()))
	if rect.Empty() || min(rect.Dx(), rect.Dy()) < max(s.MinSize, 2) {
		return gocv.Mat{}, false
	}
	roi := frame.Region(rect)
	defer roi.Close()
	return roi.Clone(), true
}
