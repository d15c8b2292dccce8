package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/engine"
)

func blazeface(t *testing.T) string {
	p := filepath.Join(engine.Home(), "models", "blazeface-front", "1.2.0", "model.onnx")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%v: run `make setup`", err)
	}
	return p
}

func TestSessionDescribesAndRuns(t *testing.T) {
	s, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := s.Inputs()
	if len(in) != 1 || in[0].Name != "input:0" || in[0].Type != "float32" || len(in[0].Shape) != 4 || in[0].Shape[3] != 3 {
		t.Fatalf("inputs %+v", in)
	}
	if len(s.Outputs()) != 4 || s.Provider() != engine.ProviderCPU {
		t.Fatalf("outputs %+v provider %s", s.Outputs(), s.Provider())
	}
	outs, err := s.Run([]engine.Tensor{{Shape: []int64{1, 128, 128, 3}, Data: make([]float32, 128*128*3)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 4 || outs[0].Size() != 512 || outs[2].Size() != 512*16 || len(outs[3].Data) != 384*16 {
		t.Fatalf("output shapes %v %v %v %v", outs[0].Shape, outs[1].Shape, outs[2].Shape, outs[3].Shape)
	}
	// wrong shape and wrong count are clear errors, not crashes
	if _, err := s.Run([]engine.Tensor{{Shape: []int64{1, 64, 64, 3}, Data: make([]float32, 64*64*3)}}); err == nil || !strings.Contains(err.Error(), "model wants") {
		t.Fatalf("bad shape: %v", err)
	}
	if _, err := s.Run(nil); err == nil {
		t.Fatal("missing input accepted")
	}
	s.Close()
	if _, err := s.Run([]engine.Tensor{{Shape: []int64{1, 128, 128, 3}, Data: make([]float32, 128*128*3)}}); err == nil {
		t.Fatal("run after close succeeded")
	}
}

func TestOpenRejectsGarbage(t *testing.T) {
	if _, err := engine.OpenBytes([]byte("not onnx"), engine.Options{}); err == nil || !strings.Contains(err.Error(), "ONNX") {
		t.Fatalf("garbage model: %v", err)
	}
	if _, err := engine.Open(blazeface(t), engine.Options{Provider: "tpu"}); err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Fatalf("unknown provider: %v", err)
	}
}

// On a machine without an NVIDIA GPU, asking for CUDA explicitly is an error that says
// why, and "auto" quietly uses the CPU.
func TestProviderChoice(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Log("GPU present: CUDA path exercised instead")
		s, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderAuto})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("auto chose %s", s.Provider())
		s.Close()
		return
	}
	_, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderCUDA})
	if !errors.Is(err, engine.ErrNoCUDA) || !strings.Contains(err.Error(), "no NVIDIA GPU") {
		t.Fatalf("cuda on CPU host: %v", err)
	}
	s, err := engine.Open(blazeface(t), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Provider() != engine.ProviderCPU {
		t.Fatalf("auto chose %s", s.Provider())
	}
}

// Auto on a CUDA device falls back to the CPU and says why; the ordinal is only
// kept when the session really runs on CUDA.
func TestAutoFallbackReason(t *testing.T) {
	missing := engine.CUDAMissing()
	if missing == "" {
		t.Skip("GPU and CUDA provider present: TestCUDASessionPerDevice covers this host")
	}
	s, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderAuto, DeviceID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Provider() != engine.ProviderCPU || s.Device() != -1 || s.Fallback() != missing {
		t.Fatalf("provider %s device %d fallback %q, want cpu, -1, %q", s.Provider(), s.Device(), s.Fallback(), missing)
	}
	c, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Fallback() != "" {
		t.Fatalf("cpu asked for, yet fallback %q", c.Fallback())
	}
}

// One session per (model, device): each runs on the ordinal it was opened on.
func TestCUDASessionPerDevice(t *testing.T) {
	if missing := engine.CUDAMissing(); missing != "" {
		t.Skip("CUDA execution provider untested on this host: " + missing)
	}
	s, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderCUDA, DeviceID: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Provider() != engine.ProviderCUDA || s.Device() != 0 {
		t.Fatalf("provider %s device %d", s.Provider(), s.Device())
	}
	if _, err := s.Run([]engine.Tensor{{Shape: []int64{1, 128, 128, 3}, Data: make([]float32, 128*128*3)}}); err != nil {
		t.Fatal(err)
	}
	// an ordinal past the last GPU: auto falls back with the reason, cuda refuses
	a, err := engine.Open(blazeface(t), engine.Options{Provider: engine.ProviderAuto, DeviceID: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Provider() != engine.ProviderCPU || a.Fallback() == "" {
		t.Fatalf("device 64: provider %s fallback %q", a.Provider(), a.Fallback())
	}
}
