// Package vendorgraphs builds, with the project's ONNX builder, small models in the
// export styles vendors ship (Paddle's image + scale_factor + im_shape, NMS inside
// the graph, set prediction, SCRFD heads, uint8 and float16 inputs, crop classifiers
// and attribute heads), each with the manifest that runs it. Their outputs follow the
// image: a detection's score is the frame's mean brightness and its box a fixed
// fraction of the model input, so a test can tell a fed-wrong input (a scale factor,
// a dtype) from a right one on any real clip.
package vendorgraphs

import (
	"encoding/json"
	"fmt"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/onnxpb"
	"github.com/cityeye/cityeye/models/preprocess"
)

// Style is one export style: a manifest and the ONNX bytes it describes.
type Style struct {
	Name     string
	Manifest models.Manifest
	ONNX     []byte
}

// Box is where the synthetic detectors put their object, as fractions of the model
// input (for stretch preprocessing: of the source frame too).
var Box = [4]float32{0.25, 0.25, 0.75, 0.75}

const size = 64 // model input side

// g wraps the builder with the few patterns these graphs repeat.
type g struct {
	*onnxpb.Graph
	n int
}

func newG(name string) *g { return &g{Graph: onnxpb.NewGraph(name)} }

func (g *g) tmp() string { g.n++; return fmt.Sprintf("t%d", g.n) }

func (g *g) op(op string, ins []string, attrs ...*onnxpb.AttributeProto) string {
	out := g.tmp()
	g.AddNode(op, ins, []string{out}, attrs...)
	return out
}

func (g *g) f(dims []int64, v ...float32) string {
	name := g.tmp()
	g.AddInitializer(name, dims, v)
	return name
}

func (g *g) i64(v ...int64) string {
	name := g.tmp()
	g.AddInitializerInt64(name, []int64{int64(len(v))}, v)
	return name
}

// brightness is the mean of a float image [B,3,H,W] as [B].
func (g *g) brightness(img string) string {
	return g.op("ReduceMean", []string{img}, onnxpb.AttrInts("axes", 1, 2, 3), onnxpb.AttrInt("keepdims", 0))
}

// unsq adds axes to x.
func (g *g) unsq(x string, axes ...int64) string {
	return g.op("Unsqueeze", []string{x, g.i64(axes...)})
}

func (g *g) cast(x string, to onnxpb.TensorProto_DataType) string {
	return g.op("Cast", []string{x}, onnxpb.AttrInt("to", int64(to)))
}

func (g *g) out(name, x string, elem onnxpb.TensorProto_DataType) {
	g.AddNode("Identity", []string{x}, []string{name})
	g.AddOutput(name, elem, nil)
}

func (g *g) bytes() []byte {
	b, err := g.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func spec(scale float32) preprocess.Spec {
	return preprocess.Spec{Width: size, Height: size, Resize: preprocess.Stretch, Color: "rgb", Layout: "nchw", Scale: scale, Std: [3]float32{1, 1, 1}}
}

func manifest(name, task, decoder string, params any, labels ...string) models.Manifest {
	p, _ := json.Marshal(params)
	return models.Manifest{Vendor: "acme", Name: name, Version: "1.0.0", Task: task, License: "Apache-2.0",
		Input: spec(1.0 / 255), MaxBatch: 4, Decoder: models.Decoder{Type: decoder, Params: p}, Labels: labels,
		Description: "synthetic " + name + " export built by testdata/vendorgraphs"}
}

// All is every style, detectors first.
func All() []Style {
	return []Style{Paddle(), EndToEndUint8(), EfficientNMSFloat16(), SetPrediction(), SCRFD(), HatClassifier(), Attributes()}
}

// Install puts the style into repo as acme's version 1.0.0 (digest filled in).
func (s Style) Install(repo models.Repository) (models.Manifest, error) {
	m := s.Manifest
	m.File = "model.onnx"
	m.SHA256 = digest(s.ONNX)
	return m, repo.Install(m, map[string][]byte{m.File: s.ONNX})
}

// Find returns the style whose manifest has that name.
func Find(name string) Style {
	for _, s := range All() {
		if s.Manifest.Name == name {
			return s
		}
	}
	panic("vendorgraphs: no style " + name)
}
