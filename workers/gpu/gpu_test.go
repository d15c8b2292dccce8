package gpu

import (
	"os"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

// fakeNVML is go-nvml's generated mock with n devices of the given names; every
// device answers memory, utilisation and (MIG slices) engine counts.
func fakeNVML(names []string, mig map[int][2]uint32) *mock.Interface {
	devs := make([]nvml.Device, len(names))
	for i, name := range names {
		devs[i] = &mock.Device{
			GetNameFunc:       func() (string, nvml.Return) { return name, nvml.SUCCESS },
			GetUUIDFunc:       func() (string, nvml.Return) { return "GPU-" + name, nvml.SUCCESS },
			GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 80 << 30, Used: 1 << 30}, nvml.SUCCESS },
			GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
				return nvml.Utilization{Gpu: uint32(10 * (i + 1)), Memory: 5}, nvml.SUCCESS
			},
			GetDecoderUtilizationFunc: func() (uint32, uint32, nvml.Return) { return 40, 167000, nvml.SUCCESS },
			GetEncoderUtilizationFunc: func() (uint32, uint32, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED },
			GetAttributesFunc: func() (nvml.DeviceAttributes, nvml.Return) {
				if e, ok := mig[i]; ok {
					return nvml.DeviceAttributes{SharedDecoderCount: e[0], SharedEncoderCount: e[1]}, nvml.SUCCESS
				}
				return nvml.DeviceAttributes{}, nvml.ERROR_NOT_SUPPORTED
			},
		}
	}
	return &mock.Interface{
		InitFunc:                       func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:                   func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc:             func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc:     func(i int) (nvml.Device, nvml.Return) { return devs[i], nvml.SUCCESS },
		SystemGetDriverVersionFunc:     func() (string, nvml.Return) { return "550.54.15", nvml.SUCCESS },
		SystemGetCudaDriverVersionFunc: func() (int, nvml.Return) { return 12040, nvml.SUCCESS },
	}
}

func TestInventoryReportsEachGPU(t *testing.T) {
	lib := fakeNVML([]string{"NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3 MIG 3g.40gb", "Mystery GPU"}, map[int][2]uint32{2: {3, 0}})
	inv := NewWith(lib)
	defer inv.Close()
	gs := inv.List()
	if len(gs) != 4 {
		t.Fatalf("got %d GPUs: %+v", len(gs), gs)
	}
	h := gs[0]
	if h.DeviceID() != "cuda:0" || h.Model != "NVIDIA H100 80GB HBM3" || h.MemoryMB != 80<<10 || h.UsedMB != 1<<10 ||
		h.NVDEC != 7 || h.NVENC != 0 || h.EnginesFrom != "table" || h.UtilGPU != 10 || h.UtilDecoder != 40 || h.Driver != "550.54.15" || h.CUDA != "12.4" {
		t.Errorf("H100: %+v", h)
	}
	if a := gs[1]; a.DeviceID() != "cuda:1" || a.NVDEC != 5 || a.EnginesFrom != "table" || a.UtilGPU != 20 {
		t.Errorf("A100 (name with dashes): %+v", a)
	}
	if m := gs[2]; m.NVDEC != 3 || m.EnginesFrom != "nvml" {
		t.Errorf("MIG slice: engines from NVML, got %+v", m)
	}
	if u := gs[3]; u.NVDEC != 1 || u.EnginesFrom != "assumed" {
		t.Errorf("unknown model: %+v", u)
	}
	if len(lib.InitCalls()) != 1 {
		t.Errorf("NVML initialised %d times", len(lib.InitCalls()))
	}
	inv.List() // utilisation is read again, NVML stays open
	if len(lib.InitCalls()) != 1 || len(lib.DeviceGetCountCalls()) != 2 {
		t.Errorf("second List: %d inits, %d counts", len(lib.InitCalls()), len(lib.DeviceGetCountCalls()))
	}
}

// No driver: an empty list and a reason, and nothing else is called in the library
// (go-nvml would kill the process resolving a symbol of a library that never loaded).
func TestInventoryWithoutDriver(t *testing.T) {
	lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	inv := NewWith(lib)
	for range 2 {
		if gs := inv.List(); gs == nil || len(gs) != 0 {
			t.Fatalf("want an empty, non-nil list, got %#v", gs)
		}
	}
	if len(lib.InitCalls()) != 1 || inv.Reason() != "NVML unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver)" {
		t.Fatalf("%d inits, reason %q", len(lib.InitCalls()), inv.Reason())
	}
	inv.Close() // must not call Shutdown on a library that did not load

	// a driver but no device, and a device that fails, are not errors either
	empty := fakeNVML(nil, nil)
	if gs := NewWith(empty).List(); len(gs) != 0 {
		t.Fatalf("no device: %+v", gs)
	}
	broken := fakeNVML([]string{"NVIDIA L4", "NVIDIA L4"}, nil)
	broken.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i == 0 {
			return nil, nvml.ERROR_GPU_IS_LOST
		}
		return fakeNVML([]string{"NVIDIA L4"}, nil).DeviceGetHandleByIndexFunc(0)
	}
	gs := NewWith(broken).List()
	if len(gs) != 1 || gs[0].Index != 1 || gs[0].NVDEC != 4 || gs[0].NVENC != 2 {
		t.Fatalf("one lost GPU of two: %+v", gs)
	}
}

// The real NVML: on a host without the driver the list is empty (this is what the
// worker reports here); with one, every GPU has a model and memory.
func TestInventoryRealNVML(t *testing.T) {
	inv := New()
	defer inv.Close()
	gs := inv.List()
	if _, err := os.Stat("/proc/driver/nvidia"); err != nil {
		if len(gs) != 0 || inv.Reason() == "" {
			t.Fatalf("no driver here, yet %+v (reason %q)", gs, inv.Reason())
		}
		t.Skipf("no NVIDIA driver (/proc/driver/nvidia): real NVML inventory untested; reason reported: %s", inv.Reason())
	}
	for _, g := range gs {
		if g.Model == "" || g.MemoryMB == 0 {
			t.Errorf("incomplete %+v", g)
		}
		t.Logf("%s: %+v", g.DeviceID(), g)
	}
}
