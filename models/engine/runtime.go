// Package engine runs ONNX models on ONNX Runtime through onnxruntime_go.
//
// It owns three concerns and nothing else: finding and initialising the ONNX Runtime
// shared library once per process, choosing an execution provider (CUDA when a GPU and
// the CUDA provider are present, else CPU), and running float32 tensors through a
// session. Pre- and post-processing live in models/preprocess and models/decode.
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime release whose shared library .ci/setup.sh installs
// from the npm package onnxruntime-node.
const ORTVersion = "1.24.3"

var (
	initOnce sync.Once
	initErr  error
	libPath  string
)

// Home is CityEye's cache directory: $CITYEYE_HOME, else ~/.cache/cityeye. Setup puts
// the ONNX Runtime library, the model repository and the test media there.
func Home() string {
	if h := os.Getenv("CITYEYE_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "cityeye")
	}
	return filepath.Join(os.TempDir(), "cityeye")
}

// LibraryPath finds libonnxruntime: $CITYEYE_ORT_LIB if set, else the copy setup
// installed under Home(), else the system's.
func LibraryPath() (string, error) {
	if p := os.Getenv("CITYEYE_ORT_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CITYEYE_ORT_LIB=%s: %w", p, err)
		}
		return p, nil
	}
	candidates := []string{
		filepath.Join(Home(), "onnxruntime", ORTVersion, "libonnxruntime.so.1"),
		"/usr/local/lib/libonnxruntime.so",
		"/usr/lib/libonnxruntime.so",
		"/opt/onnxruntime/lib/libonnxruntime.so",
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("ONNX Runtime library not found (looked in %v): run `make setup` or set CITYEYE_ORT_LIB", candidates)
}

// Init loads ONNX Runtime once per process. It is safe to call from many goroutines.
func Init() error {
	initOnce.Do(func() {
		p, err := LibraryPath()
		if err != nil {
			initErr = err
			return
		}
		libPath = p
		ort.SetSharedLibraryPath(p)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("initialise ONNX Runtime from %s: %w", p, err)
			return
		}
		slog.Debug("onnxruntime loaded", "path", p, "version", ort.GetVersion())
	})
	return initErr
}

// Version reports the loaded ONNX Runtime version, or "" before Init.
func Version() string {
	if Init() != nil {
		return ""
	}
	return ort.GetVersion()
}

// Provider names an execution provider.
type Provider string

const (
	ProviderAuto Provider = "auto" // CUDA if usable, else CPU
	ProviderCPU  Provider = "cpu"
	ProviderCUDA Provider = "cuda"
)

// ErrNoCUDA is returned when CUDA is requested explicitly but cannot be used.
var ErrNoCUDA = errors.New("CUDA execution provider unavailable")

// gpuPresent reports whether an NVIDIA GPU device node exists; the CUDA provider is
// tried only then, so CPU-only hosts never pay for a failing CUDA probe. Which
// ordinal exists is CUDA's to say (CUDA_VISIBLE_DEVICES renumbers): a device that
// does not exist fails at session creation and auto falls back with that reason.
func gpuPresent() bool {
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return len(m) > 0
}

// cudaProviderLibrary reports whether libonnxruntime_providers_cuda.so sits beside the
// loaded runtime (ONNX Runtime loads it from there; the npm CPU build does not ship it).
func cudaProviderLibrary() (string, bool) {
	p := filepath.Join(filepath.Dir(libPath), "libonnxruntime_providers_cuda.so")
	_, err := os.Stat(p)
	return p, err == nil
}

// CUDAMissing names what this host lacks for the CUDA execution provider — "" when
// a GPU and the provider library are there (whether a session then builds on a
// given device is only known by trying). Tests of CUDA paths skip with it.
func CUDAMissing() string {
	if !gpuPresent() {
		return "no NVIDIA GPU device (/dev/nvidia0, …)"
	}
	if err := Init(); err != nil {
		return err.Error()
	}
	if lib, ok := cudaProviderLibrary(); !ok {
		return "CUDA provider library missing: " + filepath.Base(lib) + " beside " + filepath.Base(libPath)
	}
	return ""
}
