package engine

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Options configure a session.
type Options struct {
	Provider       Provider // default ProviderAuto
	IntraOpThreads int      // 0: ONNX Runtime's default (one per core)
	DeviceID       int      // CUDA device ordinal
}

// TensorInfo describes one model input or output. A dimension of -1 is dynamic.
type TensorInfo struct {
	Name  string
	Shape []int64
	Type  string
}

// Tensor is a dense tensor in row-major order, held as float32 whatever the graph's
// element type: Run converts inputs to the graph's type and outputs from it.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// Size returns the element count the shape implies.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= int(d)
	}
	return n
}

// Session is a loaded model ready to run. Run is safe for concurrent use.
type Session struct {
	sess     *ort.DynamicAdvancedSession
	inputs   []TensorInfo
	outputs  []TensorInfo
	provider Provider
	device   int    // CUDA ordinal when provider is cuda
	fallback string // why the session runs on the CPU although CUDA was considered
	mu       sync.Mutex
	closed   bool
}

// Open loads a model from an .onnx file.
func Open(path string, opts Options) (*Session, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	s, err := OpenBytes(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// OpenBytes loads a model from its serialised ONNX bytes.
func OpenBytes(data []byte, opts Options) (*Session, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("not a loadable ONNX model: %w", err)
	}
	s := &Session{inputs: convertInfo(ins), outputs: convertInfo(outs)}
	for _, in := range s.inputs {
		if !inputTypes[in.Type] {
			return nil, fmt.Errorf("input %q has element type %s; CityEye feeds float32, float16, uint8, int8, int32, int64 and double inputs", in.Name, in.Type)
		}
	}
	for _, o := range s.outputs {
		if !outputTypes[o.Type] {
			return nil, fmt.Errorf("output %q has element type %s; CityEye reads float32, double and integer outputs (cast float16 outputs to float32 in the export)", o.Name, o.Type)
		}
	}

	so, provider, reason, err := sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	s.fallback = reason
	defer so.Destroy()
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, names(s.inputs), names(s.outputs), so)
	if err != nil && provider == ProviderCUDA && opts.Provider != ProviderCUDA {
		// The CUDA provider registered but the session could not be built on it
		// (driver/toolkit mismatch, for instance): fall back to CPU, loudly.
		slog.Warn("CUDA session failed; falling back to CPU", "device", opts.DeviceID, "err", err)
		so2, _, _, err2 := sessionOptions(Options{Provider: ProviderCPU, IntraOpThreads: opts.IntraOpThreads})
		if err2 != nil {
			return nil, err2
		}
		defer so2.Destroy()
		provider = ProviderCPU
		s.fallback = fmt.Sprintf("CUDA session on device %d failed: %v", opts.DeviceID, err)
		sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data, names(s.inputs), names(s.outputs), so2)
	}
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	s.sess, s.provider = sess, provider
	if provider == ProviderCUDA {
		s.device = opts.DeviceID
	}
	return s, nil
}

// sessionOptions picks the execution provider and logs the choice with its reason;
// reason is also returned when auto settles for the CPU (why not CUDA).
func sessionOptions(opts Options) (*ort.SessionOptions, Provider, string, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, "", "", err
	}
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			so.Destroy()
			return nil, "", "", err
		}
	}
	want := opts.Provider
	if want == "" {
		want = ProviderAuto
	}
	switch want {
	case ProviderCPU:
		slog.Info("execution provider", "provider", "cpu", "reason", "requested")
		return so, ProviderCPU, "", nil
	case ProviderAuto, ProviderCUDA:
		reason := CUDAMissing()
		if opts.DeviceID < 0 {
			reason = fmt.Sprintf("CUDA device %d is not a device ordinal", opts.DeviceID)
		}
		if reason == "" {
			cuda, err := ort.NewCUDAProviderOptions()
			if err == nil {
				err = cuda.Update(map[string]string{"device_id": fmt.Sprint(opts.DeviceID)})
				if err == nil {
					err = so.AppendExecutionProviderCUDA(cuda)
				}
				cuda.Destroy()
			}
			if err == nil {
				slog.Info("execution provider", "provider", "cuda", "device", opts.DeviceID, "reason", "GPU and CUDA provider present")
				return so, ProviderCUDA, "", nil
			}
			reason = "CUDA provider failed to register: " + err.Error()
		}
		if want == ProviderCUDA {
			so.Destroy()
			return nil, "", "", fmt.Errorf("%w: %s", ErrNoCUDA, reason)
		}
		slog.Info("execution provider", "provider", "cpu", "reason", reason)
		return so, ProviderCPU, reason, nil
	default:
		so.Destroy()
		return nil, "", "", fmt.Errorf("unknown execution provider %q (want auto, cpu or cuda)", want)
	}
}

// Inputs describes the model's inputs in the order Run expects them.
func (s *Session) Inputs() []TensorInfo { return s.inputs }

// Outputs describes the model's outputs in the order Run returns them.
func (s *Session) Outputs() []TensorInfo { return s.outputs }

// Provider is the execution provider the session actually runs on.
func (s *Session) Provider() Provider { return s.provider }

// Device is the CUDA ordinal the session runs on, -1 on the CPU.
func (s *Session) Device() int {
	if s.provider != ProviderCUDA {
		return -1
	}
	return s.device
}

// Fallback says why the session runs on the CPU although CUDA was considered
// (Provider auto): no GPU, no CUDA provider library, a provider or session that
// failed on the device. "" when it runs on CUDA or the CPU was asked for.
func (s *Session) Fallback() string { return s.fallback }

// Run feeds one tensor per input (in Inputs() order) and returns every output.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("model has %d inputs, got %d tensors", len(s.inputs), len(inputs))
	}
	vals := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, in := range inputs {
		if err := checkShape(s.inputs[i], in); err != nil {
			return nil, err
		}
		t, err := newValue(s.inputs[i].Type, in)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", s.inputs[i].Name, err)
		}
		vals[i] = t
	}
	outs := make([]ort.Value, len(s.outputs))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("session is closed")
	}
	err := s.sess.Run(vals, outs)
	s.mu.Unlock()
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	res := make([]Tensor, len(outs))
	for i, v := range outs {
		data, shape, err := floats(v)
		if err != nil {
			return nil, fmt.Errorf("output %q (%s): %w", s.outputs[i].Name, s.outputs[i].Type, err)
		}
		res[i] = Tensor{Shape: append([]int64(nil), shape...), Data: data}
	}
	return res, nil
}

// Close releases the native session. Further Run calls fail.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.sess.Destroy()
}

func checkShape(info TensorInfo, t Tensor) error {
	if len(t.Shape) != len(info.Shape) {
		return fmt.Errorf("input %q: rank %d, model wants shape %v", info.Name, len(t.Shape), info.Shape)
	}
	for i, d := range info.Shape {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("input %q: shape %v, model wants %v", info.Name, t.Shape, info.Shape)
		}
	}
	if t.Size() != len(t.Data) {
		return fmt.Errorf("input %q: shape %v needs %d values, got %d", info.Name, t.Shape, t.Size(), len(t.Data))
	}
	return nil
}

func convertInfo(in []ort.InputOutputInfo) []TensorInfo {
	out := make([]TensorInfo, len(in))
	for i, x := range in {
		out[i] = TensorInfo{Name: x.Name, Shape: append([]int64(nil), x.Dimensions...), Type: elemType(x.DataType)}
	}
	return out
}

func elemType(t ort.TensorElementDataType) string {
	s := strings.ToLower(strings.TrimPrefix(t.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
	if s == "float" {
		return "float32"
	}
	return s
}

func names(infos []TensorInfo) []string {
	n := make([]string, len(infos))
	for i, x := range infos {
		n[i] = x.Name
	}
	return n
}
