package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/engine"
)

// tgraph writes small TF.js graph models for op-level tests, in the exact JSON form
// the TF.js converter emits.
type tgraph struct {
	nodes   []map[string]any
	weights []map[string]any
	data    []byte
	rng     *rand.Rand
	inputs  map[string]any
	outputs map[string]any
}

func newTGraph(seed int64) *tgraph {
	return &tgraph{rng: rand.New(rand.NewSource(seed)), inputs: map[string]any{}, outputs: map[string]any{}}
}

func aS(s string) map[string]any {
	return map[string]any{"s": base64.StdEncoding.EncodeToString([]byte(s))}
}
func aB(b bool) map[string]any    { return map[string]any{"b": b} }
func aF(f float64) map[string]any { return map[string]any{"f": f} }
func aI(i int) map[string]any     { return map[string]any{"i": strconv.Itoa(i)} }
func aT(t string) map[string]any  { return map[string]any{"type": t} }
func aInts(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}
func aStrs(v ...string) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = base64.StdEncoding.EncodeToString([]byte(x))
	}
	return map[string]any{"list": map[string]any{"s": s}}
}

func shapeJSONOf(shape []int) map[string]any {
	dims := make([]map[string]any, len(shape))
	for i, d := range shape {
		dims[i] = map[string]any{"size": strconv.Itoa(d)}
	}
	return map[string]any{"dim": dims}
}

func (g *tgraph) placeholder(name string, shape ...int) string {
	g.nodes = append(g.nodes, map[string]any{"name": name, "op": "Placeholder",
		"attr": map[string]any{"dtype": aT("DT_FLOAT"), "shape": map[string]any{"shape": shapeJSONOf(shape)}}})
	g.inputs[name+":0"] = map[string]any{"name": name + ":0", "dtype": "DT_FLOAT", "tensorShape": shapeJSONOf(shape)}
	return name
}

func (g *tgraph) output(tensor string) {
	g.outputs[tensor] = map[string]any{"name": tensor, "dtype": "DT_FLOAT"}
}

// constF adds a random float constant, stored plain, as float16 or as affine uint8.
func (g *tgraph) constF(name string, quant string, shape ...int) string {
	n := 1
	for _, d := range shape {
		n *= d
	}
	spec := map[string]any{"name": name, "shape": shape, "dtype": "float32"}
	switch quant {
	case "":
		for i := 0; i < n; i++ {
			g.data = binary.LittleEndian.AppendUint32(g.data, math.Float32bits(float32(g.rng.NormFloat64()*0.5)))
		}
	case "float16":
		spec["quantization"] = map[string]any{"dtype": "float16"}
		for i := 0; i < n; i++ {
			// random normal-range halves: sign, exponent 10..16, mantissa
			h := uint16(g.rng.Intn(2))<<15 | uint16(10+g.rng.Intn(7))<<10 | uint16(g.rng.Intn(1024))
			g.data = binary.LittleEndian.AppendUint16(g.data, h)
		}
	case "uint8":
		spec["quantization"] = map[string]any{"dtype": "uint8", "scale": 0.0071, "min": -0.93}
		for i := 0; i < n; i++ {
			g.data = append(g.data, byte(g.rng.Intn(256)))
		}
	}
	g.weights = append(g.weights, spec)
	g.nodes = append(g.nodes, map[string]any{"name": name, "op": "Const",
		"attr": map[string]any{"dtype": aT("DT_FLOAT"), "value": map[string]any{"tensor": map[string]any{"dtype": "DT_FLOAT", "tensorShape": shapeJSONOf(shape)}}}})
	return name
}

// constVals adds a float constant with given values.
func (g *tgraph) constVals(name string, shape []int, vals ...float32) string {
	for _, v := range vals {
		g.data = binary.LittleEndian.AppendUint32(g.data, math.Float32bits(v))
	}
	g.weights = append(g.weights, map[string]any{"name": name, "shape": shape, "dtype": "float32"})
	g.nodes = append(g.nodes, map[string]any{"name": name, "op": "Const", "attr": map[string]any{"dtype": aT("DT_FLOAT")}})
	return name
}

func (g *tgraph) constI(name string, shape []int, vals ...int) string {
	for _, v := range vals {
		g.data = binary.LittleEndian.AppendUint32(g.data, uint32(int32(v)))
	}
	g.weights = append(g.weights, map[string]any{"name": name, "shape": shape, "dtype": "int32"})
	g.nodes = append(g.nodes, map[string]any{"name": name, "op": "Const", "attr": map[string]any{"dtype": aT("DT_INT32")}})
	return name
}

func (g *tgraph) op(name, op string, inputs []string, attr map[string]any) string {
	if attr == nil {
		attr = map[string]any{}
	}
	if _, ok := attr["T"]; !ok {
		attr["T"] = aT("DT_FLOAT")
	}
	g.nodes = append(g.nodes, map[string]any{"name": name, "op": op, "input": inputs, "attr": attr})
	return name
}

// write stores model.json and weights.bin in a new folder and returns model.json.
func (g *tgraph) write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mj := map[string]any{
		"format": "graph-model", "generatedBy": "cityeye-test", "convertedBy": "hand-written",
		"signature":       map[string]any{"inputs": g.inputs, "outputs": g.outputs},
		"modelTopology":   map[string]any{"node": g.nodes, "library": map[string]any{}, "versions": map[string]any{}},
		"weightsManifest": []any{map[string]any{"paths": []string{"weights.bin"}, "weights": g.weights}},
	}
	b, err := json.Marshal(mj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), g.data, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "model.json")
}

func nhwcConv(pad string, stride int) map[string]any {
	return map[string]any{"padding": aS(pad), "strides": aInts(1, stride, stride, 1), "data_format": aS("NHWC"),
		"dilations": aInts(1, 1, 1, 1)}
}

// opsGraph exercises the ops and attribute combinations the two human-models graphs do
// not: Relu6/Prelu/Elu fusions, unfused depthwise, asymmetric SAME padding, pools,
// every resize mode, PadV2/MirrorPad, SplitV with -1, reductions, MatMul, uint8 and
// float16 weights, folded Pack/Shape, and a dynamic batch.
func opsGraph() *tgraph {
	g := newTGraph(7)
	x := g.placeholder("x", -1, 9, 10, 3)
	// SAME, stride 2: H 9 -> 5 pads 1/1, W 10 -> 5 pads 0/1 (the odd pixel at the end).
	c1 := g.op("c1", "_FusedConv2D", []string{x, g.constF("w1", "float16", 3, 3, 3, 4), g.constF("b1", "", 4)},
		merge(nhwcConv("SAME", 2), map[string]any{"fused_ops": aStrs("BiasAdd", "Relu6"), "num_args": aI(1), "epsilon": aF(0)}))
	c2 := g.op("c2", "DepthwiseConv2dNative", []string{c1, g.constF("wd", "", 3, 3, 4, 2)}, nhwcConv("SAME", 1))
	c3 := g.op("c3", "FusedDepthwiseConv2dNative",
		[]string{c1, g.constF("wd2", "", 3, 3, 4, 1), g.constF("bd2", "", 4), g.constF("alpha", "", 4)},
		merge(nhwcConv("VALID", 1), map[string]any{"fused_ops": aStrs("BiasAdd", "Prelu"), "num_args": aI(2)}))
	// uint8-quantised filter, dilation 2, then a separate BiasAdd (fused into the Conv).
	q := g.op("q", "Conv2D", []string{x, g.constF("wq", "uint8", 3, 3, 3, 5)},
		merge(nhwcConv("VALID", 1), map[string]any{"dilations": aInts(1, 2, 2, 1)}))
	qb := g.op("qb", "BiasAdd", []string{q, g.constF("bq", "", 5)}, map[string]any{"data_format": aS("NHWC")})
	elu := g.op("elu", "_FusedConv2D", []string{x, g.constF("we", "", 1, 1, 3, 2), g.constF("be", "", 2)},
		merge(nhwcConv("SAME", 1), map[string]any{"fused_ops": aStrs("BiasAdd", "Elu"), "num_args": aI(1)}))
	p1 := g.op("p1", "MaxPool", []string{c2}, map[string]any{"ksize": aInts(1, 2, 2, 1), "strides": aInts(1, 2, 2, 1),
		"padding": aS("SAME"), "data_format": aS("NHWC")})
	a1 := g.op("a1", "AvgPool", []string{c2}, map[string]any{"ksize": aInts(1, 3, 3, 1), "strides": aInts(1, 1, 1, 1),
		"padding": aS("SAME"), "data_format": aS("NHWC")})
	size76 := g.constI("size76", []int{2}, 7, 6)
	r1 := g.op("r1", "ResizeBilinear", []string{p1, size76}, map[string]any{"align_corners": aB(true), "half_pixel_centers": aB(false)})
	r2 := g.op("r2", "ResizeBilinear", []string{p1, size76}, map[string]any{"align_corners": aB(false), "half_pixel_centers": aB(false)})
	r3 := g.op("r3", "ResizeBilinear", []string{p1, g.constI("size55", []int{2}, 5, 5)},
		map[string]any{"align_corners": aB(false), "half_pixel_centers": aB(true)})
	r4 := g.op("r4", "ResizeNearestNeighbor", []string{p1, size76}, map[string]any{"align_corners": aB(false), "half_pixel_centers": aB(true)})
	r5 := g.op("r5", "ResizeNearestNeighbor", []string{p1, size76}, map[string]any{"align_corners": aB(true), "half_pixel_centers": aB(false)})
	r6 := g.op("r6", "ResizeNearestNeighbor", []string{p1, size76}, map[string]any{"align_corners": aB(false), "half_pixel_centers": aB(false)})
	pd := g.op("pd", "PadV2", []string{c2, g.constI("pads", []int{4, 2}, 0, 0, 1, 2, 0, 1, 0, 0), g.constVals("pv", []int{}, -0.5)},
		map[string]any{"Tpaddings": aT("DT_INT32")})
	mp := g.op("mp", "MirrorPad", []string{c2, g.constI("mpads", []int{4, 2}, 0, 0, 1, 1, 2, 0, 0, 0)},
		map[string]any{"mode": aS("REFLECT"), "Tpaddings": aT("DT_INT32")})
	cat := g.op("cat", "ConcatV2", []string{r1, r2, g.constI("cat_axis", []int{}, -1)}, map[string]any{"N": aI(2), "Tidx": aT("DT_INT32")})
	sp := g.op("sp", "SplitV", []string{cat, g.constI("sizes", []int{3}, 3, -1, 5), g.constI("split_dim", []int{}, 3)},
		map[string]any{"num_split": aI(3), "Tlen": aT("DT_INT32")})
	mean := g.op("mean", "Mean", []string{c3, g.constI("mean_axes", []int{2}, 1, 2)}, map[string]any{"keep_dims": aB(true), "Tidx": aT("DT_INT32")})
	sq := g.op("sq", "Squeeze", []string{mean}, map[string]any{"squeeze_dims": aInts(1, 2)})
	mm := g.op("mm", "_FusedMatMul", []string{sq, g.constF("wm", "", 4, 6), g.constF("bm", "", 6)},
		map[string]any{"transpose_a": aB(false), "transpose_b": aB(false), "fused_ops": aStrs("BiasAdd", "Relu"), "num_args": aI(1)})
	sm := g.op("sm", "Softmax", []string{mm}, nil)
	ed := g.op("ed", "ExpandDims", []string{sm, g.constI("ed_axis", []int{}, 1)}, map[string]any{"Tdim": aT("DT_INT32")})
	mt := g.op("mt", "MatMul", []string{sq, g.constF("wt", "", 3, 4)}, map[string]any{"transpose_a": aB(false), "transpose_b": aB(true)})
	// elementwise chain
	e1 := g.op("e1", "Rsqrt", []string{g.op("e1max", "Maximum", []string{g.op("e1sq", "Square", []string{c2}, nil), g.constVals("eps", []int{}, 0.1)}, nil)}, nil)
	e2 := g.op("e2", "Sub", []string{g.op("e2abs", "Abs", []string{c2}, nil), g.op("e2neg", "Neg", []string{g.op("e2sig", "Sigmoid", []string{c2}, nil)}, nil)}, nil)
	e3 := g.op("e3", "LeakyRelu", []string{g.op("e3tanh", "Tanh", []string{c2}, nil)}, map[string]any{"alpha": aF(0.3)})
	e4 := g.op("e4", "RealDiv", []string{g.op("e4exp", "Exp", []string{a1}, nil),
		g.op("e4den", "AddV2", []string{g.op("e4rel", "Relu", []string{a1}, nil), g.constVals("one", []int{}, 1)}, nil)}, nil)
	e5 := g.op("e5", "Minimum", []string{g.op("e5r6", "Relu6", []string{c2}, nil), g.op("e5pr", "Prelu", []string{a1, g.constF("alpha2", "", 8)}, nil)}, nil)
	// Pack of constants gives a Reshape its shape; Transpose; Sum/Max reductions.
	shp := g.op("shp", "Pack", []string{g.constI("m1", []int{}, -1), g.constI("d25", []int{}, 25), g.constI("d8", []int{}, 8)},
		map[string]any{"N": aI(3), "axis": aI(0), "T": aT("DT_INT32")})
	rs := g.op("rs", "Reshape", []string{c2, shp}, map[string]any{"Tshape": aT("DT_INT32")})
	tr := g.op("tr", "Transpose", []string{rs, g.constI("perm", []int{3}, 0, 2, 1)}, map[string]any{"Tperm": aT("DT_INT32")})
	sum := g.op("sum", "Sum", []string{tr, g.constI("sum_axis", []int{}, -1)}, map[string]any{"keep_dims": aB(false), "Tidx": aT("DT_INT32")})
	mx := g.op("mx", "Max", []string{rs, g.constI("max_axis", []int{1}, 1)}, map[string]any{"keep_dims": aB(true), "Tidx": aT("DT_INT32")})
	for _, o := range []string{c1, c3, qb, elu, r3, r4, r5, r6, pd, mp, sp + ":0", sp + ":1", sp + ":2", ed, mt, e1, e2, e3, e4, e5, sum, mx} {
		g.output(o)
	}
	return g
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestOpsParity runs a synthetic TF.js graph covering the supported ops in TF.js and,
// imported, in ONNX Runtime, with a batch of 2 through the dynamic batch dimension.
func TestOpsParity(t *testing.T) {
	modelJSON := opsGraph().write(t)
	onnxPath, man, err := Import(modelJSON, t.TempDir(), ImportOptions{Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ops translated: %v", man.Import.Ops)
	rng := rand.New(rand.NewSource(3))
	x := make([]float32, 2*9*10*3)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	in := engine.Tensor{Shape: []int64{2, 9, 10, 3}, Data: x}
	var names []string
	for _, o := range man.Outputs {
		names = append(names, o.Name)
	}
	want := runTFJS(t, modelJSON, []tfjsRun{{Inputs: map[string]engine.Tensor{"x": in}, Outputs: names}})[0]
	sess := openORT(t, onnxPath)
	got, err := sess.Run([]engine.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	for k, name := range names {
		if sess.Outputs()[k].Name != name {
			t.Fatalf("output %d is %q, want %q", k, sess.Outputs()[k].Name, name)
		}
		d := maxAbsDiff(t, name, want[k], got[k])
		t.Logf("%-5s %v max abs diff %.3g", name, got[k].Shape, d)
		if d > parityTolerance {
			t.Errorf("%s: max |tfjs - onnx| = %.3g > %g", name, d, parityTolerance)
		}
		if shape := man.Outputs[k].Shape; !shapesCompatible(shape, got[k].Shape) {
			t.Errorf("%s: manifest shape %v, ONNX Runtime produced %v", name, shape, got[k].Shape)
		}
	}
}

// TestImportUnsupportedOp checks the error names the op and node and nothing is written.
func TestImportUnsupportedOp(t *testing.T) {
	g := newTGraph(1)
	x := g.placeholder("x", 1, 4, 4, 3)
	r := g.op("relu", "Relu", []string{x}, nil)
	g.op("weird/node", "NonMaxSuppressionV5", []string{r}, nil)
	g.output("weird/node")
	modelJSON := g.write(t)
	out := filepath.Join(t.TempDir(), "out")
	_, _, err := Import(modelJSON, out, ImportOptions{})
	var ue *UnsupportedOpError
	if !errors.As(err, &ue) {
		t.Fatalf("want UnsupportedOpError, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "NonMaxSuppressionV5") || !strings.Contains(msg, `"weird/node"`) {
		t.Fatalf("error %q does not name the op and the node", msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("output folder exists after a failed import: %v", err)
	}

	// A supported op that cannot be translated as used (a run-time SparseToDense).
	g = newTGraph(2)
	x = g.placeholder("x", 4)
	g.op("std", "SparseToDense", []string{g.constI("idx", []int{1}, 1), g.constI("shape", []int{1}, 4), x, g.constVals("zero", []int{}, 0)},
		map[string]any{"Tindices": aT("DT_INT32")})
	g.output("std")
	_, _, err = Import(g.write(t), out, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), `"std"`) || !strings.Contains(err.Error(), "SparseToDense") {
		t.Fatalf("want an error naming SparseToDense node \"std\", got %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("output folder exists after a failed import: %v", err)
	}
}
