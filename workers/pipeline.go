package workers

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// taskRun is a task's live state inside a pipeline.
type taskRun struct {
	plan     plan.TaskPlan
	alg      algorithms.Algorithm
	models   map[string]string // the algorithm's model name → the batcher key the task uses
	nextDue  time.Time         // sampler: next frame time this task wants
	frames   atomic.Int64
	captures atomic.Int64
	alerts   atomic.Int64
}

// pipeline decodes one stream once and feeds every task on it.
type pipeline struct {
	w      *Worker
	plan   plan.StreamPlan
	src    *source.Source
	cancel context.CancelFunc
	done   chan struct{}

	tasks []*taskRun
}

func (w *Worker) startPipeline(plan plan.StreamPlan) *pipeline {
	ctx, cancel := context.WithCancel(w.ctx)
	p := &pipeline{w: w, plan: plan, cancel: cancel, done: make(chan struct{})}
	maxFPS := 0.0
	for _, tp := range plan.Tasks {
		spec, _ := algorithms.Lookup(tp.Task.Algorithm)
		alg, err := spec.New(tp.Task.ID, tp.Params)
		if err != nil {
			slog.Error("task not started", "task", tp.Task.ID, "err", err)
			continue
		}
		p.tasks = append(p.tasks, &taskRun{plan: tp, alg: alg, models: modelKeys(alg.Models(), tp.Params)})
		maxFPS = max(maxFPS, tp.FPS)
	}
	url := plan.Stream.URL
	isFile := strings.HasPrefix(url, "file://") || strings.HasPrefix(url, "/")
	opts := source.Options{URL: url, Loop: isFile && w.cfg.LoopFiles, Realtime: isFile && !w.cfg.FastFiles, NoRealtime: isFile && w.cfg.FastFiles, MaxFPS: maxFPS,
		KeyframesOnly: maxFPS > 0 && maxFPS <= 1, // every task ≤ 1 fps: key frames suffice when the GOP allows
		RestrictFiles: w.cfg.RestrictFiles, ImportDirs: w.cfg.ImportDirs}
	if dev, ok := strings.CutPrefix(plan.Device, "cuda:"); ok {
		// placed on a GPU: NVDEC on that GPU, software with the reason in the
		// stream's status when the session cannot be created
		opts.HWAccel, opts.HWDevice = "cuda", dev
	}
	p.src = source.Open(ctx, opts)
	go p.run(ctx)
	return p
}

func (p *pipeline) run(ctx context.Context) {
	defer close(p.done)
	for f := range p.src.Frames() {
		p.process(ctx, f)
		f.Mat.Close()
	}
	// stream ended or pipeline stopped: objects still in view get their final record
	for _, t := range p.tasks {
		p.save(context.WithoutCancel(ctx), t, t.alg.Close())
	}
}

func (p *pipeline) process(ctx context.Context, f source.Frame) {
	frame := algorithms.Frame{StreamID: p.plan.Stream.ID, Seq: f.Seq, Time: f.Time.In(p.w.cfg.Location), Mat: f.Mat, Run: p.w.runner}
	var due []*taskRun
	need := map[string]bool{}
	for _, t := range p.tasks {
		if f.Time.Before(t.nextDue) || !t.plan.Params.Active(f.Time.In(p.w.cfg.Location)) {
			continue
		}
		interval := time.Duration(float64(time.Second) / t.plan.FPS)
		t.nextDue = t.nextDue.Add(interval)
		if t.nextDue.Before(f.Time) { // fell behind (or first frame): re-anchor
			t.nextDue = f.Time.Add(interval)
		}
		due = append(due, t)
		for _, k := range t.models {
			need[k] = true
		}
	}
	if len(due) == 0 {
		return
	}
	// each model (version) once per frame, whatever the number of tasks using it
	dets := map[string][]decode.Detection{}
	for m := range need {
		b, err := p.w.batcher(m, p.plan.Device)
		if err == nil {
			dets[m], err = b.Detect(ctx, f.Mat)
		}
		if err != nil {
			if ctx.Err() == nil {
				slog.Error("inference failed", "stream", p.plan.Stream.ID, "model", m, "err", err)
			}
			return
		}
	}
	for _, t := range due {
		t.frames.Add(1)
		byName := make(map[string][]decode.Detection, len(t.models))
		for name, k := range t.models { // the algorithm asks by its model name
			byName[name] = dets[k]
		}
		p.save(ctx, t, t.alg.Process(frame, byName))
	}
}

func (p *pipeline) save(ctx context.Context, t *taskRun, out algorithms.Output) {
	for _, c := range out.Captures {
		if err := p.w.rec.Save(ctx, p.plan.Stream, t.plan, c); err != nil {
			slog.Error("record not saved", "task", t.plan.Task.ID, "track", c.TrackKey, "err", err)
		} else {
			t.captures.Add(1)
		}
		c.Frame.Close()
	}
	for _, a := range out.Alerts {
		if err := p.w.rec.SaveAlert(ctx, p.plan.Stream, t.plan, a); err != nil {
			slog.Error("alert not saved", "task", t.plan.Task.ID, "kind", a.Kind, "err", err)
		} else {
			t.alerts.Add(1)
		}
		a.Frame.Close()
	}
	if len(out.Measures) > 0 {
		if err := p.w.rec.SaveMeasures(ctx, p.plan.Stream, t.plan, out.Measures); err != nil {
			slog.Error("measures not saved", "task", t.plan.Task.ID, "err", err)
		}
	}
}

func (p *pipeline) stop() {
	p.cancel()
	p.src.Close()
	<-p.done
}

// modelKeys names the batchers a task uses, by the algorithm's model name: the
// repository key of the build the task chose (the platform's model, or
// vendor/name), with @version where it pins one (see algorithms.Params.Models).
func modelKeys(names []string, p algorithms.Params) map[string]string {
	keys := make(map[string]string, len(names))
	for _, n := range names {
		keys[n] = p.ModelRef(n).Key()
	}
	return keys
}
