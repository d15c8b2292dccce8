package onnxpb_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/onnxpb"
)

// tinyGraph is Relu(Conv(X, diag 2×2 kernel, bias 0.5) - 10) reshaped to [4].
func tinyGraph() *onnxpb.Graph {
	g := onnxpb.NewGraph("tiny")
	g.AddInput("X", onnxpb.TensorProto_FLOAT, []int64{1, 1, 3, 3})
	g.AddInitializer("W", []int64{1, 1, 2, 2}, []float32{1, 0, 0, 1})
	g.AddInitializer("B", []int64{1}, []float32{0.5})
	g.AddInitializer("ten", []int64{}, []float32{10})
	g.AddInitializerInt64("shape", []int64{1}, []int64{4})
	g.AddNode("Conv", []string{"X", "W", "B"}, []string{"conv"}, onnxpb.AttrInts("kernel_shape", 2, 2), onnxpb.AttrInts("pads", 0, 0, 0, 0))
	g.AddNode("Sub", []string{"conv", "ten"}, []string{"sub"})
	g.AddNode("Relu", []string{"sub"}, []string{"relu"})
	g.AddNode("Reshape", []string{"relu", "shape"}, []string{"Y"})
	g.AddOutput("Y", onnxpb.TensorProto_FLOAT, []int64{4})
	return g
}

func TestBuilderRoundTrip(t *testing.T) {
	g := tinyGraph()
	g.Metadata = map[string]string{"b": "2", "a": "1"}
	data, err := g.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := g.Marshal()
	if string(again) != string(data) {
		t.Error("Marshal is not deterministic")
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.IrVersion != onnxpb.DefaultIRVersion || len(m.OpsetImport) != 1 || m.OpsetImport[0].Version != onnxpb.DefaultOpset {
		t.Errorf("ir %d opsets %v", m.IrVersion, m.OpsetImport)
	}
	if len(m.MetadataProps) != 2 || m.MetadataProps[0].Key != "a" {
		t.Errorf("metadata %v", m.MetadataProps)
	}
	gr := m.Graph
	if len(gr.Node) != 4 || gr.Node[0].OpType != "Conv" || len(gr.Initializer) != 4 || gr.Output[0].Name != "Y" {
		t.Fatalf("graph %v", gr)
	}
	w, err := onnxpb.Float32s(gr.Initializer[0])
	if err != nil || fmt.Sprint(w) != "[1 0 0 1]" {
		t.Errorf("W = %v, %v", w, err)
	}
	s, err := onnxpb.Int64s(gr.Initializer[3])
	if err != nil || fmt.Sprint(s) != "[4]" {
		t.Errorf("shape = %v, %v", s, err)
	}
	if _, err := onnxpb.Int64s(gr.Initializer[0]); err == nil {
		t.Error("Int64s accepted a float tensor")
	}
	dims := gr.Input[0].GetType().GetTensorType().GetShape().GetDim()
	if len(dims) != 4 || dims[2].GetDimValue() != 3 {
		t.Errorf("input dims %v", dims)
	}
	vi := onnxpb.ValueInfo("v", onnxpb.TensorProto_FLOAT, []int64{-1, 3}, "batch")
	if d := vi.GetType().GetTensorType().GetShape().GetDim(); d[0].GetDimParam() != "batch" || d[1].GetDimValue() != 3 {
		t.Errorf("dynamic dims %v", d)
	}
}

func TestBuilderRunsInONNXRuntime(t *testing.T) {
	data, err := tinyGraph().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	s, err := engine.OpenBytes(data, engine.Options{Provider: engine.ProviderCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run([]engine.Tensor{{Shape: []int64{1, 1, 3, 3}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}}})
	if err != nil {
		t.Fatal(err)
	}
	// conv: 1+5, 2+6, 4+8, 5+9 = 6 8 12 14; +0.5, -10, relu -> 0 0 2.5 4.5
	if got := fmt.Sprint(out[0].Shape, out[0].Data); got != "[4] [0 0 2.5 4.5]" {
		t.Errorf("got %s", got)
	}
}

func TestBuilderRejectsBadTensors(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a tensor with the wrong number of values was accepted")
		}
	}()
	onnxpb.NewGraph("x").AddInitializer("w", []int64{2, 2}, []float32{1, 2, 3})
}
