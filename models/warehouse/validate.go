package warehouse

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
)

// Report is what validation found: each check with its outcome.
type Report struct {
	Passed bool   `json:"passed"`
	Checks []Step `json:"checks"`
}

// Step is one validation step's outcome.
type Step struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (r *Report) add(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Step{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	if !ok {
		r.Passed = false
	}
}

// validateDir is the sandboxed side of validation, on the version folder dir: load,
// the vendor's samples, then the benchmark, reporting progress.
func validateDir(dir string, opts engine.Options, gpuName func(int) string, benchTime time.Duration, progress func(stage string, percent int)) (Report, []BenchResult) {
	r := Report{Passed: true}
	m, err := models.Load(dir, opts)
	if err != nil {
		r.add("load", false, "%s", scrub(err, dir))
		return r, nil
	}
	defer m.Close()
	r.add("load", true, "loaded on %s; inputs %s; outputs %s", m.Provider(), describe(m.Inputs()), describe(m.Outputs()))
	progress("samples", 15)
	if len(m.Manifest.Samples) == 0 {
		r.add("samples", true, "the manifest declares no sample images")
	}
	checkSamples(m, dir, &r)
	if !r.Passed {
		return r, nil
	}
	progress("benchmark", 30)
	bench, err := Benchmark(m, gpuName, benchTime, func(done, total int) { progress("benchmark", 30+70*done/total) })
	if err != nil {
		r.add("benchmark", false, "%s", scrub(err, dir))
		return r, nil
	}
	r.add("benchmark", true, "%d batch sizes on %s (%s)", len(bench), m.Provider(), bench[0].Device)
	return r, bench
}

// checkSamples runs each vendor sample and compares with what it must produce.
func checkSamples(m *models.Model, dir string, r *Report) {
	for i, s := range m.Manifest.Samples {
		name := fmt.Sprintf("sample %d (%s)", i, s.File)
		path, err := m.Manifest.FilePath(dir, s.File)
		if err != nil {
			r.add(name, false, "%v", err)
			continue
		}
		img := gocv.IMRead(path, gocv.IMReadColor)
		if img.Empty() {
			r.add(name, false, "not a readable image")
			continue
		}
		out, err := Infer(m, []gocv.Mat{img})
		img.Close()
		if err != nil {
			r.add(name, false, "inference failed: %v", err)
			continue
		}
		for j, e := range s.Expect {
			ok, detail := matches(out, e)
			r.add(fmt.Sprintf("%s expect[%d]", name, j), ok, "%s", detail)
		}
	}
}

// matches reports whether one expected output is among what the model produced.
func matches(out any, e models.Expected) (bool, string) {
	switch o := out.(type) {
	case [][]decode.Detection:
		best := float32(0)
		for _, d := range o[0] {
			if e.Label != "" && d.Label != e.Label || d.Score < e.MinScore {
				continue
			}
			if len(e.Box) == 4 {
				iou := decode.IoU(d.Box, decode.Box{X1: e.Box[0], Y1: e.Box[1], X2: e.Box[2], Y2: e.Box[3]})
				best = max(best, iou)
				if iou < e.MinIoU {
					continue
				}
			}
			return true, fmt.Sprintf("found %s %.3f at [%.0f %.0f %.0f %.0f]", d.Label, d.Score, d.Box.X1, d.Box.Y1, d.Box.X2, d.Box.Y2)
		}
		return false, fmt.Sprintf("no %q with score ≥ %.2f (best IoU %.2f) among %d detections", e.Label, e.MinScore, best, len(o[0]))
	case [][]decode.Class:
		if len(o[0]) > 0 && o[0][0].Label == e.Label && o[0][0].Score >= e.MinScore {
			return true, fmt.Sprintf("top class %s %.3f", o[0][0].Label, o[0][0].Score)
		}
		return false, fmt.Sprintf("top class %v, want %s ≥ %.2f", o[0], e.Label, e.MinScore)
	case []decode.Attributes:
		for g, vals := range o[0] {
			for _, v := range vals {
				if v.Label == e.Label && v.Score >= e.MinScore {
					return true, fmt.Sprintf("%s: %s %.3f", g, v.Label, v.Score)
				}
			}
		}
		return false, fmt.Sprintf("attributes %v, want %s ≥ %.2f", o[0], e.Label, e.MinScore)
	case []decode.Text:
		if strings.Contains(o[0].Text, e.Text) {
			return true, fmt.Sprintf("read %q", o[0].Text)
		}
		return false, fmt.Sprintf("read %q, want %q", o[0].Text, e.Text)
	case [][]decode.TextBox:
		if len(o[0]) > 0 {
			return true, fmt.Sprintf("%d text regions", len(o[0]))
		}
		return false, "no text region"
	}
	return false, fmt.Sprintf("samples cannot be checked for task %s", "?")
}

// BenchResult is the measured cost of one batch size on one device.
type BenchResult struct {
	// Device is the class of device the run measured: "cpu", or the GPU's model as
	// NVML names it ("NVIDIA H100 80GB HBM3"; "cuda:N" when the name is unknown).
	// The scheduler sizes every device of that class with the result.
	Device    string  `json:"device"`
	Provider  string  `json:"provider"`
	BatchSize int     `json:"batch_size"`
	Runs      int     `json:"runs"`
	LatencyMS float64 `json:"latency_ms"` // mean per batch
	P95MS     float64 `json:"p95_ms"`
	FPS       float64 `json:"fps"` // images per second at this batch size
	// Cores the run could use (ONNX Runtime takes one thread per core by default) and
	// FPS per core: what the scheduler plans a CPU worker with (cores × this).
	Cores      int     `json:"cores"`
	FPSPerCore float64 `json:"fps_per_core"`
}

// Benchmark measures latency and throughput per batch size (1, 2, 4, 8 up to the
// model's limit) on the device the model was loaded on: a warm-up run, then runs
// until minDur has passed (at least 3). The scheduler plans with these numbers.
// gpuName names the GPU of a CUDA ordinal for BenchResult.Device (nil: "cuda:N").
func Benchmark(m *models.Model, gpuName func(ordinal int) string, minDur time.Duration, progress func(done, total int)) ([]BenchResult, error) {
	device := "cpu"
	if d := m.Device(); d >= 0 {
		device = fmt.Sprintf("cuda:%d", d)
		if gpuName != nil {
			if n := gpuName(d); n != "" {
				device = n
			}
		}
	}
	sizes := []int{1}
	for _, b := range []int{2, 4, 8} {
		if b <= m.MaxBatch() {
			sizes = append(sizes, b)
		}
	}
	img := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.RandU(&img, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0)) // a textured frame: detectors do real post-processing work
	var out []BenchResult
	for i, n := range sizes {
		imgs := make([]gocv.Mat, n)
		for j := range imgs {
			imgs[j] = img
		}
		if _, err := Infer(m, imgs); err != nil {
			return nil, err
		}
		var lat []time.Duration
		start := time.Now()
		for len(lat) < 3 || time.Since(start) < minDur {
			t := time.Now()
			if _, err := Infer(m, imgs); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t))
		}
		total := time.Since(start)
		slices.Sort(lat)
		var sum time.Duration
		for _, l := range lat {
			sum += l
		}
		out = append(out, BenchResult{Device: device, Provider: string(m.Provider()), BatchSize: n, Runs: len(lat),
			LatencyMS: float64(sum.Microseconds()) / 1000 / float64(len(lat)),
			P95MS:     float64(lat[min(len(lat)-1, len(lat)*95/100)].Microseconds()) / 1000,
			FPS:       float64(n*len(lat)) / total.Seconds(), Cores: runtime.NumCPU()})
		out[len(out)-1].FPSPerCore = out[len(out)-1].FPS / float64(runtime.NumCPU())
		if progress != nil {
			progress(i+1, len(sizes))
		}
	}
	return out, nil
}
