// Package tfjs imports TensorFlow.js graph models (model.json + binary weight shards)
// into ONNX.
//
// The importer reads the TF.js "graph-model" format, dequantises its weights (float16
// and affine uint8/uint16 quantisation as declared by the weights manifest), constant-
// folds the constant subgraphs TF.js converters leave behind, translates each remaining
// TensorFlow op into ONNX (default domain, opset 13) and writes the .onnx file with a
// draft manifest beside it. TF.js tensors are NHWC; the ONNX model keeps the TF.js
// model's input and output names, shapes and layouts, wrapping convolutions and pools
// in Transposes (adjacent Transposes are then composed away).
package tfjs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Model is a parsed TF.js graph model with its weights loaded.
type Model struct {
	Path        string // model.json path
	Format      string
	GeneratedBy string
	ConvertedBy string
	Nodes       []*Node
	Weights     map[string]*Tensor // dequantised weights by node name
	Signature   *Signature         // nil when the model.json has none

	byName map[string]*Node
}

// Node is one TensorFlow NodeDef.
type Node struct {
	Name   string
	Op     string
	Inputs []string // data inputs ("name" or "name:k"); control inputs are dropped
	Attr   map[string]AttrValue
}

// Signature lists the model's declared inputs and outputs in model.json order.
type Signature struct {
	Inputs  []SignatureTensor
	Outputs []SignatureTensor
}

// SignatureTensor is one signature entry: Key is the signature name, Name the tensor.
type SignatureTensor struct {
	Key   string
	Name  string
	DType string
	Shape []int64 // nil when not declared; -1 for unknown dims
}

// AttrValue is TensorFlow's AttrValue in the JSON encoding TF.js writes.
type AttrValue struct {
	S      *string     `json:"s,omitempty"` // base64
	I      json.Number `json:"i,omitempty"`
	F      *float64    `json:"f,omitempty"`
	B      *bool       `json:"b,omitempty"`
	Type   string      `json:"type,omitempty"`
	Shape  *shapeJSON  `json:"shape,omitempty"`
	Tensor *tensorJSON `json:"tensor,omitempty"`
	List   *struct {
		S     []string      `json:"s,omitempty"`
		I     []json.Number `json:"i,omitempty"`
		F     []float64     `json:"f,omitempty"`
		B     []bool        `json:"b,omitempty"`
		Type  []string      `json:"type,omitempty"`
		Shape []shapeJSON   `json:"shape,omitempty"`
	} `json:"list,omitempty"`
}

type shapeJSON struct {
	Dim []struct {
		Size json.Number `json:"size"`
	} `json:"dim"`
	UnknownRank bool `json:"unknownRank"`
}

type tensorJSON struct {
	DType       string     `json:"dtype"`
	TensorShape *shapeJSON `json:"tensorShape"`
}

func (s *shapeJSON) dims() []int64 {
	if s == nil || s.UnknownRank {
		return nil
	}
	out := make([]int64, len(s.Dim))
	for i, d := range s.Dim {
		v, err := d.Size.Int64()
		if err != nil || d.Size == "" {
			v = -1
		}
		if d.Size == "" {
			v = 0 // proto3 JSON omits zero
		}
		out[i] = v
	}
	return out
}

type modelJSON struct {
	Format              string          `json:"format"`
	GeneratedBy         string          `json:"generatedBy"`
	ConvertedBy         string          `json:"convertedBy"`
	Signature           json.RawMessage `json:"signature"`
	UserDefinedMetadata struct {
		Signature json.RawMessage `json:"signature"`
	} `json:"userDefinedMetadata"`
	ModelTopology struct {
		Node    []nodeJSON `json:"node"`
		Library struct {
			Function []json.RawMessage `json:"function"`
		} `json:"library"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string     `json:"paths"`
		Weights []weightSpec `json:"weights"`
	} `json:"weightsManifest"`
}

type nodeJSON struct {
	Name  string               `json:"name"`
	Op    string               `json:"op"`
	Input []string             `json:"input"`
	Attr  map[string]AttrValue `json:"attr"`
}

type weightSpec struct {
	Name         string  `json:"name"`
	Shape        []int64 `json:"shape"`
	DType        string  `json:"dtype"`
	Quantization *struct {
		DType         string   `json:"dtype"`
		Scale         *float64 `json:"scale"`
		Min           *float64 `json:"min"`
		OriginalDType string   `json:"original_dtype"`
	} `json:"quantization"`
}

// Load reads a TF.js graph model: path is model.json or a directory holding it (a
// directory with exactly one .json file also works). Weight shards are read from the
// paths the weights manifest lists, relative to the model.json.
func Load(path string) (*Model, error) {
	jsonPath, err := findModelJSON(path)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	var mj modelJSON
	if err := json.Unmarshal(raw, &mj); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonPath, err)
	}
	if mj.Format != "" && mj.Format != "graph-model" {
		return nil, fmt.Errorf("%s: format %q is not a TF.js graph model (layers models are not supported)", jsonPath, mj.Format)
	}
	if len(mj.ModelTopology.Node) == 0 {
		return nil, fmt.Errorf("%s: modelTopology has no nodes (not a TF.js graph model?)", jsonPath)
	}
	if len(mj.ModelTopology.Library.Function) > 0 {
		return nil, fmt.Errorf("%s: graph functions (control flow) are not supported", jsonPath)
	}
	m := &Model{Path: jsonPath, Format: mj.Format, GeneratedBy: mj.GeneratedBy, ConvertedBy: mj.ConvertedBy,
		Weights: map[string]*Tensor{}, byName: map[string]*Node{}}
	for _, nj := range mj.ModelTopology.Node {
		n := &Node{Name: nj.Name, Op: nj.Op, Attr: nj.Attr}
		for _, in := range nj.Input {
			if strings.HasPrefix(in, "^") {
				continue // control dependency: irrelevant for a dataflow translation
			}
			n.Inputs = append(n.Inputs, in)
		}
		if _, dup := m.byName[n.Name]; dup {
			return nil, fmt.Errorf("%s: duplicate node name %q", jsonPath, n.Name)
		}
		m.byName[n.Name] = n
		m.Nodes = append(m.Nodes, n)
	}
	sigRaw := mj.Signature
	if len(sigRaw) == 0 || string(sigRaw) == "null" {
		sigRaw = mj.UserDefinedMetadata.Signature
	}
	if len(sigRaw) > 0 && string(sigRaw) != "null" {
		if m.Signature, err = parseSignature(sigRaw); err != nil {
			return nil, fmt.Errorf("%s: signature: %w", jsonPath, err)
		}
	}
	dir := filepath.Dir(jsonPath)
	for _, group := range mj.WeightsManifest {
		var buf []byte
		for _, p := range group.Paths {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
			if err != nil {
				return nil, fmt.Errorf("weights shard: %w", err)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, ws := range group.Weights {
			t, n, err := decodeWeight(ws, buf[off:])
			if err != nil {
				return nil, fmt.Errorf("%s: weight %q: %w", jsonPath, ws.Name, err)
			}
			off += n
			m.Weights[ws.Name] = t
		}
		if off != len(buf) {
			return nil, fmt.Errorf("%s: weight shards hold %d bytes, manifest describes %d", jsonPath, len(buf), off)
		}
	}
	return m, nil
}

func findModelJSON(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	if _, err := os.Stat(filepath.Join(path, "model.json")); err == nil {
		return filepath.Join(path, "model.json"), nil
	}
	matches, _ := filepath.Glob(filepath.Join(path, "*.json"))
	if len(matches) == 1 {
		return matches[0], nil
	}
	return "", fmt.Errorf("%s: no model.json (and %d other .json files); name the model file explicitly", path, len(matches))
}

// parseSignature keeps model.json order, which a Go map would lose.
func parseSignature(raw json.RawMessage) (*Signature, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	sig := &Signature{}
	var err error
	if sig.Inputs, err = orderedEntries(top["inputs"]); err != nil {
		return nil, err
	}
	if sig.Outputs, err = orderedEntries(top["outputs"]); err != nil {
		return nil, err
	}
	return sig, nil
}

func orderedEntries(raw json.RawMessage) ([]SignatureTensor, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out []SignatureTensor
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var e struct {
			Name        string     `json:"name"`
			DType       string     `json:"dtype"`
			TensorShape *shapeJSON `json:"tensorShape"`
		}
		if err := dec.Decode(&e); err != nil {
			return nil, err
		}
		if e.Name == "" {
			e.Name = key
		}
		out = append(out, SignatureTensor{Key: key, Name: e.Name, DType: e.DType, Shape: e.TensorShape.dims()})
	}
	return out, nil
}

// decodeWeight dequantises one weight from the front of buf and reports the bytes used.
func decodeWeight(ws weightSpec, buf []byte) (*Tensor, int, error) {
	n := int64(1)
	for _, d := range ws.Shape {
		if d < 0 {
			return nil, 0, fmt.Errorf("negative dimension in shape %v", ws.Shape)
		}
		n *= d
	}
	shape := append([]int64{}, ws.Shape...)
	var dt DType
	switch ws.DType {
	case "float32":
		dt = Float32
	case "int32":
		dt = Int32
	case "bool":
		dt = Bool
	default:
		return nil, 0, fmt.Errorf("dtype %q is not supported", ws.DType)
	}
	t := &Tensor{DType: dt, Shape: shape}
	need := func(size int64) error {
		if int64(len(buf)) < n*size {
			return fmt.Errorf("needs %d bytes, only %d left in the shards", n*size, len(buf))
		}
		return nil
	}
	q := ws.Quantization
	if q == nil {
		switch dt {
		case Float32:
			if err := need(4); err != nil {
				return nil, 0, err
			}
			t.F = make([]float32, n)
			for i := range t.F {
				t.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			return t, int(4 * n), nil
		case Int32:
			if err := need(4); err != nil {
				return nil, 0, err
			}
			t.I = make([]int64, n)
			for i := range t.I {
				t.I[i] = int64(int32(binary.LittleEndian.Uint32(buf[4*i:])))
			}
			return t, int(4 * n), nil
		default: // bool: one byte each
			if err := need(1); err != nil {
				return nil, 0, err
			}
			t.I = make([]int64, n)
			for i := range t.I {
				if buf[i] != 0 {
					t.I[i] = 1
				}
			}
			return t, int(n), nil
		}
	}
	switch q.DType {
	case "float16":
		if dt != Float32 {
			return nil, 0, fmt.Errorf("float16 quantisation of a %s weight", ws.DType)
		}
		if err := need(2); err != nil {
			return nil, 0, err
		}
		t.F = make([]float32, n)
		for i := range t.F {
			t.F[i] = halfToFloat(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		return t, int(2 * n), nil
	case "uint8", "uint16":
		size := int64(1)
		if q.DType == "uint16" {
			size = 2
		}
		if err := need(size); err != nil {
			return nil, 0, err
		}
		if q.Scale == nil || q.Min == nil {
			return nil, 0, fmt.Errorf("%s quantisation without scale and min", q.DType)
		}
		scale, min := *q.Scale, *q.Min
		vals := make([]float32, n)
		for i := range vals {
			var v uint32
			if size == 1 {
				v = uint32(buf[i])
			} else {
				v = uint32(binary.LittleEndian.Uint16(buf[2*i:]))
			}
			// TF.js dequantises as v*scale + min in double precision, then stores float32.
			vals[i] = float32(float64(v)*scale + min)
		}
		if dt == Float32 {
			t.F = vals
		} else {
			t.I = make([]int64, n)
			for i, v := range vals {
				t.I[i] = int64(math.Round(float64(v)))
			}
		}
		return t, int(size * n), nil
	}
	return nil, 0, fmt.Errorf("quantisation dtype %q is not supported", q.DType)
}

// halfToFloat converts IEEE 754 binary16 to float32 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf/NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: normalise
		e := int32(-14)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | uint32(e+127)<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
}

// Attribute accessors.

func (n *Node) str(key string) (string, bool) {
	a, ok := n.Attr[key]
	if !ok || a.S == nil {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(*a.S)
	if err != nil {
		return *a.S, true
	}
	return string(b), true
}

func (n *Node) strDefault(key, def string) string {
	if s, ok := n.str(key); ok {
		return s
	}
	return def
}

func (n *Node) boolean(key string) bool {
	a, ok := n.Attr[key]
	return ok && a.B != nil && *a.B
}

func (n *Node) float(key string, def float32) float32 {
	a, ok := n.Attr[key]
	if !ok || a.F == nil {
		return def
	}
	return float32(*a.F)
}

func (n *Node) integer(key string, def int64) int64 {
	a, ok := n.Attr[key]
	if !ok || a.I == "" {
		return def
	}
	v, err := strconv.ParseInt(string(a.I), 10, 64)
	if err != nil {
		return def
	}
	return v
}

func (n *Node) ints(key string) []int64 {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil
	}
	out := make([]int64, len(a.List.I))
	for i, s := range a.List.I {
		out[i], _ = strconv.ParseInt(string(s), 10, 64)
	}
	return out
}

func (n *Node) strs(key string) []string {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil
	}
	out := make([]string, len(a.List.S))
	for i, s := range a.List.S {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			out[i] = s
		} else {
			out[i] = string(b)
		}
	}
	return out
}

func (n *Node) dtype(key string) string {
	if a, ok := n.Attr[key]; ok {
		return a.Type
	}
	return ""
}

// Ops lists the distinct op types of the graph, sorted.
func (m *Model) Ops() []string {
	seen := map[string]bool{}
	for _, n := range m.Nodes {
		seen[n.Op] = true
	}
	out := make([]string, 0, len(seen))
	for op := range seen {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// splitTensorName splits "node:2" into ("node", 2); "node" is output 0.
func splitTensorName(s string) (string, int) {
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if k, err := strconv.Atoi(s[i+1:]); err == nil {
			return s[:i], k
		}
	}
	return s, 0
}
