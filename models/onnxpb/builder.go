package onnxpb

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"
)

// Defaults used by NewGraph: ONNX IR version 7 (the version this onnx.proto3 defines)
// and the default-domain opset 13, which IR 7 supports.
const (
	DefaultIRVersion = 7
	DefaultOpset     = 13
)

// Graph assembles a single-graph ONNX model. Zero values are not usable; call NewGraph.
type Graph struct {
	Proto     *GraphProto
	Opset     int64  // default-domain opset version written by Model
	IRVersion int64  // ModelProto.ir_version written by Model
	Producer  string // ModelProto.producer_name
	DocString string // ModelProto.doc_string
	Metadata  map[string]string

	names map[string]bool // initializer names, to reject duplicates
}

// NewGraph starts an empty graph named name.
func NewGraph(name string) *Graph {
	return &Graph{
		Proto:     &GraphProto{Name: name},
		Opset:     DefaultOpset,
		IRVersion: DefaultIRVersion,
		Producer:  "cityeye",
		names:     map[string]bool{},
	}
}

// ValueInfo describes a typed tensor value. A negative dimension becomes a symbolic
// dimension (dim_param) named by DimNames[i] when set, else "d<i>".
func ValueInfo(name string, elem TensorProto_DataType, dims []int64, dimNames ...string) *ValueInfoProto {
	shape := &TensorShapeProto{}
	for i, d := range dims {
		dim := &TensorShapeProto_Dimension{}
		if d >= 0 {
			dim.Value = &TensorShapeProto_Dimension_DimValue{DimValue: d}
		} else {
			p := fmt.Sprintf("d%d", i)
			if i < len(dimNames) && dimNames[i] != "" {
				p = dimNames[i]
			}
			dim.Value = &TensorShapeProto_Dimension_DimParam{DimParam: p}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &ValueInfoProto{Name: name, Type: &TypeProto{Value: &TypeProto_TensorType{
		TensorType: &TypeProto_Tensor{ElemType: int32(elem), Shape: shape}}}}
}

// AddInput declares a graph input (negative dims are dynamic).
func (g *Graph) AddInput(name string, elem TensorProto_DataType, dims []int64) *ValueInfoProto {
	vi := ValueInfo(name, elem, dims)
	g.Proto.Input = append(g.Proto.Input, vi)
	return vi
}

// AddOutput declares a graph output. dims may be nil when the shape is unknown.
func (g *Graph) AddOutput(name string, elem TensorProto_DataType, dims []int64) *ValueInfoProto {
	var vi *ValueInfoProto
	if dims == nil {
		vi = &ValueInfoProto{Name: name, Type: &TypeProto{Value: &TypeProto_TensorType{
			TensorType: &TypeProto_Tensor{ElemType: int32(elem)}}}}
	} else {
		vi = ValueInfo(name, elem, dims)
	}
	g.Proto.Output = append(g.Proto.Output, vi)
	return vi
}

// HasInitializer reports whether an initializer of that name was added.
func (g *Graph) HasInitializer(name string) bool { return g.names[name] }

// AddTensor adds a ready-made initializer. It panics on a duplicate name, which is
// always a programming error in the caller.
func (g *Graph) AddTensor(t *TensorProto) *TensorProto {
	if g.names[t.Name] {
		panic(fmt.Sprintf("onnxpb: duplicate initializer %q", t.Name))
	}
	g.names[t.Name] = true
	g.Proto.Initializer = append(g.Proto.Initializer, t)
	return t
}

// AddInitializer adds a float32 initializer stored as little-endian raw data.
func (g *Graph) AddInitializer(name string, dims []int64, data []float32) *TensorProto {
	return g.AddTensor(FloatTensor(name, dims, data))
}

// AddInitializerInt64 adds an int64 initializer (shapes, axes, pads...).
func (g *Graph) AddInitializerInt64(name string, dims []int64, data []int64) *TensorProto {
	return g.AddTensor(Int64Tensor(name, dims, data))
}

// AddInitializerInt32 adds an int32 initializer.
func (g *Graph) AddInitializerInt32(name string, dims []int64, data []int32) *TensorProto {
	return g.AddTensor(Int32Tensor(name, dims, data))
}

// AddNode appends a node of the default domain. Its name is its first output.
func (g *Graph) AddNode(op string, inputs, outputs []string, attrs ...*AttributeProto) *NodeProto {
	n := &NodeProto{OpType: op, Input: inputs, Output: outputs, Attribute: attrs}
	if len(outputs) > 0 {
		n.Name = outputs[0]
	}
	g.Proto.Node = append(g.Proto.Node, n)
	return n
}

// Model wraps the graph in a ModelProto.
func (g *Graph) Model() *ModelProto {
	m := &ModelProto{
		IrVersion:    g.IRVersion,
		OpsetImport:  []*OperatorSetIdProto{{Domain: "", Version: g.Opset}},
		ProducerName: g.Producer,
		DocString:    g.DocString,
		Graph:        g.Proto,
	}
	for k, v := range g.Metadata {
		m.MetadataProps = append(m.MetadataProps, &StringStringEntryProto{Key: k, Value: v})
	}
	sortEntries(m.MetadataProps)
	return m
}

// Marshal serialises the model deterministically.
func (g *Graph) Marshal() ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(g.Model())
}

func sortEntries(e []*StringStringEntryProto) {
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && e[j].Key < e[j-1].Key; j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

// FloatTensor builds a float32 TensorProto with raw little-endian data.
func FloatTensor(name string, dims []int64, data []float32) *TensorProto {
	checkSize(name, dims, len(data))
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &TensorProto{Name: name, Dims: append([]int64{}, dims...), DataType: int32(TensorProto_FLOAT), RawData: raw}
}

// Int64Tensor builds an int64 TensorProto with raw little-endian data.
func Int64Tensor(name string, dims []int64, data []int64) *TensorProto {
	checkSize(name, dims, len(data))
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &TensorProto{Name: name, Dims: append([]int64{}, dims...), DataType: int32(TensorProto_INT64), RawData: raw}
}

// Int32Tensor builds an int32 TensorProto with raw little-endian data.
func Int32Tensor(name string, dims []int64, data []int32) *TensorProto {
	checkSize(name, dims, len(data))
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return &TensorProto{Name: name, Dims: append([]int64{}, dims...), DataType: int32(TensorProto_INT32), RawData: raw}
}

func checkSize(name string, dims []int64, n int) {
	want := int64(1)
	for _, d := range dims {
		want *= d
	}
	if want != int64(n) {
		panic(fmt.Sprintf("onnxpb: tensor %q has %d values for dims %v", name, n, dims))
	}
}

// Float32s decodes a float32 tensor stored either as raw_data or float_data.
func Float32s(t *TensorProto) ([]float32, error) {
	if t.DataType != int32(TensorProto_FLOAT) {
		return nil, fmt.Errorf("tensor %q: data type %d is not FLOAT", t.Name, t.DataType)
	}
	if len(t.RawData) > 0 {
		if len(t.RawData)%4 != 0 {
			return nil, fmt.Errorf("tensor %q: raw data of %d bytes", t.Name, len(t.RawData))
		}
		out := make([]float32, len(t.RawData)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
		}
		return out, nil
	}
	return append([]float32(nil), t.FloatData...), nil
}

// Int64s decodes an int64 tensor stored either as raw_data or int64_data.
func Int64s(t *TensorProto) ([]int64, error) {
	if t.DataType != int32(TensorProto_INT64) {
		return nil, fmt.Errorf("tensor %q: data type %d is not INT64", t.Name, t.DataType)
	}
	if len(t.RawData) > 0 {
		if len(t.RawData)%8 != 0 {
			return nil, fmt.Errorf("tensor %q: raw data of %d bytes", t.Name, len(t.RawData))
		}
		out := make([]int64, len(t.RawData)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
		}
		return out, nil
	}
	return append([]int64(nil), t.Int64Data...), nil
}

// Attribute constructors.

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_INT, I: v}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_INTS, Ints: append([]int64{}, v...)}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_FLOAT, F: v}
}

// AttrFloats is a FLOATS attribute.
func AttrFloats(name string, v ...float32) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_FLOATS, Floats: append([]float32{}, v...)}
}

// AttrString is a STRING attribute.
func AttrString(name, v string) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_STRING, S: []byte(v)}
}

// AttrTensor is a TENSOR attribute (for Constant nodes).
func AttrTensor(name string, t *TensorProto) *AttributeProto {
	return &AttributeProto{Name: name, Type: AttributeProto_TENSOR, T: t}
}
