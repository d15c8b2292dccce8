package tfjs

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cityeye/cityeye/models/onnxpb"
)

// Fast tests of the importer's pieces; parity_test.go and ops_test.go check the
// translations against TF.js itself.

func TestHalfToFloat(t *testing.T) {
	cases := map[uint16]float32{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x3555: 0.333251953125, 0x7bff: 65504,
		0x0001: 5.960464477539063e-08, 0x03ff: 6.097555160522461e-05, 0x0400: 6.103515625e-05,
	}
	for h, want := range cases {
		if got := halfToFloat(h); got != want {
			t.Errorf("halfToFloat(%#04x) = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(float64(halfToFloat(0xfc00)), -1) || !math.IsNaN(float64(halfToFloat(0x7e00))) {
		t.Error("inf/nan")
	}
	if math.Signbit(float64(halfToFloat(0x8000))) != true {
		t.Error("-0 lost its sign")
	}
}

func TestDecodeWeightQuantised(t *testing.T) {
	scale, min := 0.1, -1.0
	ws := weightSpec{Name: "w", Shape: []int64{3}, DType: "float32"}
	ws.Quantization = &struct {
		DType         string   `json:"dtype"`
		Scale         *float64 `json:"scale"`
		Min           *float64 `json:"min"`
		OriginalDType string   `json:"original_dtype"`
	}{DType: "uint8", Scale: &scale, Min: &min}
	w, n, err := decodeWeight(ws, []byte{0, 10, 255, 99})
	if err != nil || n != 3 {
		t.Fatal(n, err)
	}
	want := []float32{-1, float32(10*0.1 - 1), float32(255*0.1 - 1)}
	if fmt.Sprint(w.F) != fmt.Sprint(want) {
		t.Errorf("uint8: %v, want %v", w.F, want)
	}
	ws.Quantization.DType = "uint16"
	w, n, err = decodeWeight(ws, []byte{1, 0, 0, 1, 0xff, 0xff})
	if err != nil || n != 6 || w.F[1] != float32(256*0.1-1) {
		t.Errorf("uint16: %v %d %v", w, n, err)
	}
	ws.Quantization.DType = "float16"
	w, n, err = decodeWeight(ws, []byte{0, 0x3c, 0, 0xc0, 0x55, 0x35})
	if err != nil || n != 6 || fmt.Sprint(w.F) != "[1 -2 0.33325195]" {
		t.Errorf("float16: %v %d %v", w, n, err)
	}
	if _, _, err := decodeWeight(ws, []byte{0, 0}); err == nil {
		t.Error("short buffer accepted")
	}
}

func TestTFPads(t *testing.T) {
	cases := []struct {
		in, k, s, d int64
		want        string
	}{
		{9, 3, 2, 1, "[1 1]"},  // out 5: total 2
		{10, 3, 2, 1, "[0 1]"}, // out 5: total 1, the odd pixel after
		{416, 3, 2, 1, "[0 1]"},
		{5, 2, 2, 1, "[0 1]"},
		{7, 3, 1, 2, "[2 2]"}, // dilated: effective kernel 5
		{4, 1, 2, 1, "[0 0]"},
	}
	for _, c := range cases {
		p, auto, err := tfPads("SAME", []int64{c.in}, []int64{c.k}, []int64{c.s}, []int64{c.d}, nil)
		if err != nil || auto != "" || fmt.Sprint(p) != c.want {
			t.Errorf("SAME in %d k %d s %d d %d: %v %q %v, want %s", c.in, c.k, c.s, c.d, p, auto, err, c.want)
		}
	}
	if _, auto, _ := tfPads("SAME", []int64{-1}, []int64{3}, []int64{2}, []int64{1}, nil); auto != "SAME_UPPER" {
		t.Errorf("unknown size: %q", auto)
	}
	if p, _, _ := tfPads("EXPLICIT", []int64{5, 5}, []int64{3, 3}, []int64{1, 1}, []int64{1, 1}, []int64{1, 2, 3, 4}); fmt.Sprint(p) != "[1 3 2 4]" {
		t.Errorf("explicit: %v", p)
	}
}

func TestFolding(t *testing.T) {
	a := &Tensor{DType: Float32, Shape: []int64{2, 1}, F: []float32{1, 2}}
	b := &Tensor{DType: Float32, Shape: []int64{3}, F: []float32{10, 20, 30}}
	s, err := foldBinary("Add", a, b)
	if err != nil || fmt.Sprint(s.Shape, s.F) != "[2 3] [11 21 31 12 22 32]" {
		t.Errorf("broadcast add: %v %v", s, err)
	}
	i := &Tensor{DType: Int64, Shape: []int64{3}, I: []int64{-7, 7, 0}}
	j := &Tensor{DType: Int64, Shape: []int64{}, I: []int64{2}}
	if d, _ := foldBinary("Div", i, j); fmt.Sprint(d.I) != "[-4 3 0]" {
		t.Errorf("integer division floors: %v", d.I)
	}
	// nanodet's shape subgraph: SparseToDense of no indices is all default values.
	z, err := sparseToDense(&Tensor{DType: Int64, Shape: []int64{0, 1}}, &Tensor{DType: Int64, Shape: []int64{1}, I: []int64{3}},
		&Tensor{DType: Int64, Shape: []int64{0}}, &Tensor{DType: Int64, Shape: []int64{}, I: []int64{0}})
	if err != nil || fmt.Sprint(z.Shape, z.I) != "[3] [0 0 0]" {
		t.Errorf("empty sparseToDense: %v %v", z, err)
	}
	z, err = sparseToDense(&Tensor{DType: Int32, Shape: []int64{2, 2}, I: []int64{0, 1, 1, 0}}, &Tensor{DType: Int32, Shape: []int64{2}, I: []int64{2, 2}},
		&Tensor{DType: Float32, Shape: []int64{2}, F: []float32{5, 6}}, &Tensor{DType: Float32, Shape: []int64{}, F: []float32{-1}})
	if err != nil || fmt.Sprint(z.F) != "[-1 5 6 -1]" {
		t.Errorf("sparseToDense: %v %v", z, err)
	}
	tr, _ := transposeTensor(&Tensor{DType: Int64, Shape: []int64{2, 3}, I: []int64{1, 2, 3, 4, 5, 6}}, []int64{1, 0})
	if fmt.Sprint(tr.Shape, tr.I) != "[3 2] [1 4 2 5 3 6]" {
		t.Errorf("transpose: %v", tr)
	}
	c, _ := concatTensors([]*Tensor{{DType: Int64, Shape: []int64{1, 2}, I: []int64{1, 2}}, {DType: Int64, Shape: []int64{1, 1}, I: []int64{3}}}, 1)
	if fmt.Sprint(c.Shape, c.I) != "[1 3] [1 2 3]" {
		t.Errorf("concat: %v", c)
	}
	if r, _ := reshapeDims([]int64{1, 80, 13, 13}, []int64{1, 80, -1}); fmt.Sprint(r) != "[1 80 169]" {
		t.Errorf("reshape: %v", r)
	}
}

func TestComposeTransposes(t *testing.T) {
	g := onnxpb.NewGraph("t")
	g.AddNode("Transpose", []string{"x"}, []string{"a"}, onnxpb.AttrInts("perm", 0, 2, 3, 1))
	g.AddNode("Transpose", []string{"a"}, []string{"b"}, onnxpb.AttrInts("perm", 0, 3, 1, 2)) // cancels
	g.AddNode("Relu", []string{"b"}, []string{"c"})
	g.AddNode("Transpose", []string{"c"}, []string{"d"}, onnxpb.AttrInts("perm", 0, 2, 3, 1))
	g.AddNode("Transpose", []string{"d"}, []string{"e"}, onnxpb.AttrInts("perm", 0, 2, 1, 3)) // composes
	g.AddNode("Transpose", []string{"e"}, []string{"out"}, onnxpb.AttrInts("perm", 0, 2, 1, 3))
	optimize(g, map[string]bool{"out": true})
	var got []string
	for _, n := range g.Proto.Node {
		got = append(got, fmt.Sprintf("%s%v%v%v", n.OpType, n.Input, n.Output, permOf(n)))
	}
	// Relu reads x directly; the three trailing Transposes become one with
	// perm (0,2,3,1) composed with two swaps = (0,2,3,1).
	want := "Relu[x][c][] Transpose[c][out][0 2 3 1]"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// TestNanoDetGraph checks the structure of the imported nanodet: the constant
// subgraphs are folded away, Conv biases are fused, and the NHWC<->NCHW Transposes
// around every conv cancel, leaving only the output layout changes. The batch is
// dynamic: each of the 4 Resizes gets its output size from the input's batch and
// channels at run time (Shape, Slice, Concat) instead of a constant.
func TestNanoDetGraph(t *testing.T) {
	path, man := importedModel(t, "nanodet")
	want := "[Add AddV2 ConcatV2 Const Conv2D Identity LeakyRelu MaxPool Pad PadV2 Placeholder Reshape ResizeBilinear Sigmoid SparseToDense SplitV Transpose]"
	if fmt.Sprint(man.Import.Ops) != want {
		t.Errorf("TF ops %v, want %s", man.Import.Ops, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range m.Graph.Node {
		count[n.OpType]++
	}
	if got := fmt.Sprint(count); got != "map[Add:4 Concat:16 Conv:34 LeakyRelu:28 MaxPool:1 Pad:29 Reshape:6 Resize:4 Shape:4 Sigmoid:3 Slice:4 Split:3 Transpose:6]" {
		t.Errorf("ONNX ops %s", got)
	}
	biased := 0
	for _, n := range m.Graph.Node {
		if n.OpType == "Conv" && len(n.Input) == 3 {
			biased++
		}
	}
	if biased != 34 {
		t.Errorf("%d of 34 Convs have the bias fused", biased)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	layers := write("layers.json", `{"format":"layers-model","modelTopology":{"node":[{"name":"x","op":"Placeholder"}]}}`)
	if _, err := Load(layers); err == nil || !strings.Contains(err.Error(), "layers") {
		t.Errorf("layers model: %v", err)
	}
	short := write("short.json", `{"format":"graph-model","modelTopology":{"node":[{"name":"w","op":"Const"}]},
		"weightsManifest":[{"paths":["short.bin"],"weights":[{"name":"w","shape":[4],"dtype":"float32"}]}]}`)
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, math.Float32bits(1))
	write("short.bin", string(b))
	if _, err := Load(short); err == nil || !strings.Contains(err.Error(), "needs 16 bytes") {
		t.Errorf("short shard: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no model.json") {
		t.Errorf("ambiguous folder: %v", err)
	}
}
