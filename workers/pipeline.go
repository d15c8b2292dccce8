package workers

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// taskRun is a task's live state inside a pipeline.
type taskRun struct {
	plan     plan.TaskPlan
	alg      algorithms.Algorithm
	models   map[string]string // the algorithm's model name → the batcher key the task uses
	stages   []taskStage       // its second stages (params.stage2)
	identity string            // what the algorithm was built from (see taskIdentity)
	nextDue  time.Time         // sampler: next frame time this task wants
	frames   atomic.Int64
	captures atomic.Int64
	alerts   atomic.Int64
}

// pipeline decodes one stream once and feeds every task on it. Its tasks change in
// place (update): the decoder stays open and the tasks that remain keep their
// trackers; only a change of the stream itself (streamKey) makes the worker replace
// the pipeline.
type pipeline struct {
	w      *Worker
	src    *source.Source
	key    string // streamKey of the plan it was opened for
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // an update is pending

	mu      sync.Mutex
	plan    plan.StreamPlan // as applied; read by the frame loop under mu
	tasks   []*taskRun      // replaced, never modified, by the frame loop
	pending *plan.StreamPlan

	live *liveFrame // the latest frame for live snapshots (liveframe.go)

	stages map[string]*stageRun // second stages by key, shared by tasks; the frame loop's own
}

// streamKey is what a stream's decoder depends on, its URL and the device it decodes
// on: a change reopens it. Everything else (tasks, fps, key-frame-only or full decoding,
// the stream's descriptive fields) applies in place.
func streamKey(p plan.StreamPlan) string { return p.Device + " " + p.Stream.URL }

// taskIdentity is what a task's algorithm instance is built from; its granted or
// requested frame rate and its grant are not part of it (they change in place).
func taskIdentity(tp plan.TaskPlan) string {
	params := tp.Params
	params.SampleFPS = 0
	b, _ := json.Marshal(struct {
		Algorithm string
		Params    algorithms.Params
	}{tp.Task.Algorithm, params})
	return string(b)
}

// rate is the source's decode rate and mode for a set of tasks: the fastest task's
// fps, key frames only when every task needs at most 1 fps (if the GOP allows).
func rate(tasks []*taskRun) (float64, bool) {
	maxFPS := 0.0
	for _, t := range tasks {
		maxFPS = max(maxFPS, t.plan.FPS)
	}
	return maxFPS, maxFPS > 0 && maxFPS <= 1
}

func (w *Worker) startPipeline(sp plan.StreamPlan) *pipeline {
	ctx, cancel := context.WithCancel(w.ctx)
	p := &pipeline{w: w, plan: sp, key: streamKey(sp), cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1), live: newLiveFrame(),
		stages: map[string]*stageRun{}}
	p.tasks = p.buildTasks(ctx, sp, nil)
	maxFPS, keyframes := rate(p.tasks)
	url := sp.Stream.URL
	isFile := strings.HasPrefix(url, "file://") || strings.HasPrefix(url, "/")
	opts := source.Options{URL: url, Loop: isFile && w.cfg.LoopFiles, Realtime: isFile && !w.cfg.FastFiles, NoRealtime: isFile && w.cfg.FastFiles,
		MaxFPS: maxFPS, KeyframesOnly: keyframes, RestrictFiles: w.cfg.RestrictFiles, ImportDirs: w.cfg.ImportDirs}
	if dev, ok := strings.CutPrefix(sp.Device, "cuda:"); ok {
		// placed on a GPU: NVDEC on that GPU, software with the reason in the
		// stream's status when the session cannot be created
		opts.HWAccel, opts.HWDevice = "cuda", dev
	}
	p.src = source.Open(ctx, opts)
	w.opened.Add(1)
	go p.run(ctx)
	return p
}

// buildTasks makes the task runs of sp, keeping from old every task whose algorithm
// instance still fits (same identity) and finishing the others (their objects in view
// get their final records).
func (p *pipeline) buildTasks(ctx context.Context, sp plan.StreamPlan, old []*taskRun) []*taskRun {
	keep := map[string]*taskRun{}
	for _, t := range old {
		keep[t.plan.Task.ID] = t
	}
	var out []*taskRun
	for _, tp := range sp.Tasks {
		id := taskIdentity(tp)
		if t := keep[tp.Task.ID]; t != nil && t.identity == id {
			delete(keep, tp.Task.ID)
			p.mu.Lock()
			t.plan = tp // new fps or grant: same tracker
			p.mu.Unlock()
			out = append(out, t)
			continue
		}
		spec, ok := algorithms.Lookup(tp.Task.Algorithm)
		if !ok { // an algorithm this build lacks: the task is not run, the worker lives on
			slog.Error("task not started: unknown algorithm", "task", tp.Task.ID, "algorithm", tp.Task.Algorithm)
			continue
		}
		alg, err := spec.New(tp.Task.ID, tp.Params)
		if err != nil {
			slog.Error("task not started", "task", tp.Task.ID, "err", err)
			continue
		}
		out = append(out, &taskRun{plan: tp, alg: alg, identity: id, models: modelKeys(alg.Models(), tp.Params), stages: stagesOf(alg, tp.Params)})
	}
	for _, t := range keep { // removed or rebuilt: final records
		p.save(context.WithoutCancel(ctx), p.plan.Stream, t, t.alg.Close())
	}
	return out
}

// update hands a new plan for the same stream to the frame loop, which applies it
// between two frames.
func (p *pipeline) update(sp plan.StreamPlan) {
	p.mu.Lock()
	p.pending = &sp
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// applyPending runs in the frame loop: tasks change without touching the decoder
// except for its rate and mode (switched at the next key frame).
func (p *pipeline) applyPending(ctx context.Context) {
	p.mu.Lock()
	sp := p.pending
	p.pending = nil
	old := p.tasks
	p.mu.Unlock()
	if sp == nil {
		return
	}
	tasks := p.buildTasks(ctx, *sp, old)
	p.mu.Lock()
	p.plan, p.tasks = *sp, tasks
	p.mu.Unlock()
	maxFPS, keyframes := rate(tasks)
	p.src.SetRate(maxFPS, keyframes)
	slog.Info("pipeline updated in place", "stream", sp.Stream.ID, "tasks", len(tasks), "max_fps", maxFPS, "keyframes_only", keyframes)
}

// tasksNow is the pipeline's current tasks.
func (p *pipeline) tasksNow() []*taskRun {
	_, tasks := p.snapshot()
	return tasks
}

func (p *pipeline) snapshot() (plan.StreamPlan, []*taskRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plan, p.tasks
}

func (p *pipeline) run(ctx context.Context) {
	defer close(p.done)
	defer p.live.close()
	frames := p.src.Frames()
loop:
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				break loop
			}
			p.applyPending(ctx)
			p.live.keep(f.Mat, f.Time)
			p.process(ctx, f)
			f.Mat.Close()
		case <-p.wake:
			p.applyPending(ctx)
		}
	}
	// stream ended or pipeline stopped: objects still in view get their final record
	sp, tasks := p.snapshot()
	for _, t := range tasks {
		p.save(context.WithoutCancel(ctx), sp.Stream, t, t.alg.Close())
	}
}

func (p *pipeline) process(ctx context.Context, f source.Frame) {
	sp, tasks := p.snapshot()
	frame := algorithms.Frame{StreamID: sp.Stream.ID, Seq: f.Seq, Time: f.Time.In(p.w.cfg.Location), Mat: f.Mat, Run: p.w.runner}
	var due []*taskRun
	need := map[string]bool{}
	for _, t := range tasks {
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
	took := map[string]time.Duration{}
	for m := range need {
		b, err := p.w.batcher(m, sp.Device)
		if err == nil {
			start := time.Now()
			dets[m], err = b.Detect(ctx, sp.Stream.ID, f.Mat)
			took[m] = time.Since(start)
		}
		if err != nil {
			if ctx.Err() == nil {
				slog.Error("inference failed", "stream", sp.Stream.ID, "model", m, "err", err)
			}
			return
		}
	}
	results := p.runStages(ctx, f, sp.Device, due, dets)
	for _, t := range due {
		t.frames.Add(1)
		// the algorithm asks by its model name; its stages' results are on the detections
		p.save(ctx, sp.Stream, t, t.alg.Process(frame, attach(t, dets, results)))
	}
	if len(sp.Shadows) > 0 { // after the tasks: a shadow never delays their results
		p.runShadows(ctx, sp, f.Mat, dets, took)
	}
}

func (p *pipeline) save(ctx context.Context, st store.Stream, t *taskRun, out algorithms.Output) {
	for _, c := range out.Captures {
		if err := p.w.rec.Save(ctx, st, t.plan, c); err != nil {
			slog.Error("record not saved", "task", t.plan.Task.ID, "track", c.TrackKey, "err", err)
		} else {
			t.captures.Add(1)
		}
		c.Frame.Close()
	}
	for _, a := range out.Alerts {
		if err := p.w.rec.SaveAlert(ctx, st, t.plan, a); err != nil {
			slog.Error("alert not saved", "task", t.plan.Task.ID, "kind", a.Kind, "err", err)
		} else {
			t.alerts.Add(1)
		}
		a.Frame.Close()
	}
	if len(out.Measures) > 0 {
		if err := p.w.rec.SaveMeasures(ctx, st, t.plan, out.Measures); err != nil {
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
