package tfjs

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cityeye/cityeye/models/onnxpb"
)

// IOSpec describes one model input or output. Shape uses -1 for dynamic dims and is
// nil when the rank is unknown.
type IOSpec struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

// Converted is the result of translating a TF.js graph into ONNX.
type Converted struct {
	Graph   *onnxpb.Graph
	Inputs  []IOSpec
	Outputs []IOSpec
	Ops     []string // TF op types of the nodes the outputs depend on
}

// Opset is the ONNX default-domain opset the importer targets.
const Opset = 13

// value is a translated TF tensor: an ONNX value name, or a constant not yet written
// as an initializer (name == "").
type value struct {
	name  string
	hint  string // initializer name to use when a constant is materialised
	dtype DType
	shape []int64 // -1 unknown dim; nil unknown rank
	konst *Tensor
	conv  *onnxpb.NodeProto // bias-less Conv whose output, back in NHWC, is this value
	convC int64             // that Conv's output channels
	uses  int               // consumers of the TF tensor (graph outputs count)
}

type handler func(c *converter, n *Node, in []*value) ([]*value, error)

type converter struct {
	m        *Model
	dynBatch bool // ConvertOptions.DynamicBatch
	g        *onnxpb.Graph
	vals     map[string]*value // by TF tensor key "node:k"
	uses     map[string]int
	taken    map[string]bool // ONNX value names in use
}

func tensorKey(s string) string {
	n, k := splitTensorName(s)
	return n + ":" + strconv.Itoa(k)
}

// UnsupportedOpError reports TF ops the importer cannot translate.
type UnsupportedOpError struct {
	Nodes []string // "op (node name)"
}

func (e *UnsupportedOpError) Error() string {
	return "tfjs: unsupported op(s): " + strings.Join(e.Nodes, ", ")
}

// SupportedOps lists the TF op types the importer translates (some only when their
// inputs are constant and can be folded: SparseToDense).
func SupportedOps() []string {
	out := make([]string, 0, len(handlers))
	for op := range handlers {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// ConvertOptions tune a translation.
type ConvertOptions struct {
	// DynamicBatch makes a batch dimension of 1 symbolic (N): inputs declared [1, …]
	// become [N, …] and reshapes that keep the batch in front copy it (ONNX Reshape 0)
	// instead of fixing it to 1. Whether the graph then really batches (no other op
	// fixes the batch) is checked by running it: see Import.
	DynamicBatch bool
	// Outputs, when set, are the tensors the ONNX graph outputs instead of the
	// signature's: a graph whose own post-processing uses ops the importer lacks (or
	// that a decoder does better, such as CenterNet's top-k) is cut before it.
	Outputs []string
}

// Convert translates a loaded TF.js graph model into an ONNX graph named name, with
// the batch dimension the graph declares.
func Convert(m *Model, name string) (*Converted, error) {
	return ConvertWith(m, name, ConvertOptions{})
}

// ConvertWith is Convert with options.
func ConvertWith(m *Model, name string, opts ConvertOptions) (*Converted, error) {
	c := &converter{m: m, g: onnxpb.NewGraph(name), vals: map[string]*value{}, uses: map[string]int{}, taken: map[string]bool{},
		dynBatch: opts.DynamicBatch}
	c.g.Opset = Opset
	c.g.Producer = "cityeye-tfjs-import"

	// Outputs: those asked for, else the signature's, else the unconsumed non-constant nodes.
	var outTensors []string
	if len(opts.Outputs) > 0 {
		outTensors = append(outTensors, opts.Outputs...)
	} else if m.Signature != nil && len(m.Signature.Outputs) > 0 {
		for _, o := range m.Signature.Outputs {
			outTensors = append(outTensors, o.Name)
		}
	} else {
		consumed := map[string]bool{}
		for _, n := range m.Nodes {
			for _, in := range n.Inputs {
				nn, _ := splitTensorName(in)
				consumed[nn] = true
			}
		}
		for _, n := range m.Nodes {
			if !consumed[n.Name] && n.Op != "Const" && n.Op != "Placeholder" && n.Op != "NoOp" {
				outTensors = append(outTensors, n.Name)
			}
		}
	}
	if len(outTensors) == 0 {
		return nil, fmt.Errorf("tfjs: the graph has no outputs")
	}
	sort.SliceStable(outTensors, func(i, j int) bool { return naturalLess(outputName(outTensors[i]), outputName(outTensors[j])) })
	for _, o := range outTensors {
		nn, _ := splitTensorName(o)
		if m.byName[nn] == nil {
			return nil, fmt.Errorf("tfjs: output %q names no node", o)
		}
		c.taken[outputName(o)] = true
		c.uses[tensorKey(o)]++
	}

	order, err := c.topo(outTensors)
	if err != nil {
		return nil, err
	}
	var unsupported []string
	ops := map[string]bool{}
	for _, n := range order {
		ops[n.Op] = true
		if handlers[n.Op] == nil {
			unsupported = append(unsupported, fmt.Sprintf("%s (node %q)", n.Op, n.Name))
		}
		for _, in := range n.Inputs {
			c.uses[tensorKey(in)]++
		}
		if n.Op == "Placeholder" {
			c.taken[n.Name] = true
		}
	}
	if len(unsupported) > 0 {
		return nil, &UnsupportedOpError{Nodes: unsupported}
	}

	res := &Converted{Graph: c.g}
	for op := range ops {
		res.Ops = append(res.Ops, op)
	}
	sort.Strings(res.Ops)

	var placeholders []*Node
	for _, n := range order {
		in := make([]*value, len(n.Inputs))
		for i, s := range n.Inputs {
			v := c.vals[tensorKey(s)]
			if v == nil {
				return nil, fmt.Errorf("tfjs: node %q (op %s): input %q has no value (output index out of range?)", n.Name, n.Op, s)
			}
			in[i] = v
		}
		outs, err := handlers[n.Op](c, n, in)
		if err != nil {
			return nil, fmt.Errorf("tfjs: node %q (op %s): %w", n.Name, n.Op, err)
		}
		for k, v := range outs {
			key := n.Name + ":" + strconv.Itoa(k)
			v.uses = c.uses[key]
			c.vals[key] = v
		}
		if n.Op == "Placeholder" {
			placeholders = append(placeholders, n)
		}
	}

	// Inputs, in signature order when there is one.
	if m.Signature != nil && len(m.Signature.Inputs) > 0 {
		rank := map[string]int{}
		for i, s := range m.Signature.Inputs {
			nn, _ := splitTensorName(s.Name)
			rank[nn] = i + 1
		}
		sort.SliceStable(placeholders, func(i, j int) bool {
			ri, rj := rank[placeholders[i].Name], rank[placeholders[j].Name]
			if ri == 0 {
				ri = 1 << 30
			}
			if rj == 0 {
				rj = 1 << 30
			}
			return ri < rj
		})
	}
	for _, p := range placeholders {
		v := c.vals[p.Name+":0"]
		names := make([]string, len(v.shape))
		if len(names) > 0 {
			names[0] = "N"
		}
		c.g.Proto.Input = append(c.g.Proto.Input, onnxpb.ValueInfo(v.name, v.dtype.onnx(), v.shape, names...))
		res.Inputs = append(res.Inputs, IOSpec{Name: v.name, DType: v.dtype.String(), Shape: v.shape})
	}

	// Outputs: give each the TF.js tensor's name.
	protected := map[string]bool{}
	for _, o := range outTensors {
		v := c.vals[tensorKey(o)]
		want := outputName(o)
		have := c.ref(v)
		if have != want {
			if p := c.producer(have); p != nil && !protected[have] {
				c.rename(have, want)
				v.name = want
			} else {
				c.g.AddNode("Identity", []string{have}, []string{want})
			}
		}
		protected[want] = true
		if m.Signature != nil {
			for _, s := range m.Signature.Outputs {
				if s.Name == o && !shapesCompatible(s.Shape, v.shape) {
					return nil, fmt.Errorf("tfjs: output %q: translated shape %v disagrees with the signature's %v", want, v.shape, s.Shape)
				}
			}
		}
		shape := v.shape
		if shape == nil && m.Signature != nil {
			for _, s := range m.Signature.Outputs {
				if s.Name == o {
					shape = s.Shape
				}
			}
		}
		c.g.AddOutput(want, v.dtype.onnx(), shape)
		res.Outputs = append(res.Outputs, IOSpec{Name: want, DType: v.dtype.String(), Shape: shape})
	}
	optimize(c.g, protected)
	return res, nil
}

// outputName is the ONNX name of a TF output tensor: "Identity:0" -> "Identity".
func outputName(t string) string {
	n, k := splitTensorName(t)
	if k == 0 {
		return n
	}
	return n + ":" + strconv.Itoa(k)
}

// naturalLess orders "Identity_2" before "Identity_10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			ia, _ := strconv.Atoi(da)
			ib, _ := strconv.Atoi(db)
			if ia != ib {
				return ia < ib
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func shapesCompatible(a, b []int64) bool {
	if a == nil || b == nil {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
			return false
		}
	}
	return true
}

// topo orders the nodes the outputs depend on, inputs first.
func (c *converter) topo(outputs []string) ([]*Node, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []*Node
	var visit func(name string, from string) error
	visit = func(name, from string) error {
		n := c.m.byName[name]
		if n == nil {
			return fmt.Errorf("tfjs: node %q reads %q, which is not in the graph", from, name)
		}
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("tfjs: the graph has a cycle through %q (control flow is not supported)", name)
		}
		state[name] = visiting
		for _, in := range n.Inputs {
			nn, _ := splitTensorName(in)
			if err := visit(nn, name); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, n)
		return nil
	}
	for _, o := range outputs {
		nn, _ := splitTensorName(o)
		if err := visit(nn, "outputs"); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// fresh returns an unused ONNX value name based on base.
func (c *converter) fresh(base string) string {
	name := base
	for i := 1; c.taken[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	c.taken[name] = true
	return name
}

// ref returns the ONNX name of v, writing a constant as an initializer on first use.
func (c *converter) ref(v *value) string {
	if v.name == "" {
		v.name = c.fresh(v.hint)
		c.g.AddTensor(v.konst.proto(v.name))
	}
	return v.name
}

// constInit writes t as a new initializer and returns its name.
func (c *converter) constInit(hint string, t *Tensor) string {
	name := c.fresh(hint)
	c.g.AddTensor(t.proto(name))
	return name
}

func (c *converter) int64s(hint string, v ...int64) string {
	return c.constInit(hint, &Tensor{DType: Int64, Shape: []int64{int64(len(v))}, I: v})
}

func (c *converter) scalarLike(hint string, d DType, x float64) string {
	t := &Tensor{DType: d, Shape: []int64{}}
	if d == Float32 {
		t.F = []float32{float32(x)}
	} else {
		t.I = []int64{int64(x)}
	}
	return c.constInit(hint, t)
}

func constValue(hint string, t *Tensor) *value {
	return &value{hint: hint, dtype: t.DType, shape: append([]int64{}, t.Shape...), konst: t}
}

// emit adds a single-output node and returns its output name.
func (c *converter) emit(op string, ins []string, hint string, attrs ...*onnxpb.AttributeProto) string {
	out := c.fresh(hint)
	node := c.g.AddNode(op, ins, []string{out}, attrs...)
	node.Name = c.fresh("node/" + hint)
	return out
}

func (c *converter) producer(name string) *onnxpb.NodeProto {
	for _, n := range c.g.Proto.Node {
		for _, o := range n.Output {
			if o == name {
				return n
			}
		}
	}
	return nil
}

func (c *converter) rename(from, to string) {
	for _, n := range c.g.Proto.Node {
		for i, s := range n.Input {
			if s == from {
				n.Input[i] = to
			}
		}
		for i, s := range n.Output {
			if s == from {
				n.Output[i] = to
			}
		}
	}
	c.taken[to] = true
}

// constArg returns input i, which must be constant.
func constArg(in []*value, i int, what string) (*Tensor, error) {
	if i >= len(in) {
		return nil, fmt.Errorf("missing input %d (%s)", i, what)
	}
	if in[i].konst == nil {
		return nil, fmt.Errorf("%s (input %d) must be a constant; it is computed at run time", what, i)
	}
	return in[i].konst, nil
}

func constInts(in []*value, i int, what string) ([]int64, error) {
	t, err := constArg(in, i, what)
	if err != nil {
		return nil, err
	}
	v, err := t.Ints()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

func nInputs(in []*value, want int) error {
	if len(in) < want {
		return fmt.Errorf("has %d inputs, needs %d", len(in), want)
	}
	return nil
}

func normAxis(axis int64, rank int) (int64, error) {
	if rank < 0 {
		if axis < 0 {
			return 0, fmt.Errorf("negative axis %d on a tensor of unknown rank", axis)
		}
		return axis, nil
	}
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return axis, nil
}

func rankOf(v *value) int {
	if v.shape == nil {
		return -1
	}
	return len(v.shape)
}

func copyShape(s []int64) []int64 {
	if s == nil {
		return nil
	}
	return append([]int64{}, s...)
}
