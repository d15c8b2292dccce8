// Package algtest builds small real detectors for the alerting algorithms' tests:
// ONNX graphs whose output boxes are fixed and whose scores are the mean brightness
// of marked image regions, installed with a YOLOv8-layout manifest in a temporary
// model repository and loaded through models.Load. A test then paints a region of
// a generated frame bright to "put" an object there, and the real preprocessing,
// ONNX Runtime session, decoder (with its score threshold and NMS) and box mapping
// back to source pixels all run. For tests only.
package algtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/onnxpb"
	"github.com/cityeye/cityeye/models/preprocess"
)

// Rect is a normalised rectangle (x1, y1, x2, y2 in [0,1] of the image).
type Rect [4]float64

// Px converts it to pixels of a w×h image.
func (r Rect) Px(w, h int) image.Rectangle {
	return image.Rect(int(r[0]*float64(w)+0.5), int(r[1]*float64(h)+0.5), int(r[2]*float64(w)+0.5), int(r[3]*float64(h)+0.5))
}

// Region is one candidate the detector always reports: Box with label Label, scored
// by the mean brightness (all channels, /255) of Probe (the box itself when zero).
type Region struct {
	Label string
	Box   Rect
	Probe Rect
}

// Threshold is the decoder's score threshold: a probe painted at ≥ 0.3×255 mean
// brightness is a detection, the dark test backgrounds (≤ 40) are not.
const Threshold = 0.3

// Graph builds the detector: input "images" [B,3,inH,inW] (dynamic batch), output
// "output0" [B, 4+len(labels), len(regions)] in YOLOv8 layout, in input pixels.
func Graph(labels []string, regions []Region, inW, inH int) ([]byte, error) {
	g := onnxpb.NewGraph("region-detector")
	g.AddInput("images", onnxpb.TensorProto_FLOAT, []int64{-1, 3, int64(inH), int64(inW)})
	g.AddInitializerInt64("axes_hw", []int64{2}, []int64{2, 3})
	g.AddInitializerInt64("shape_b11", []int64{3}, []int64{-1, 1, 1})
	n, c := len(regions), len(labels)
	rows := 4 + c
	boxes := make([]float32, rows*n)
	mask := make([]float32, rows*n)
	var scores []string
	for i, r := range regions {
		cls := -1
		for k, l := range labels {
			if l == r.Label {
				cls = k
			}
		}
		if cls < 0 {
			return nil, fmt.Errorf("region %d: label %q not in %v", i, r.Label, labels)
		}
		px := r.Box.Px(inW, inH)
		boxes[0*n+i] = float32(px.Min.X+px.Max.X) / 2
		boxes[1*n+i] = float32(px.Min.Y+px.Max.Y) / 2
		boxes[2*n+i] = float32(px.Dx())
		boxes[3*n+i] = float32(px.Dy())
		mask[(4+cls)*n+i] = 1
		probe := r.Probe
		if probe == (Rect{}) {
			probe = r.Box
		}
		pp := probe.Px(inW, inH)
		if pp.Dx() < 1 || pp.Dy() < 1 {
			return nil, fmt.Errorf("region %d: probe %v is empty at %dx%d", i, probe, inW, inH)
		}
		s := fmt.Sprintf("r%d", i)
		g.AddInitializerInt64(s+"_starts", []int64{2}, []int64{int64(pp.Min.Y), int64(pp.Min.X)})
		g.AddInitializerInt64(s+"_ends", []int64{2}, []int64{int64(pp.Max.Y), int64(pp.Max.X)})
		g.AddNode("Slice", []string{"images", s + "_starts", s + "_ends", "axes_hw"}, []string{s + "_crop"})
		g.AddNode("ReduceMean", []string{s + "_crop"}, []string{s + "_mean"}, onnxpb.AttrInts("axes", 1, 2, 3), onnxpb.AttrInt("keepdims", 1))
		g.AddNode("Reshape", []string{s + "_mean", "shape_b11"}, []string{s + "_score"})
		scores = append(scores, s+"_score")
	}
	g.AddInitializer("boxes", []int64{1, int64(rows), int64(n)}, boxes)
	g.AddInitializer("mask", []int64{1, int64(rows), int64(n)}, mask)
	g.AddNode("Concat", scores, []string{"scores"}, onnxpb.AttrInt("axis", 2)) // [B,1,N]
	g.AddNode("Mul", []string{"scores", "mask"}, []string{"placed"})           // [B,rows,N]
	g.AddNode("Add", []string{"placed", "boxes"}, []string{"output0"})         // + fixed boxes
	g.AddOutput("output0", onnxpb.TensorProto_FLOAT, []int64{-1, int64(rows), int64(n)})
	return g.Marshal()
}

// Detector installs the graph as name@1.0.0 (task detection, "yolo" v8 decoder,
// stretch-resized rgb input scaled by 1/255) in a temporary repository and loads it
// with models.Load on the CPU. It is closed when the test ends.
func Detector(t testing.TB, name string, labels []string, regions []Region, inW, inH int) *models.Model {
	t.Helper()
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	onnx, err := Graph(labels, regions, inW, inH)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(onnx)
	params, _ := json.Marshal(decode.YOLOConfig{Layout: "v8", Output: "output0", ScoreThreshold: Threshold, IoUThreshold: 0.45})
	m := models.Manifest{Name: name, Version: "1.0.0", Task: models.TaskDetection, File: "model.onnx",
		SHA256: hex.EncodeToString(sum[:]), License: "MIT", MaxBatch: 4,
		Description: "test detector: fixed boxes scored by the brightness of marked regions",
		Input:       preprocess.Spec{Width: inW, Height: inH, Resize: preprocess.Stretch, Color: "rgb", Layout: "nchw", Scale: 1.0 / 255},
		Decoder:     models.Decoder{Type: "yolo", Params: params}, Labels: labels}
	repo := models.Repository{Root: t.TempDir()}
	if err := repo.Install(m, map[string][]byte{"model.onnx": onnx}); err != nil {
		t.Fatal(err)
	}
	mod, err := models.Load(repo.Dir(name, "1.0.0"), engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close() })
	return mod
}

// Detect runs the model on one frame.
func Detect(t testing.TB, m *models.Model, img gocv.Mat) []decode.Detection {
	t.Helper()
	res, err := m.Detect([]gocv.Mat{img})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// Frame makes a w×h BGR frame of grey level bg with each rect filled with fill
// (a BGR colour).
func Frame(w, h int, bg uint8, fill color.RGBA, rects ...Rect) gocv.Mat {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(bg), float64(bg), float64(bg), 0), h, w, gocv.MatTypeCV8UC3)
	for _, r := range rects {
		gocv.Rectangle(&m, r.Px(w, h), fill, -1)
	}
	return m
}

// White is a full-brightness fill: every probe it covers scores 1.
var White = color.RGBA{R: 255, G: 255, B: 255, A: 255}

// BGR returns the pixel at (x, y) of an 8-bit BGR image.
func BGR(m gocv.Mat, x, y int) [3]uint8 {
	v := m.GetVecbAt(y, x)
	return [3]uint8{v[0], v[1], v[2]}
}

// NewAlgorithm makes the registered algorithm name for task "task" from params
// (JSON), failing the test on any error; it is closed when the test ends.
func NewAlgorithm(t testing.TB, name, params string) algorithms.Algorithm {
	t.Helper()
	p, err := algorithms.ParseParams(json.RawMessage(params))
	if err != nil {
		t.Fatal(err)
	}
	spec, ok := algorithms.Lookup(name)
	if !ok {
		t.Fatalf("algorithm %s is not registered", name)
	}
	a, err := spec.New("task", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
