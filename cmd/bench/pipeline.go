package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

// taskSpec is one task of a bench pipeline.
type taskSpec struct {
	ID, Algorithm string
	Params        string // JSON; sample_fps is set by the bench
}

// The four tasks of the shared-stream benchmark: two algorithms (two models), each
// twice with different thresholds, so they are four distinct tasks.
var (
	faceA = taskSpec{"face-a", "face_capture", `{"thresholds":{"score":0.6}}`}
	faceB = taskSpec{"face-b", "face_capture", `{"thresholds":{"score":0.7,"min_size":20}}`}
	pvA   = taskSpec{"pv-a", "person_vehicle_capture", `{"thresholds":{"score":0.4}}`}
	pvB   = taskSpec{"pv-b", "person_vehicle_capture", `{"thresholds":{"score":0.5,"min_size":24}}`}
	// two more face tasks, for the same comparison with four tasks on one model
	faceC = taskSpec{"face-c", "face_capture", `{"thresholds":{"score":0.65}}`}
	faceD = taskSpec{"face-d", "face_capture", `{"thresholds":{"score":0.75,"min_size":24}}`}
)

// warmup is a bench-only algorithm for the warm-up runs: on its first frame it asks
// the worker's runner for every second-stage model the real tasks name (face
// embedding, face attributes, the OCR models), which a worker loads on first use only — otherwise
// inside a measured phase, whenever the first face or vehicle is emitted.
type warmup struct {
	embed, attrs []string
	ocr          bool
	done         bool
}

type warmupOptions struct {
	Embed []string `json:"embed"`
	Attrs []string `json:"attrs"` // face attribute models
	OCR   bool     `json:"ocr"`
}

func init() {
	algorithms.Register(algorithms.Spec{Name: "bench_warmup", Description: "cmd/bench: loads second-stage models",
		New: func(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
			var o warmupOptions
			if len(p.Options) > 0 {
				if err := json.Unmarshal(p.Options, &o); err != nil {
					return nil, err
				}
			}
			return &warmup{embed: o.Embed, attrs: o.Attrs, ocr: o.OCR}, nil
		}})
}

func (a *warmup) Models() []string { return nil }

func (a *warmup) Process(f algorithms.Frame, _ map[string][]decode.Detection) algorithms.Output {
	if a.done || f.Run == nil {
		return algorithms.Output{}
	}
	a.done = true
	roi := f.Mat.Region(image.Rect(0, 0, min(112, f.Mat.Cols()), min(112, f.Mat.Rows())))
	crop := roi.Clone()
	roi.Close()
	defer crop.Close()
	for _, m := range a.embed {
		if _, err := f.Run.Embed(m, []gocv.Mat{crop}); err != nil {
			slog.Error("warm-up: embedding model", "model", m, "err", err)
		}
	}
	for _, m := range a.attrs {
		fa, ok := f.Run.(algorithms.FaceAttributer)
		if !ok {
			slog.Error("warm-up: the runner estimates no face attributes", "model", m)
			break
		}
		if _, err := fa.FaceAttributes(m, []gocv.Mat{crop}); err != nil {
			slog.Error("warm-up: face attribute model", "model", m, "err", err)
		}
	}
	if a.ocr {
		if _, err := f.Run.ReadText(crop); err != nil {
			slog.Error("warm-up: OCR models", "err", err)
		}
	}
	return algorithms.Output{}
}

func (a *warmup) Close() algorithms.Output { return algorithms.Output{} }

// warmupTask is the bench_warmup task for tasks: the crop-stage models their
// algorithms' contracts name.
func warmupTask(tasks []taskSpec) taskSpec {
	var o warmupOptions
	seen := map[string]bool{}
	for _, t := range tasks {
		spec, _ := algorithms.Lookup(t.Algorithm)
		for _, c := range spec.Contracts {
			switch {
			case c.Stage != "crop" || seen[c.Name]:
			case c.Task == "embedding":
				o.Embed = append(o.Embed, c.Name)
			case c.Task == "face_attributes":
				o.Attrs = append(o.Attrs, c.Name)
			case strings.HasPrefix(c.Task, "text_"):
				o.OCR = true
			}
			seen[c.Name] = true
		}
	}
	js, _ := json.Marshal(map[string]any{"options": o})
	return taskSpec{"bench-warmup", "bench_warmup", string(js)}
}

// bench holds what every pipeline phase shares.
type bench struct {
	ctx        context.Context
	repo       models.Repository
	eng        engine.Options
	tmp        string
	clip, warm string  // the measured clip (first N frames) and the warm-up clip
	frames     int     // frames in clip
	warmFrames int     // frames in warm
	fps        float64 // the clip's native rate
	timeout    time.Duration
	workers    int  // workers created so far (for their folders)
	live       bool // streams loop, paced at their native rate, like cameras (-streams)
}

// countingStore counts the snapshots the recorder writes (two per capture).
type countingStore struct {
	objects.Store
	puts *atomic.Int64
}

func (s countingStore) Put(ctx context.Context, key string, data []byte, ct string) error {
	s.puts.Add(1)
	return s.Store.Put(ctx, key, data, ct)
}

// benchWorker is a worker with its own recorder (SQLite + local objects in a temp
// folder), built as `cityeye worker` builds one.
type benchWorker struct {
	w    *workers.Worker
	db   *store.DB
	puts atomic.Int64
}

func (b *bench) newWorker() (*benchWorker, error) {
	b.workers++
	dir := filepath.Join(b.tmp, fmt.Sprintf("worker%d", b.workers))
	objs, err := objects.NewLocal(filepath.Join(dir, "objects"), "file://"+filepath.Join(dir, "objects")+"/")
	if err != nil {
		return nil, err
	}
	db, err := store.OpenSQLite(b.ctx, filepath.Join(dir, "cityeye.db"))
	if err != nil {
		return nil, err
	}
	bw := &benchWorker{db: db}
	rec := workers.NewRecorder(db, countingStore{Store: objs, puts: &bw.puts}, nil)
	bw.w = workers.New(b.ctx, workers.Config{Repo: b.repo, Engine: b.eng, FastFiles: !b.live, LoopFiles: b.live}, rec)
	return bw, nil
}

func (bw *benchWorker) close() {
	bw.w.Close()
	bw.db.Close()
}

// plan is one stream of url with tasks. Every task samples at the clip's native rate
// (a hair above, so that rounding in the timestamps never skips a frame): each
// decoded frame is analysed by every task.
func (b *bench) plan(streamID, url string, tasks []taskSpec) (plan.StreamPlan, error) {
	st := store.Stream{ID: streamID, Name: streamID, URL: url}
	sp := plan.StreamPlan{Stream: st}
	for _, t := range tasks {
		var raw map[string]any
		if err := json.Unmarshal([]byte(t.Params), &raw); err != nil {
			return sp, fmt.Errorf("%s params: %w", t.ID, err)
		}
		raw["sample_fps"] = min(b.fps, 30)
		js, _ := json.Marshal(raw)
		p, err := algorithms.ParseParams(js)
		if err != nil {
			return sp, fmt.Errorf("%s params: %w", t.ID, err)
		}
		task := store.Task{ID: t.ID, StreamID: st.ID, Algorithm: t.Algorithm, Params: js, Enabled: true}
		sp.Tasks = append(sp.Tasks, plan.TaskPlan{Task: task, Params: p, FPS: b.fps * 1.001})
	}
	return sp, nil
}

// run applies one plan per worker, waits until every task of every stream has
// analysed want frames, the sources reached the end of the clip and the pipelines
// returned (the algorithms' final captures flushed through the recorders), then
// removes the plans. It returns the task×frame analyses counted from the workers'
// Status. Only ws may have pipelines running meanwhile.
func (b *bench) run(ws []*benchWorker, plans [][]plan.StreamPlan, want int) (int64, error) {
	for i, bw := range ws {
		bw.w.Apply(plans[i])
	}
	defer func() {
		for _, bw := range ws {
			bw.w.Apply(nil)
		}
	}()
	deadline := time.Now().Add(b.timeout)
	last, lastChange := int64(-1), time.Now()
	for {
		done, total := true, int64(0)
		for i, bw := range ws {
			status := bw.w.Status()
			if len(status) != len(plans[i]) {
				return total, fmt.Errorf("%d of %d pipelines running", len(status), len(plans[i]))
			}
			for id, st := range status {
				if st.Source.State == "error" {
					return total, fmt.Errorf("stream %s: %s", id, st.Source.Reason)
				}
				if st.Source.State != "offline" || st.Source.Reason != "end of file" {
					done = false
				}
				for _, t := range st.Tasks {
					total += t.Frames
					if t.Frames < int64(want) {
						done = false
					}
				}
			}
		}
		// Every frame is analysed and decoding is over; the pipelines still finish
		// the last frame's algorithms and recorder calls, then the algorithms' final
		// captures (the clip ended: every object left). Stopping now would cancel
		// that work, so wait for the pipelines' goroutines to return by themselves.
		if done && pipelinesRunning() == 0 {
			return total, nil
		}
		now := time.Now()
		if total != last || done {
			last, lastChange = total, now
		} else if now.Sub(lastChange) > 15*time.Second {
			return total, fmt.Errorf("no progress for 15s at %d analyses (want %d frames per task)", total, want)
		}
		if now.After(deadline) {
			return total, fmt.Errorf("timed out after %s at %d analyses", b.timeout, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pipelineSet is the workers of one pipeline phase: worker i runs one stream (the
// clip) with the tasks groups[i].
type pipelineSet struct {
	name  string
	tasks int
	ws    []*benchWorker
	plans [][]plan.StreamPlan
}

// newPipelineSet creates the workers and runs each once with the same tasks on the
// warm-up clip, so that its models are loaded (a worker loads a model on the first
// frame that needs it) and every measurement of the set is steady state. The workers
// are kept for all the rounds.
func (b *bench) newPipelineSet(name string, groups [][]taskSpec) (*pipelineSet, error) {
	ps := &pipelineSet{name: name}
	warm := make([][]plan.StreamPlan, len(groups))
	for i, g := range groups {
		bw, err := b.newWorker()
		if err != nil {
			ps.close()
			return nil, err
		}
		ps.ws = append(ps.ws, bw)
		ps.tasks += len(g)
		id := fmt.Sprintf("4415020000131%07d", i+1) // GB/T 28181: 13x = camera
		wp, err := b.plan(id, b.warm, append(g[:len(g):len(g)], warmupTask(g)))
		if err != nil {
			ps.close()
			return nil, err
		}
		rp, err := b.plan(id, b.clip, g)
		if err != nil {
			ps.close()
			return nil, err
		}
		warm[i], ps.plans = []plan.StreamPlan{wp}, append(ps.plans, []plan.StreamPlan{rp})
	}
	if _, err := b.run(ps.ws, warm, b.warmFrames); err != nil {
		ps.close()
		return nil, fmt.Errorf("%s warm-up: %w", name, err)
	}
	return ps, nil
}

func (ps *pipelineSet) close() {
	for _, bw := range ps.ws {
		bw.close()
	}
}

// runSet runs the clip through the set's pipelines once (new pipelines, as after a
// plan change: sources opened, algorithms created, final captures flushed at the
// end) and fills in r's counts.
func (b *bench) runSet(ps *pipelineSet, r *result) error {
	puts0, runs0 := int64(0), int64(0)
	for _, bw := range ps.ws {
		puts0 += bw.puts.Load()
		runs0 += modelRuns(bw.w)
	}
	n, err := b.run(ps.ws, ps.plans, b.frames)
	r.Frames, r.Analysed = b.frames, n
	for _, bw := range ps.ws {
		r.Captures += bw.puts.Load()
		r.ModelRuns += modelRuns(bw.w)
	}
	r.Captures = (r.Captures - puts0) / 2
	r.ModelRuns -= runs0
	if want := int64(ps.tasks * b.frames); err == nil && r.Analysed != want {
		r.Note = fmt.Sprintf("analysed %d, expected %d", r.Analysed, want)
	}
	return err
}

// modelRuns is the number of frames the worker's batchers have run their models on.
func modelRuns(w *workers.Worker) int64 {
	n := int64(0)
	for _, s := range w.Batchers() {
		n += s.Frames
	}
	return n
}

// pipelinesRunning counts the goroutines running a pipeline (workers' pipeline.run),
// which return once their source has ended and every frame and final capture is done.
func pipelinesRunning() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "workers.(*pipeline).run(")
		}
		buf = make([]byte, 2*len(buf))
	}
}
