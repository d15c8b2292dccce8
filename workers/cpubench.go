package workers

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// CPUBench measures what one core of this machine does with each frame model, per
// batch size: the warehouse benchmark's runs (warehouse.Infer: preprocessing, ONNX
// Runtime, the decoder) on a 1280×720 frame, with one intra-op thread, timed in CPU
// time of the thread that runs them. CPU time rather than wall time: the machine is
// busy with the streams while it measures, and thread CPU time is what one frame
// costs whatever else runs beside it. The heartbeat carries the results (Device
// "cpu", FPS per core) and the planner sizes this worker's CPU with them instead of
// the built-in cost table.
type CPUBench struct {
	Repo models.Repository
	Runs int // timed runs per batch size (default 3)

	mu    sync.Mutex
	done  map[benchKey][]plan.DeviceBench
	spent time.Duration // CPU time the measurements took
}

// Spent is the CPU time the measurements have taken so far, in seconds: process CPU
// that is not the streams' (the heartbeat's CPUSeconds leaves it out).
func (c *CPUBench) Spent() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spent.Seconds()
}

// Run measures every frame model's current version (published, else newest) that
// is installed and not measured yet.
func (c *CPUBench) Run(ctx context.Context) {
	for _, name := range frameModels() {
		man, _, err := c.Repo.Resolve(name, "")
		if err != nil || ctx.Err() != nil {
			continue
		}
		k := benchKey{"cpu", name, man.Version}
		c.mu.Lock()
		_, ok := c.done[k]
		c.mu.Unlock()
		if ok {
			continue
		}
		res := c.measureNiced(name, man.Version)
		c.mu.Lock()
		if c.done == nil {
			c.done = map[benchKey][]plan.DeviceBench{}
		}
		c.done[k] = res
		c.mu.Unlock()
	}
}

// measureNiced measures on a thread of its own at nice 10, so that the benchmark
// takes the CPU the streams (and tests) leave; its thread CPU time is the same
// either way. The thread ends with the measurement (the goroutine exits locked to
// it), so no other goroutine inherits its lower priority.
func (c *CPUBench) measureNiced(name, version string) []plan.DeviceBench {
	done := make(chan []plan.DeviceBench)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 10)
		t0 := source.ThreadCPU()
		res := c.measure(name, version)
		c.mu.Lock()
		c.spent += source.ThreadCPU() - t0
		c.mu.Unlock()
		done <- res
	}()
	return <-done
}

// measure runs on a thread locked to the calling goroutine.
func (c *CPUBench) measure(name, version string) []plan.DeviceBench {
	m, err := models.LoadFromRepository(c.Repo, name, version, engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		slog.Warn("CPU benchmark: model not loaded", "model", name, "err", err)
		return nil
	}
	defer m.Close()
	img := gocv.NewMatWithSize(720, 1280, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0)) // textured: decoders do real work
	runs := c.Runs
	if runs <= 0 {
		runs = 3
	}
	var out []plan.DeviceBench
	for _, n := range []int{1, 2, 4, 8} {
		if n > max(m.MaxBatch(), 1) {
			break
		}
		imgs := make([]gocv.Mat, n)
		for i := range imgs {
			imgs[i] = img
		}
		if _, err := warehouse.Infer(m, imgs); err != nil { // warm-up
			slog.Warn("CPU benchmark failed", "model", name, "batch", n, "err", err)
			return out
		}
		t0 := source.ThreadCPU()
		for range runs {
			if _, err := warehouse.Infer(m, imgs); err != nil {
				slog.Warn("CPU benchmark failed", "model", name, "batch", n, "err", err)
				return out
			}
		}
		perImage := (source.ThreadCPU() - t0) / time.Duration(runs*n)
		if perImage <= 0 {
			continue
		}
		out = append(out, plan.DeviceBench{Device: "cpu", Model: name, Version: version, Provider: "cpu", BatchSize: n, FPS: float64(time.Second) / float64(perImage)})
	}
	slog.Info("CPU benchmark", "model", name, "version", version, "per_core_fps_by_batch", fpsList(out))
	return out
}

// ProcessCPU is this process's CPU time (user + system, all threads) in seconds: the
// heartbeat's CPUSeconds.
func ProcessCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func fpsList(bs []plan.DeviceBench) []float64 {
	out := make([]float64, len(bs))
	for i, b := range bs {
		out[i] = float64(int(b.FPS*10)) / 10
	}
	return out
}

// Results is every measurement so far (one per model and batch size), sorted.
func (c *CPUBench) Results() []plan.DeviceBench {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []plan.DeviceBench
	for _, r := range c.done {
		out = append(out, r...)
	}
	slices.SortFunc(out, func(a, b plan.DeviceBench) int {
		if a.Model != b.Model {
			return strings.Compare(a.Model, b.Model)
		}
		return a.BatchSize - b.BatchSize
	})
	return out
}
