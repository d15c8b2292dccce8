package workers

import (
	"context"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/workers/plan"
)

// One session per (model, device): a GPU-placed stream's batcher is opened on that
// ordinal and, on a host without CUDA, runs on the CPU saying why; the CPU device
// never takes the GPU, whatever the worker's provider setting.
func TestBatcherPerDevice(t *testing.T) {
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	installTiny(t, repo, "1", constantDetector(t, 0.6))
	w := New(context.Background(), Config{Repo: repo, Engine: engine.Options{IntraOpThreads: 1}, ModelCheck: -1}, nil)
	defer w.Close()
	gpu, err := w.batcher(tinyModel, "cuda:1")
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := w.batcher(tinyModel, "cpu")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := w.batcher(tinyModel, "cuda:1")
	if gpu == cpu || again != gpu {
		t.Fatal("batchers are not one per (model, device)")
	}
	gs, cs := gpu.Stats(), cpu.Stats()
	if cs.Device != "cpu" || cs.Provider != "cpu" || cs.Fallback != "" {
		t.Errorf("cpu batcher: %+v", cs)
	}
	if missing := engine.CUDAMissing(); missing != "" {
		if gs.Device != "cuda:1" || gs.Provider != "cpu" || gs.Fallback != missing {
			t.Errorf("cuda:1 batcher without CUDA: %+v, want the CPU and %q", gs, missing)
		}
	} else if gs.Provider != "cuda" && gs.Fallback == "" {
		t.Errorf("cuda:1 on a CUDA host: %+v", gs)
	}
	if o := w.engineFor("cuda:x"); o.DeviceID != -1 {
		t.Errorf("a device that is no ordinal: %+v", o)
	}
}

// The GPU benchmark measures each frame model once per model of card, records the
// class and what the session ran on; without CUDA (here) nothing is sized.
func TestGPUBenchPerDeviceClass(t *testing.T) {
	g := &GPUBench{Repo: testdata.Repository(), Engine: engine.Options{IntraOpThreads: 1}, Time: 20 * time.Millisecond}
	gpus := []plan.GPU{{Index: 0, Model: "Card A"}, {Index: 1, Model: "Card A"}, {Index: 2, Model: "Card B"}}
	g.Run(context.Background(), gpus)
	res := g.Results()
	installed := 0
	for _, m := range frameModels() {
		if _, _, err := g.Repo.Resolve(m, ""); err == nil {
			installed++
		}
	}
	if len(res) != 2*installed || installed == 0 {
		t.Fatalf("%d results for %d installed frame models on 2 classes: %+v", len(res), installed, res)
	}
	cuda := engine.CUDAMissing() == ""
	for _, r := range res {
		if r.Device != "Card A" && r.Device != "Card B" || r.Version == "" {
			t.Errorf("%+v", r)
		}
		if !cuda && (r.Provider != "cpu" || r.FPS != 0) {
			t.Errorf("sized without CUDA: %+v", r)
		}
		if cuda && (r.Provider != "cuda" || r.FPS <= 0 || r.BatchSize < 1) {
			t.Errorf("on CUDA: %+v", r)
		}
	}
	start := time.Now()
	g.Run(context.Background(), gpus) // nothing new to measure
	if len(g.Results()) != len(res) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("second run measured again (%s)", time.Since(start))
	}
}

// The CPU benchmark measures every installed frame model per batch size up to its
// max_batch, in frames/s per core from thread CPU time; nanodet costs more per frame
// than blazeface, and batching does not make a frame dearer than alone by much.
func TestCPUBenchPerBatchSize(t *testing.T) {
	c := &CPUBench{Repo: testdata.Repository(), Runs: 1}
	c.Run(context.Background())
	per := map[string]map[int]float64{}
	for _, r := range c.Results() {
		if r.Device != "cpu" || r.Provider != "cpu" || r.Version == "" || r.FPS <= 0 {
			t.Errorf("%+v", r)
		}
		if per[r.Model] == nil {
			per[r.Model] = map[int]float64{}
		}
		per[r.Model][r.BatchSize] = r.FPS
	}
	nano, face := per["nanodet"], per["blazeface-back"]
	if len(nano) != 4 || nano[1] <= 0 || face[1] <= 0 {
		t.Fatalf("nanodet (max_batch 8) by batch size: %v; blazeface-back: %v", nano, face)
	}
	t.Logf("frames/s per core by batch size: nanodet %v, blazeface-back %v", nano, face)
	if nano[1] >= face[1] {
		t.Errorf("nanodet %.1f frames/s per core, blazeface-back %.1f: nanodet is the larger model", nano[1], face[1])
	}
	if nano[8] < nano[1]*0.7 {
		t.Errorf("nanodet at batch 8 %.1f frames/s per core against %.1f alone", nano[8], nano[1])
	}
	n := len(c.Results())
	c.Run(context.Background()) // measured already: nothing new
	if len(c.Results()) != n {
		t.Errorf("%d results after a second run, %d before", len(c.Results()), n)
	}
}
