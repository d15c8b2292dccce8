package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/workers/plan"
)

// Config configures a worker.
type Config struct {
	Repo      models.Repository
	Engine    engine.Options
	BatchWait time.Duration  // how long a batch waits for more frames (default 10ms)
	LoopFiles bool           // file:// streams loop like live cameras (demo)
	FastFiles bool           // decode files as fast as possible instead of at native fps (tests)
	Location  *time.Location // for schedules and GA/T 1400 times (default Asia/Shanghai)
	// ModelCheck is how often the worker re-resolves its models to pick up a newly
	// published version (see RefreshModels): default 5s, negative disables the check.
	ModelCheck time.Duration
	// RestrictFiles: file:// streams only under ImportDirs (see source.Options).
	RestrictFiles bool
	ImportDirs    []string
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
	batchers  map[string]*Batcher  // by model name; each serves the version its name resolves to

	opened atomic.Int64 // decoders opened (streams started or reopened), for tests and metrics

	refreshMu sync.Mutex // one RefreshModels at a time, and none while Close unloads
	runner    *runner    // second-stage models for the algorithms
	shadows   shadowSet  // counters of the shadow runs (shadow.go)

	replayStop func()        // ends the spool's replay (nil: no spool)
	replayDone chan struct{} // closed when it has ended
}

// New creates a worker that saves captures through rec.
func New(ctx context.Context, cfg Config, rec *Recorder) *Worker {
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 10 * time.Millisecond
	}
	if cfg.Location == nil {
		cfg.Location = gat1400.Location
	}
	if cfg.ModelCheck == 0 {
		cfg.ModelCheck = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Worker{ctx: ctx, cancel: cancel, cfg: cfg, rec: rec, pipelines: map[string]*pipeline{},
		applied: map[string]string{}, batchers: map[string]*Batcher{}}
	w.runner = &runner{w: w, embeds: models.Loader{Repo: cfg.Repo, Engine: cfg.Engine}}
	if cfg.ModelCheck > 0 {
		go w.checkModels(cfg.ModelCheck)
	}
	if rec != nil && rec.Spool != nil { // writes left by storage outages, this run's or the last's
		// on a context of its own: Close lets it write what the last frames left
		rctx, rcancel := context.WithCancel(context.WithoutCancel(ctx))
		w.replayStop, w.replayDone = rcancel, make(chan struct{})
		go func() { rec.Spool.Run(rctx, rec.replay); close(w.replayDone) }()
	}
	return w
}

// batcher returns the shared batcher of a model on a device, loading it on first
// use: one ONNX Runtime session per (model, device). The key is a model name (the
// version it resolves to: published, else newest; hot-swapped on publish) or
// name@version for a task that pins a version; device is the stream plan's.
func (w *Worker) batcher(key, device string) (*Batcher, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	bk := key
	if device != "" {
		bk += "#" + device
	}
	if b, ok := w.batchers[bk]; ok {
		return b, nil
	}
	name, version, _ := strings.Cut(key, "@")
	m, err := models.LoadFromRepository(w.cfg.Repo, name, version, w.engineFor(device))
	if err != nil {
		return nil, err
	}
	b := NewBatcher(m, w.cfg.BatchWait)
	b.device = device
	w.batchers[bk] = b
	return b, nil
}

// engineFor is the session options of a device: "" keeps the configured ones
// (embedded mode: auto takes GPU 0 when there is one); "cpu" is the CPU whatever
// the configuration, since the planner counted the stream against the CPU; "cuda:N"
// is CUDA on ordinal N, falling back to the CPU with the reason in the batcher's
// status — unless the worker was started with --provider cpu.
func (w *Worker) engineFor(device string) engine.Options {
	o := w.cfg.Engine
	switch {
	case device == "cpu":
		o.Provider = engine.ProviderCPU
	case strings.HasPrefix(device, "cuda:"):
		n, err := strconv.Atoi(strings.TrimPrefix(device, "cuda:"))
		if err != nil || n < 0 {
			n = -1 // not an ordinal: the session says so and runs on the CPU
		}
		o.DeviceID = n
		if o.Provider != engine.ProviderCPU {
			o.Provider = engine.ProviderAuto
		}
	}
	return o
}

// RefreshModels resolves every loaded model's name again (its published version, else
// the newest) and hot-swaps the batchers whose version changed. The new version is
// loaded here, outside the batch loop, while the old one keeps serving; the swap
// happens between two batches and the old version is closed once its last batch is
// done, so streams lose no frame. When resolving or loading fails the old version
// keeps serving and the failure shows in plan.BatchStats.SwapError (and the log). The
// worker calls it every Config.ModelCheck; call it directly right after publishing.
func (w *Worker) RefreshModels() { w.refreshModels(true) }

// refreshModels does RefreshModels; retryFailed=false (the periodic check) does not
// load again a version whose load already failed, since versions are immutable.
func (w *Worker) refreshModels(retryFailed bool) {
	w.refreshMu.Lock()
	defer w.refreshMu.Unlock()
	w.mu.Lock()
	bs := maps.Clone(w.batchers)
	w.mu.Unlock()
	for key, b := range bs {
		if w.ctx.Err() != nil {
			return
		}
		name, device, _ := strings.Cut(key, "#")
		if !strings.Contains(name, "@") { // pinned versions never move
			w.refreshModel(name, device, b, retryFailed)
		}
	}
}

func (w *Worker) refreshModel(name, device string, b *Batcher, retryFailed bool) {
	cur := b.Model().Manifest.Version
	m, dir, err := w.cfg.Repo.Resolve(name, "")
	if err != nil {
		err = fmt.Errorf("resolve %s: %w (still serving %s@%s)", name, err, name, cur)
		if b.swapFailed("", err) {
			slog.Error("model check failed", "model", name, "serving", cur, "err", err)
		}
		return
	}
	if m.Version == cur {
		b.swapOK()
		return
	}
	if !retryFailed && b.failedVersion() == m.Version {
		return
	}
	start := time.Now()
	next, err := models.Load(dir, w.engineFor(device))
	if err == nil && next.Manifest.Version != m.Version { // the folder changed under us
		next.Close()
		err = fmt.Errorf("folder holds version %s", next.Manifest.Version)
	}
	if err != nil {
		err = fmt.Errorf("load %s@%s: %w (still serving %s@%s)", name, m.Version, err, name, cur)
		b.swapFailed(m.Version, err)
		slog.Error("model swap failed", "model", name, "serving", cur, "wanted", m.Version, "err", err)
		return
	}
	old, err := b.Swap(next)
	if err != nil { // the batcher was closed meanwhile
		next.Close()
		return
	}
	b.swapOK()
	if err := old.Close(); err != nil {
		slog.Warn("closing replaced model", "model", name, "version", old.Manifest.Version, "err", err)
	}
	slog.Info("model swapped", "model", name, "from", cur, "to", m.Version, "load", time.Since(start).Round(time.Millisecond))
}

// checkModels runs the periodic model check until the worker closes.
func (w *Worker) checkModels(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			w.refreshModels(false)
		}
	}
}

// Apply makes the running pipelines match plans: new streams start, removed ones stop
// (their objects get final records), and a stream whose plan changed is updated in
// place: added tasks start, removed ones finish, changed fps or grants keep the task's
// tracker, and the decoder stays open. Only a new URL reopens the stream.
func (w *Worker) Apply(plans []plan.StreamPlan) {
	w.mu.Lock()
	want := map[string]plan.StreamPlan{}
	for _, p := range plans {
		if len(p.Tasks) > 0 {
			want[p.Stream.ID] = p
		}
	}
	var stop []*pipeline
	for id, p := range w.pipelines {
		np, ok := want[id]
		switch {
		case !ok || streamKey(np) != p.key:
			stop = append(stop, p)
			delete(w.pipelines, id)
			delete(w.applied, id)
		case fingerprint(np) != w.applied[id]:
			p.update(np)
			w.applied[id] = fingerprint(np)
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

func fingerprint(p plan.StreamPlan) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// Status reports every running pipeline.
func (w *Worker) Status() map[string]plan.StreamStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]plan.StreamStatus{}
	for id, p := range w.pipelines {
		st := plan.StreamStatus{StreamID: id, Source: p.src.Status()}
		p.mu.Lock()
		st.Device = p.plan.Device
		for _, t := range p.tasks {
			st.Tasks = append(st.Tasks, plan.TaskStatus{TaskID: t.plan.Task.ID, Algorithm: t.plan.Task.Algorithm, GrantedFPS: t.plan.FPS,
				Frames: t.frames.Load(), Captures: t.captures.Load(), Alerts: t.alerts.Load()})
		}
		p.mu.Unlock()
		out[id] = st
	}
	return out
}

// Spool reports the recorder's spool; nil when it has none.
func (w *Worker) Spool() *plan.SpoolStats {
	if w.rec == nil || w.rec.Spool == nil {
		return nil
	}
	st := w.rec.Spool.Stats()
	return &st
}

// Batchers reports per-model batching counters.
func (w *Worker) Batchers() []plan.BatchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []plan.BatchStats
	for _, b := range w.batchers {
		out = append(out, b.Stats())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// Close stops every pipeline (flushing final records), gives the spool up to
// spoolDrain to write what waits in it (the captures a stop interrupted, above
// all), and unloads models. What the spool still holds is written at the next start.
func (w *Worker) Close() error {
	w.Apply(nil)
	if w.replayStop != nil {
		w.rec.Spool.waitEmpty(spoolDrain)
		w.replayStop()
		<-w.replayDone
	}
	w.cancel()
	w.refreshMu.Lock() // wait for a model check in progress
	defer w.refreshMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	var firstErr error
	for name, b := range w.batchers {
		b.Close()
		if err := b.Model().Close(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("close %s: %w", name, err)
		}
	}
	w.batchers = map[string]*Batcher{}
	w.runner.close()
	return firstErr
}
