package workers

import (
	"context"
	"testing"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
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
