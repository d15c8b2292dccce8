package warehouse_test

import (
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/testdata"
)

// The benchmark records the device class and provider it measured with every
// result, so the scheduler sizes a device only with results of its own class.
func TestBenchmarkRecordsDevice(t *testing.T) {
	m, err := models.LoadFromRepository(testdata.Repository(), "blazeface-front", "", engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := warehouse.Benchmark(m, func(int) string { t.Error("a CPU run asked for a GPU name"); return "" }, 10*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Device != "cpu" || r.Provider != "cpu" || r.FPS <= 0 {
			t.Errorf("%+v", r)
		}
	}
}

// On CUDA the result names the GPU model the inventory reports for the ordinal.
func TestBenchmarkRecordsGPUModel(t *testing.T) {
	if missing := engine.CUDAMissing(); missing != "" {
		t.Skip("CUDA benchmark untested on this host: " + missing)
	}
	m, err := models.LoadFromRepository(testdata.Repository(), "blazeface-front", "", engine.Options{Provider: engine.ProviderCUDA, DeviceID: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := warehouse.Benchmark(m, func(i int) string { return "GPU model of ordinal 0" }, 10*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Device != "GPU model of ordinal 0" || res[0].Provider != "cuda" {
		t.Errorf("%+v", res[0])
	}
}
