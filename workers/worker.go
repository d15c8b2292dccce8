package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/scheduler/source"
)

// Config configures a worker.
type Config struct {
	Repo      models.Repository
	Engine    engine.Options
	BatchWait time.Duration  // how long a batch waits for more frames (default 10ms)
	LoopFiles bool           // file:// streams loop like live cameras (demo)
	FastFiles bool           // decode files as fast as possible instead of at native fps (tests)
	Location  *time.Location // for schedules and GA/T 1400 times (default Asia/Shanghai)
}

// Worker runs the pipelines the scheduler assigns to it. In embedded mode there is
// one, in-process; in distributed mode each worker process has one.
type Worker struct {
	ctx    context.Context
	cancel context.CancelFunc
	cfg    Config
	rec    *Recorder

	mu        sync.Mutex
	pipelines map[string]*pipeline // by stream ID
	applied   map[string]string    // stream ID → plan fingerprint
	batchers  map[string]*Batcher
	loaded    map[string]*models.Model
}

// New creates a worker that saves captures through rec.
func New(ctx context.Context, cfg Config, rec *Recorder) *Worker {
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 10 * time.Millisecond
	}
	if cfg.Location == nil {
		cfg.Location = Shanghai()
	}
	ctx, cancel := context.WithCancel(ctx)
	return &Worker{ctx: ctx, cancel: cancel, cfg: cfg, rec: rec, pipelines: map[string]*pipeline{},
		applied: map[string]string{}, batchers: map[string]*Batcher{}, loaded: map[string]*models.Model{}}
}

// Shanghai is China Standard Time, the zone GA/T 1400 times are written in.
func Shanghai() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}

// batcher returns the shared batcher of a model, loading it on first use.
func (w *Worker) batcher(name string) (*Batcher, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b, ok := w.batchers[name]; ok {
		return b, nil
	}
	m, err := models.LoadFromRepository(w.cfg.Repo, name, "", w.cfg.Engine)
	if err != nil {
		return nil, err
	}
	b := NewBatcher(m, w.cfg.BatchWait)
	w.loaded[name], w.batchers[name] = m, b
	return b, nil
}

// Apply makes the running pipelines match plans: new streams start, removed ones
// stop, and a stream whose plan changed restarts (its objects get final records).
func (w *Worker) Apply(plans []StreamPlan) {
	w.mu.Lock()
	want := map[string]StreamPlan{}
	for _, p := range plans {
		if len(p.Tasks) > 0 {
			want[p.Stream.ID] = p
		}
	}
	var stop []*pipeline
	for id, p := range w.pipelines {
		if np, ok := want[id]; !ok || fingerprint(np) != w.applied[id] {
			stop = append(stop, p)
			delete(w.pipelines, id)
			delete(w.applied, id)
		}
	}
	w.mu.Unlock()
	for _, p := range stop { // outside the lock: stopping flushes records
		p.stop()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, p := range want {
		if _, ok := w.pipelines[id]; !ok {
			slog.Info("pipeline start", "stream", id, "tasks", len(p.Tasks))
			w.pipelines[id] = w.startPipeline(p)
			w.applied[id] = fingerprint(p)
		}
	}
}

func fingerprint(p StreamPlan) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// TaskStatus is a task's live numbers.
type TaskStatus struct {
	TaskID     string  `json:"task_id"`
	Algorithm  string  `json:"algorithm"`
	GrantedFPS float64 `json:"granted_fps"`
	Frames     int64   `json:"frames_analysed"`
	Captures   int64   `json:"captures"`
}

// StreamStatus is a stream's decode state and its tasks.
type StreamStatus struct {
	StreamID string        `json:"device_id"`
	Source   source.Status `json:"source"`
	Tasks    []TaskStatus  `json:"tasks"`
}

// Status reports every running pipeline.
func (w *Worker) Status() map[string]StreamStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]StreamStatus{}
	for id, p := range w.pipelines {
		st := StreamStatus{StreamID: id, Source: p.src.Status()}
		for _, t := range p.tasks {
			st.Tasks = append(st.Tasks, TaskStatus{TaskID: t.plan.Task.ID, Algorithm: t.plan.Task.Algorithm, GrantedFPS: t.plan.FPS,
				Frames: t.frames.Load(), Captures: t.captures.Load()})
		}
		out[id] = st
	}
	return out
}

// Batchers reports per-model batching counters.
func (w *Worker) Batchers() []BatchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []BatchStats
	for _, b := range w.batchers {
		out = append(out, b.Stats())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// Close stops every pipeline (flushing final records) and unloads models.
func (w *Worker) Close() error {
	w.Apply(nil)
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	var firstErr error
	for name, b := range w.batchers {
		b.Close()
		if err := w.loaded[name].Close(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("close %s: %w", name, err)
		}
	}
	w.batchers, w.loaded = map[string]*Batcher{}, map[string]*models.Model{}
	return firstErr
}
