package workers

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/workers/plan"
)

// GPUBench runs the warehouse benchmark of the frame models on this worker's GPUs —
// one GPU of each model of card, since cards of one model perform alike — and keeps
// the results for the heartbeat: the planner sizes every GPU of that model with
// them. The warehouse's own validation run measures the machine that validates
// (usually a CPU-only server); this is the run "on that device class".
type GPUBench struct {
	Repo   models.Repository
	Engine engine.Options // its IntraOpThreads apply; the provider is CUDA on each GPU
	Time   time.Duration  // per batch size (default 1 s)

	mu   sync.Mutex
	done map[benchKey]plan.DeviceBench
}

type benchKey struct{ device, model, version string }

// frameModels names the models the registered algorithms batch on full frames: the
// ones the planner costs.
func frameModels() []string {
	var out []string
	for _, a := range algorithms.Names() {
		s, _ := algorithms.Lookup(a)
		for _, m := range s.Models {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Run measures what is not measured yet: every frame model's current version
// (published, else newest) present in the repository, on each model of card in
// gpus. A model that does not load, or whose session falls back to the CPU, is
// recorded with what happened (Provider "cpu" is ignored by the planner) and not
// tried again until its version changes.
func (g *GPUBench) Run(ctx context.Context, gpus []plan.GPU) {
	classes := map[string]int{} // GPU model → first ordinal
	for _, gp := range gpus {
		if _, ok := classes[gp.Model]; !ok {
			classes[gp.Model] = gp.Index
		}
	}
	for _, name := range frameModels() {
		man, _, err := g.Repo.Resolve(name, "")
		if err != nil {
			continue // not installed on this worker
		}
		for class, ord := range classes {
			k := benchKey{class, name, man.Version}
			g.mu.Lock()
			_, ok := g.done[k]
			g.mu.Unlock()
			if ok || ctx.Err() != nil {
				continue
			}
			r := g.measure(name, man.Version, class, ord)
			g.mu.Lock()
			if g.done == nil {
				g.done = map[benchKey]plan.DeviceBench{}
			}
			g.done[k] = r
			g.mu.Unlock()
		}
	}
}

func (g *GPUBench) measure(name, version, class string, ordinal int) plan.DeviceBench {
	r := plan.DeviceBench{Device: class, Model: name, Version: version, Provider: "cpu"}
	opts := g.Engine
	opts.Provider, opts.DeviceID = engine.ProviderAuto, ordinal
	m, err := models.LoadFromRepository(g.Repo, name, version, opts)
	if err != nil {
		slog.Warn("GPU benchmark: model not loaded", "model", name, "gpu", class, "err", err)
		return r
	}
	defer m.Close()
	r.Provider = string(m.Provider())
	if m.Provider() != engine.ProviderCUDA {
		slog.Warn("GPU benchmark: no CUDA session, the GPU is not sized for this model", "model", name, "gpu", class, "reason", m.Fallback())
		return r
	}
	d := g.Time
	if d <= 0 {
		d = time.Second
	}
	res, err := warehouse.Benchmark(m, func(int) string { return class }, d, nil)
	if err != nil {
		slog.Warn("GPU benchmark failed", "model", name, "gpu", class, "err", err)
		return r
	}
	for _, b := range res { // the fastest batch size: the batcher fills batches under load
		if b.FPS > r.FPS {
			r.FPS, r.BatchSize = b.FPS, b.BatchSize
		}
	}
	slog.Info("GPU benchmark", "model", name, "version", version, "gpu", class, "fps", r.FPS, "batch", r.BatchSize)
	return r
}

// Results is every measurement so far, sorted.
func (g *GPUBench) Results() []plan.DeviceBench {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]plan.DeviceBench, 0, len(g.done))
	for _, r := range g.done {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b plan.DeviceBench) int {
		if a.Device != b.Device {
			return strings.Compare(a.Device, b.Device)
		}
		return strings.Compare(a.Model, b.Model)
	})
	return out
}
