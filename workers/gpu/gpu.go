// Package gpu is a worker's inventory of NVIDIA GPUs, read through NVML
// (github.com/NVIDIA/go-nvml, which loads libnvidia-ml at run time: the binary needs
// no driver to build or start). A host without the driver, without a GPU, or whose
// NVML fails reports an empty list and the reason, never an error: the worker then
// runs as a CPU-only worker.
package gpu

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/cityeye/cityeye/workers/plan"
)

// NVML is the part of go-nvml's nvml.Interface the inventory calls; nvml.New()
// satisfies it, and tests pass go-nvml's mock.Interface.
type NVML interface {
	Init() nvml.Return
	Shutdown() nvml.Return
	DeviceGetCount() (int, nvml.Return)
	DeviceGetHandleByIndex(int) (nvml.Device, nvml.Return)
	SystemGetDriverVersion() (string, nvml.Return)
	SystemGetCudaDriverVersion() (int, nvml.Return)
}

// Inventory lists the GPUs of this host. NVML is initialised on first use and kept
// open (utilisation is read on every List); a failed Init is final and calls
// nothing else in the library (go-nvml resolves symbols lazily: calling into a
// library that never loaded kills the process).
type Inventory struct {
	lib    NVML
	mu     sync.Mutex
	inited bool
	reason string // why the list is empty, once known
}

// New returns the inventory of the real NVML (libnvidia-ml.so.1, found by the
// dynamic loader).
func New() *Inventory { return &Inventory{lib: nvml.New()} }

// NewWith returns an inventory over lib (a fake in tests).
func NewWith(lib NVML) *Inventory { return &Inventory{lib: lib} }

// List reports every GPU with its current memory use and utilisation, or an empty
// list when there is none or NVML cannot tell (Reason says why). A device that
// fails to answer is left out and logged; the others are still reported.
func (v *Inventory) List() []plan.GPU {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.inited {
		if v.reason != "" {
			return []plan.GPU{}
		}
		if r := v.lib.Init(); r != nvml.SUCCESS {
			v.reason = "NVML unavailable: " + describe(r)
			slog.Info("no GPU inventory", "reason", v.reason)
			return []plan.GPU{}
		}
		v.inited = true
	}
	n, r := v.lib.DeviceGetCount()
	if r != nvml.SUCCESS {
		v.setReason("NVML device count: " + describe(r))
		return []plan.GPU{}
	}
	if n == 0 {
		v.setReason("NVML reports no GPU")
		return []plan.GPU{}
	}
	driver, _ := v.lib.SystemGetDriverVersion()
	cuda := ""
	if c, r := v.lib.SystemGetCudaDriverVersion(); r == nvml.SUCCESS && c > 0 {
		cuda = fmt.Sprintf("%d.%d", c/1000, c%1000/10)
	}
	out := make([]plan.GPU, 0, n)
	for i := range n {
		g, err := v.device(i)
		if err != nil {
			slog.Warn("GPU left out of the inventory", "index", i, "err", err)
			continue
		}
		g.Driver, g.CUDA = driver, cuda
		out = append(out, g)
	}
	if len(out) > 0 {
		v.reason = ""
	}
	return out
}

// Reason says why the last List was empty ("" when it was not).
func (v *Inventory) Reason() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.reason
}

// Close shuts NVML down if it was initialised.
func (v *Inventory) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.inited {
		v.lib.Shutdown()
		v.inited = false
	}
}

func (v *Inventory) setReason(r string) {
	if r != v.reason {
		slog.Info("no GPU inventory", "reason", r)
	}
	v.reason = r
}

// device reads one GPU. Name and memory are required; utilisation and engine
// counts are best effort (NOT_SUPPORTED on some boards and on MIG slices).
func (v *Inventory) device(i int) (plan.GPU, error) {
	d, r := v.lib.DeviceGetHandleByIndex(i)
	if r != nvml.SUCCESS {
		return plan.GPU{}, fmt.Errorf("handle: %s", describe(r))
	}
	name, r := d.GetName()
	if r != nvml.SUCCESS {
		return plan.GPU{}, fmt.Errorf("name: %s", describe(r))
	}
	mem, r := d.GetMemoryInfo()
	if r != nvml.SUCCESS {
		return plan.GPU{}, fmt.Errorf("memory: %s", describe(r))
	}
	g := plan.GPU{Index: i, Model: name, MemoryMB: int(mem.Total >> 20), UsedMB: int(mem.Used >> 20)}
	if uuid, r := d.GetUUID(); r == nvml.SUCCESS {
		g.UUID = uuid
	}
	if u, r := d.GetUtilizationRates(); r == nvml.SUCCESS {
		g.UtilGPU, g.UtilMemory = int(u.Gpu), int(u.Memory)
	}
	if u, _, r := d.GetDecoderUtilization(); r == nvml.SUCCESS {
		g.UtilDecoder = int(u)
	}
	if u, _, r := d.GetEncoderUtilization(); r == nvml.SUCCESS {
		g.UtilEncoder = int(u)
	}
	// NVML reports engine counts for MIG slices only; a whole GPU is looked up.
	if a, r := d.GetAttributes(); r == nvml.SUCCESS && a.SharedDecoderCount > 0 {
		g.NVDEC, g.NVENC, g.EnginesFrom = int(a.SharedDecoderCount), int(a.SharedEncoderCount), "nvml"
	} else {
		g.NVDEC, g.NVENC, g.EnginesFrom = Engines(name)
	}
	return g, nil
}

// describe names an NVML return code without calling into the library (its
// nvmlErrorString is not there when the library did not load).
func describe(r nvml.Return) string {
	switch r {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return "libnvidia-ml.so.1 not found (no NVIDIA driver)"
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return "NVIDIA driver not loaded"
	case nvml.ERROR_NO_PERMISSION:
		return "no permission to the GPU devices"
	case nvml.ERROR_NOT_SUPPORTED:
		return "not supported"
	}
	return fmt.Sprintf("NVML error %d", int32(r))
}

// engineTable lists NVDEC and NVENC engines per GPU model (NVIDIA's Video Encode
// and Decode GPU Support Matrix), matched on a word of NVML's name.
var engineTable = map[string][2]int{
	"B200": {7, 0}, "H200": {7, 0}, "H100": {7, 0}, "H800": {7, 0}, "GH200": {7, 0},
	"A100": {5, 0}, "A800": {5, 0}, "A30": {4, 0},
	"L40S": {3, 3}, "L40": {3, 3}, "L4": {4, 2},
	"A40": {2, 1}, "A10": {2, 1}, "A2": {2, 1}, "A16": {2, 1}, // A16: per GPU of the board's four
	"T4": {2, 1}, "V100": {1, 3},
}

// Engines looks up a GPU model's NVDEC and NVENC engine counts; a model missing
// from the table is assumed to have one NVDEC and no NVENC (from says "assumed").
func Engines(model string) (nvdec, nvenc int, from string) {
	for _, w := range strings.FieldsFunc(strings.ToUpper(model), func(r rune) bool { return r == ' ' || r == '-' || r == '_' }) {
		if e, ok := engineTable[w]; ok {
			return e[0], e[1], "table"
		}
	}
	return 1, 0, "assumed"
}
