package tfjs

import (
	"fmt"
	"strconv"

	"github.com/cityeye/cityeye/models/onnxpb"
)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"Placeholder":  placeholderOp,
		"Const":        constOp,
		"Identity":     identityOp,
		"StopGradient": identityOp,
		"Snapshot":     identityOp,

		"Conv2D":                     convOp,
		"_FusedConv2D":               convOp,
		"DepthwiseConv2dNative":      convOp,
		"DepthwiseConv2d":            convOp,
		"FusedDepthwiseConv2dNative": convOp,
		"MaxPool":                    poolOp,
		"AvgPool":                    poolOp,
		"MatMul":                     matMulOp,
		"_FusedMatMul":               matMulOp,

		"Add":       binaryOp("Add"),
		"AddV2":     binaryOp("Add"),
		"BiasAdd":   binaryOp("Add"),
		"Sub":       binaryOp("Sub"),
		"Mul":       binaryOp("Mul"),
		"RealDiv":   binaryOp("Div"),
		"Div":       binaryOp("Div"),
		"Maximum":   binaryOp("Max"),
		"Minimum":   binaryOp("Min"),
		"Abs":       unaryOp("Abs"),
		"Neg":       unaryOp("Neg"),
		"Relu":      unaryOp("Relu"),
		"Relu6":     unaryOp("Relu6"),
		"Elu":       unaryOp("Elu"),
		"LeakyRelu": unaryOp("LeakyRelu"),
		"Sigmoid":   unaryOp("Sigmoid"),
		"Tanh":      unaryOp("Tanh"),
		"Exp":       unaryOp("Exp"),
		"Log":       unaryOp("Log"),
		"Sqrt":      unaryOp("Sqrt"),
		"Rsqrt":     unaryOp("Rsqrt"),
		"Square":    unaryOp("Square"),
		"Prelu":     preluOp,
		"Softmax":   softmaxOp,

		"Pad":       padOp,
		"PadV2":     padOp,
		"MirrorPad": padOp,

		"Reshape":               reshapeOp,
		"Transpose":             transposeOp,
		"ConcatV2":              concatOp,
		"Concat":                concatOp,
		"Pack":                  packOp,
		"SplitV":                splitOp,
		"Split":                 splitOp,
		"Squeeze":               squeezeOp,
		"ExpandDims":            expandDimsOp,
		"ResizeBilinear":        resizeOp,
		"ResizeNearestNeighbor": resizeOp,
		"Sum":                   reduceOp("ReduceSum"),
		"Mean":                  reduceOp("ReduceMean"),
		"Max":                   reduceOp("ReduceMax"),
		"Min":                   reduceOp("ReduceMin"),
		"Prod":                  reduceOp("ReduceProd"),
		"Cast":                  castOp,
		"Shape":                 shapeOp,
		"GatherV2":              gatherOp,
		"SparseToDense":         sparseToDenseOp,
	}
}

func placeholderOp(c *converter, n *Node, in []*value) ([]*value, error) {
	dt, err := tfDType(n.dtype("dtype"))
	if err != nil {
		return nil, err
	}
	var shape []int64
	if a, ok := n.Attr["shape"]; ok && a.Shape != nil {
		shape = a.Shape.dims()
	}
	if c.m.Signature != nil {
		for _, s := range c.m.Signature.Inputs {
			if nn, _ := splitTensorName(s.Name); nn == n.Name && s.Shape != nil {
				shape = s.Shape
			}
		}
	}
	if shape == nil {
		return nil, fmt.Errorf("input has no declared shape")
	}
	if c.dynBatch && len(shape) >= 2 && shape[0] == 1 {
		shape = append([]int64{-1}, shape[1:]...)
	}
	return []*value{{name: n.Name, dtype: dt, shape: shape}}, nil
}

func constOp(c *converter, n *Node, in []*value) ([]*value, error) {
	t, ok := c.m.Weights[n.Name]
	if !ok {
		return nil, fmt.Errorf("constant has no entry in the weights manifest")
	}
	if want := n.dtype("dtype"); want != "" {
		dt, err := tfDType(want)
		if err != nil {
			return nil, err
		}
		if dt != t.DType {
			t = t.withType(dt) // e.g. DT_INT64 constants are stored as int32 by TF.js
		}
	}
	return []*value{constValue(n.Name, t)}, nil
}

func identityOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	v := *in[0]
	v.conv = nil // an alias must not let a later Add rewrite the Conv
	if v.konst != nil {
		// share the initializer if one gets written
		src := in[0]
		return []*value{{hint: n.Name, dtype: v.dtype, shape: v.shape, konst: v.konst, name: src.name}}, nil
	}
	return []*value{&v}, nil
}

// tfPads computes ONNX begin/end pads for spatial dims under TF padding rules. in holds
// the spatial input sizes (-1 unknown); with SAME and an unknown size, autoPad is
// returned instead (ONNX SAME_UPPER is TF's SAME: the odd pixel goes at the end).
func tfPads(padding string, in, k, s, d, explicit []int64) (pads []int64, autoPad string, err error) {
	nd := len(in)
	pads = make([]int64, 2*nd)
	switch padding {
	case "VALID":
		return pads, "", nil
	case "SAME":
		for i := 0; i < nd; i++ {
			if in[i] < 0 {
				return nil, "SAME_UPPER", nil
			}
			out := (in[i] + s[i] - 1) / s[i]
			total := max((out-1)*s[i]+(k[i]-1)*d[i]+1-in[i], 0)
			pads[i] = total / 2
			pads[nd+i] = total - total/2
		}
		return pads, "", nil
	case "EXPLICIT":
		// explicit_paddings holds (before, after) for every dim of the NHWC/NCHW tensor;
		// the caller passes the spatial pairs only.
		if len(explicit) != 2*nd {
			return nil, "", fmt.Errorf("explicit_paddings %v", explicit)
		}
		for i := 0; i < nd; i++ {
			pads[i] = explicit[2*i]
			pads[nd+i] = explicit[2*i+1]
		}
		return pads, "", nil
	}
	return nil, "", fmt.Errorf("padding %q is not supported", padding)
}

func windowOut(in, k, s, d, pb, pe int64) int64 {
	if in < 0 {
		return -1
	}
	return (in+pb+pe-((k-1)*d+1))/s + 1
}

// layout returns the positions of H, W and C and the Transposes to/from NCHW.
func layout(n *Node) (nhwc bool, err error) {
	switch f := n.strDefault("data_format", "NHWC"); f {
	case "NHWC":
		return true, nil
	case "NCHW":
		return false, nil
	default:
		return false, fmt.Errorf("data_format %q is not supported", f)
	}
}

var (
	toNCHW = []int64{0, 3, 1, 2}
	toNHWC = []int64{0, 2, 3, 1}
)

func permute(shape []int64, perm []int64) []int64 {
	if shape == nil {
		return nil
	}
	out := make([]int64, len(perm))
	for i, p := range perm {
		out[i] = shape[p]
	}
	return out
}

// spatialPairs extracts the H and W (before, after) pairs from a 4-D list of pairs.
func spatialPairs(list []int64, nhwc bool) []int64 {
	if len(list) != 8 {
		return list
	}
	if nhwc {
		return list[2:6]
	}
	return list[4:8]
}

// four returns (h, w) from a 4-element NHWC/NCHW attribute (strides, ksize, dilations).
func four(v []int64, nhwc bool, def int64) (int64, int64) {
	switch len(v) {
	case 4:
		if nhwc {
			return v[1], v[2]
		}
		return v[2], v[3]
	case 2:
		return v[0], v[1]
	case 1:
		return v[0], v[0]
	}
	return def, def
}

func convOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	depthwise := n.Op != "Conv2D" && n.Op != "_FusedConv2D"
	nhwc, err := layout(n)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if rankOf(x) != 4 {
		return nil, fmt.Errorf("input must be 4-D, has shape %v", x.shape)
	}
	f, err := constArg(in, 1, "filter")
	if err != nil {
		return nil, err
	}
	if len(f.Shape) != 4 || f.DType != Float32 {
		return nil, fmt.Errorf("filter must be a 4-D float tensor, has shape %v", f.Shape)
	}
	kh, kw, ci, co := f.Shape[0], f.Shape[1], f.Shape[2], f.Shape[3]
	var w *Tensor
	group := int64(1)
	if depthwise {
		// [kh, kw, in, mult] -> [in*mult, 1, kh, kw]; TF orders output channels in-major.
		t, err := transposeTensor(f, []int64{2, 3, 0, 1})
		if err != nil {
			return nil, err
		}
		t.Shape = []int64{ci * co, 1, kh, kw}
		w, group, co = t, ci, ci*co
	} else {
		if w, err = transposeTensor(f, []int64{3, 2, 0, 1}); err != nil {
			return nil, err
		}
	}
	chans := x.shape[3]
	if !nhwc {
		chans = x.shape[1]
	}
	if chans >= 0 && chans != ci {
		return nil, fmt.Errorf("input has %d channels, filter expects %d", chans, ci)
	}
	sh, sw := four(n.ints("strides"), nhwc, 1)
	dh, dw := four(n.ints("dilations"), nhwc, 1)
	xn := x.shape
	if nhwc {
		xn = permute(x.shape, toNCHW)
	}
	pads, autoPad, err := tfPads(n.strDefault("padding", "VALID"), xn[2:], []int64{kh, kw}, []int64{sh, sw}, []int64{dh, dw},
		spatialPairs(n.ints("explicit_paddings"), nhwc))
	if err != nil {
		return nil, err
	}
	attrs := []*onnxpb.AttributeProto{
		onnxpb.AttrInts("kernel_shape", kh, kw),
		onnxpb.AttrInts("strides", sh, sw),
		onnxpb.AttrInts("dilations", dh, dw),
		onnxpb.AttrInt("group", group),
	}
	if autoPad != "" {
		attrs = append(attrs, onnxpb.AttrString("auto_pad", autoPad))
	} else {
		attrs = append(attrs, onnxpb.AttrInts("pads", pads...))
	}
	xin := c.ref(x)
	if nhwc {
		xin = c.emit("Transpose", []string{xin}, n.Name+"/to_nchw", onnxpb.AttrInts("perm", toNCHW...))
	}
	ins := []string{xin, c.constInit(n.Name+"/weights", w)}

	// Fused ops: BiasAdd first, then at most one activation.
	fused := n.strs("fused_ops")
	extra := 2
	var act string
	for i, op := range fused {
		switch {
		case op == "BiasAdd" && i == 0:
			b, err := constArg(in, extra, "bias")
			if err != nil {
				return nil, err
			}
			if b.DType != Float32 || b.Len() != int(co) {
				return nil, fmt.Errorf("bias has shape %v, want [%d]", b.Shape, co)
			}
			ins = append(ins, c.constInit(n.Name+"/bias", &Tensor{DType: Float32, Shape: []int64{co}, F: b.F}))
			extra++
		case act == "" && i > 0:
			act = op
		default:
			return nil, fmt.Errorf("fused_ops %v is not supported", fused)
		}
	}
	if len(fused) > 0 && fused[0] != "BiasAdd" {
		return nil, fmt.Errorf("fused_ops %v is not supported (BiasAdd must come first)", fused)
	}
	y := c.emit("Conv", ins, n.Name+"/conv", attrs...)
	outShape := []int64{xn[0], co,
		windowOut(xn[2], kh, sh, dh, pads[0], pads[2]), windowOut(xn[3], kw, sw, dw, pads[1], pads[3])}
	if autoPad != "" {
		outShape[2], outShape[3] = -1, -1
	}
	if act != "" {
		var alpha *Tensor
		if act == "Prelu" {
			a, err := constArg(in, extra, "prelu alpha")
			if err != nil {
				return nil, err
			}
			alpha = a
		}
		if y, err = c.activation(n, act, y, alpha, co); err != nil {
			return nil, err
		}
	}
	out := &value{dtype: Float32, shape: outShape}
	if nhwc {
		out.shape = permute(outShape, toNHWC)
		out.name = c.emit("Transpose", []string{y}, n.Name, onnxpb.AttrInts("perm", toNHWC...))
	} else {
		out.name = y
	}
	if len(ins) == 2 && act == "" && nhwc {
		out.conv, out.convC = c.g.Proto.Node[c.nodeIndex(y)], co
	}
	return []*value{out}, nil
}

func (c *converter) nodeIndex(output string) int {
	for i := len(c.g.Proto.Node) - 1; i >= 0; i-- {
		for _, o := range c.g.Proto.Node[i].Output {
			if o == output {
				return i
			}
		}
	}
	panic("tfjs: no node produces " + output)
}

// activation applies a fused activation to an NCHW tensor with co channels.
func (c *converter) activation(n *Node, act, x string, alpha *Tensor, co int64) (string, error) {
	hint := n.Name + "/" + act
	switch act {
	case "Relu":
		return c.emit("Relu", []string{x}, hint), nil
	case "Relu6":
		return c.emit("Clip", []string{x, c.scalarLike(hint+"/min", Float32, 0), c.scalarLike(hint+"/max", Float32, 6)}, hint), nil
	case "Elu":
		return c.emit("Elu", []string{x}, hint, onnxpb.AttrFloat("alpha", 1)), nil
	case "Sigmoid":
		return c.emit("Sigmoid", []string{x}, hint), nil
	case "Tanh":
		return c.emit("Tanh", []string{x}, hint), nil
	case "LeakyRelu":
		return c.emit("LeakyRelu", []string{x}, hint, onnxpb.AttrFloat("alpha", n.float("leakyrelu_alpha", 0.2))), nil
	case "Prelu":
		if alpha.DType != Float32 || (alpha.Len() != int(co) && alpha.Len() != 1) {
			return "", fmt.Errorf("prelu alpha of shape %v for %d channels", alpha.Shape, co)
		}
		a := &Tensor{DType: Float32, Shape: []int64{int64(alpha.Len()), 1, 1}, F: alpha.F}
		return c.emit("PRelu", []string{x, c.constInit(hint+"/alpha", a)}, hint), nil
	}
	return "", fmt.Errorf("fused activation %q is not supported", act)
}

func poolOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	nhwc, err := layout(n)
	if err != nil {
		return nil, err
	}
	x := in[0]
	if rankOf(x) != 4 {
		return nil, fmt.Errorf("input must be 4-D, has shape %v", x.shape)
	}
	kh, kw := four(n.ints("ksize"), nhwc, 1)
	sh, sw := four(n.ints("strides"), nhwc, 1)
	xn := x.shape
	if nhwc {
		xn = permute(x.shape, toNCHW)
	}
	pads, autoPad, err := tfPads(n.strDefault("padding", "VALID"), xn[2:], []int64{kh, kw}, []int64{sh, sw}, []int64{1, 1},
		spatialPairs(n.ints("explicit_paddings"), nhwc))
	if err != nil {
		return nil, err
	}
	attrs := []*onnxpb.AttributeProto{onnxpb.AttrInts("kernel_shape", kh, kw), onnxpb.AttrInts("strides", sh, sw)}
	if autoPad != "" {
		attrs = append(attrs, onnxpb.AttrString("auto_pad", autoPad))
	} else {
		attrs = append(attrs, onnxpb.AttrInts("pads", pads...))
	}
	op := "MaxPool"
	if n.Op == "AvgPool" {
		op = "AveragePool" // count_include_pad=0: TF averages over the valid cells only
	}
	xin := c.ref(x)
	if nhwc {
		xin = c.emit("Transpose", []string{xin}, n.Name+"/to_nchw", onnxpb.AttrInts("perm", toNCHW...))
	}
	y := c.emit(op, []string{xin}, n.Name+"/pool", attrs...)
	outShape := []int64{xn[0], xn[1], windowOut(xn[2], kh, sh, 1, pads[0], pads[2]), windowOut(xn[3], kw, sw, 1, pads[1], pads[3])}
	if autoPad != "" {
		outShape[2], outShape[3] = -1, -1
	}
	if !nhwc {
		return []*value{{name: y, dtype: x.dtype, shape: outShape}}, nil
	}
	out := c.emit("Transpose", []string{y}, n.Name, onnxpb.AttrInts("perm", toNHWC...))
	return []*value{{name: out, dtype: x.dtype, shape: permute(outShape, toNHWC)}}, nil
}

func matMulOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if rankOf(a) != 2 || rankOf(b) != 2 {
		return nil, fmt.Errorf("only 2-D MatMul is supported, shapes %v and %v", a.shape, b.shape)
	}
	an, bn := c.ref(a), c.ref(b)
	ash, bsh := a.shape, b.shape
	if n.boolean("transpose_a") {
		an = c.emit("Transpose", []string{an}, n.Name+"/a_t", onnxpb.AttrInts("perm", 1, 0))
		ash = []int64{ash[1], ash[0]}
	}
	if n.boolean("transpose_b") {
		bn = c.emit("Transpose", []string{bn}, n.Name+"/b_t", onnxpb.AttrInts("perm", 1, 0))
		bsh = []int64{bsh[1], bsh[0]}
	}
	shape := []int64{ash[0], bsh[1]}
	fused := n.strs("fused_ops")
	if len(fused) == 0 {
		return []*value{{name: c.emit("MatMul", []string{an, bn}, n.Name), dtype: a.dtype, shape: shape}}, nil
	}
	y := c.emit("MatMul", []string{an, bn}, n.Name+"/matmul")
	extra := 2
	var act string
	for i, op := range fused {
		switch {
		case op == "BiasAdd" && i == 0:
			if err := nInputs(in, extra+1); err != nil {
				return nil, err
			}
			y = c.emit("Add", []string{y, c.ref(in[extra])}, n.Name+"/bias")
			extra++
		case i > 0 && act == "":
			act = op
		default:
			return nil, fmt.Errorf("fused_ops %v is not supported", fused)
		}
	}
	if act != "" {
		if act == "Prelu" {
			if err := nInputs(in, extra+1); err != nil {
				return nil, err
			}
			y = c.emit("PRelu", []string{y, c.ref(in[extra])}, n.Name)
		} else {
			var err error
			if y, err = c.activation(n, act, y, nil, 0); err != nil {
				return nil, err
			}
		}
	}
	return []*value{{name: y, dtype: a.dtype, shape: shape}}, nil
}

func binaryOp(op string) handler {
	return func(c *converter, n *Node, in []*value) ([]*value, error) {
		if err := nInputs(in, 2); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		if a.konst != nil && b.konst != nil {
			t, err := foldBinary(op, a.konst, b.konst)
			if err != nil {
				return nil, err
			}
			return []*value{constValue(n.Name, t)}, nil
		}
		if n.Op == "BiasAdd" && n.strDefault("data_format", "NHWC") == "NCHW" {
			bias, err := constArg(in, 1, "bias")
			if err != nil {
				return nil, err
			}
			nb := *bias
			nb.Shape = []int64{int64(bias.Len()), 1, 1}
			b = constValue(n.Name+"/bias", &nb)
		}
		if op == "Add" {
			if v := c.fuseBias(n, a, b); v != nil {
				return []*value{v}, nil
			}
			if v := c.fuseBias(n, b, a); v != nil {
				return []*value{v}, nil
			}
		}
		shape, err := broadcastShapes(a.shape, b.shape)
		if err != nil {
			return nil, err
		}
		if a.dtype != b.dtype {
			return nil, fmt.Errorf("operand types %s and %s differ", a.dtype, b.dtype)
		}
		out := c.emit(op, []string{c.ref(a), c.ref(b)}, n.Name)
		return []*value{{name: out, dtype: a.dtype, shape: shape}}, nil
	}
}

// fuseBias folds "Conv then Add a per-channel constant" into the Conv's bias when the
// Conv result has no other consumer; both compute conv + b in float32.
func (c *converter) fuseBias(n *Node, x, b *value) *value {
	if x.conv == nil || x.uses != 1 || b.konst == nil || b.konst.DType != Float32 || len(x.conv.Input) != 2 {
		return nil
	}
	k := b.konst
	ok := len(k.Shape) == 1 && k.Shape[0] == x.convC
	if len(k.Shape) == 4 && k.Shape[0] == 1 && k.Shape[1] == 1 && k.Shape[2] == 1 && k.Shape[3] == x.convC {
		ok = true
	}
	if !ok {
		return nil
	}
	x.conv.Input = append(x.conv.Input, c.constInit(n.Name+"/bias", &Tensor{DType: Float32, Shape: []int64{x.convC}, F: k.F}))
	return &value{name: x.name, dtype: x.dtype, shape: copyShape(x.shape)}
}

func unaryOp(op string) handler {
	return func(c *converter, n *Node, in []*value) ([]*value, error) {
		if err := nInputs(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if x.konst != nil {
			if t, err := foldUnary(op, x.konst); err == nil {
				return []*value{constValue(n.Name, t)}, nil
			}
		}
		xn := c.ref(x)
		var out string
		switch op {
		case "Relu6":
			out = c.emit("Clip", []string{xn, c.scalarLike(n.Name+"/min", x.dtype, 0), c.scalarLike(n.Name+"/max", x.dtype, 6)}, n.Name)
		case "LeakyRelu":
			out = c.emit("LeakyRelu", []string{xn}, n.Name, onnxpb.AttrFloat("alpha", n.float("alpha", 0.2)))
		case "Elu":
			out = c.emit("Elu", []string{xn}, n.Name, onnxpb.AttrFloat("alpha", 1))
		case "Rsqrt":
			s := c.emit("Sqrt", []string{xn}, n.Name+"/sqrt")
			out = c.emit("Reciprocal", []string{s}, n.Name)
		case "Square":
			out = c.emit("Mul", []string{xn, xn}, n.Name)
		default:
			out = c.emit(op, []string{xn}, n.Name)
		}
		return []*value{{name: out, dtype: x.dtype, shape: copyShape(x.shape)}}, nil
	}
}

func preluOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	out := c.emit("PRelu", []string{c.ref(x), c.ref(in[1])}, n.Name)
	return []*value{{name: out, dtype: x.dtype, shape: copyShape(x.shape)}}, nil
}

func softmaxOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	out := c.emit("Softmax", []string{c.ref(x)}, n.Name, onnxpb.AttrInt("axis", -1))
	return []*value{{name: out, dtype: x.dtype, shape: copyShape(x.shape)}}, nil
}

func padOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	p, err := constArg(in, 1, "paddings")
	if err != nil {
		return nil, err
	}
	pv, err := p.Ints()
	if err != nil {
		return nil, err
	}
	if len(p.Shape) != 2 || p.Shape[1] != 2 || (rankOf(x) >= 0 && int(p.Shape[0]) != rankOf(x)) {
		return nil, fmt.Errorf("paddings of shape %v for input of shape %v", p.Shape, x.shape)
	}
	r := int(p.Shape[0])
	pads := make([]int64, 2*r)
	var shape []int64
	if x.shape != nil {
		shape = make([]int64, r)
	}
	for i := 0; i < r; i++ {
		pads[i], pads[r+i] = pv[2*i], pv[2*i+1]
		if pads[i] < 0 || pads[r+i] < 0 {
			return nil, fmt.Errorf("negative paddings %v", pv)
		}
		if shape != nil {
			shape[i] = -1
			if x.shape[i] >= 0 {
				shape[i] = x.shape[i] + pads[i] + pads[r+i]
			}
		}
	}
	ins := []string{c.ref(x), c.int64s(n.Name+"/pads", pads...)}
	var attrs []*onnxpb.AttributeProto
	switch n.Op {
	case "PadV2":
		cv, err := constArg(in, 2, "constant_values")
		if err != nil {
			return nil, err
		}
		if cv.Len() != 1 {
			return nil, fmt.Errorf("constant_values must be a scalar")
		}
		t := cv.withType(x.dtype)
		t.Shape = []int64{}
		ins = append(ins, c.constInit(n.Name+"/value", t))
	case "MirrorPad":
		if mode := n.strDefault("mode", ""); mode != "REFLECT" {
			return nil, fmt.Errorf("MirrorPad mode %q is not supported (ONNX has REFLECT only)", mode)
		}
		attrs = append(attrs, onnxpb.AttrString("mode", "reflect"))
	}
	out := c.emit("Pad", ins, n.Name, attrs...)
	return []*value{{name: out, dtype: x.dtype, shape: shape}}, nil
}

func reshapeOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	target, err := constInts(in, 1, "shape")
	if err != nil {
		return nil, err
	}
	for _, d := range target {
		if d == 0 {
			return nil, fmt.Errorf("reshape to a zero-sized dimension %v is not supported", target)
		}
	}
	shape, err := reshapeDims(x.shape, target)
	if err != nil {
		return nil, err
	}
	if x.konst != nil && numElements(shape) == int64(x.konst.Len()) {
		t := *x.konst
		t.Shape = shape
		return []*value{constValue(n.Name, &t)}, nil
	}
	if c.dynBatch && len(x.shape) > 0 && x.shape[0] == -1 && len(target) > 0 && target[0] == 1 {
		// the graph's batch of 1 in front: keep the input's (dynamic) batch instead
		target = append([]int64{0}, target[1:]...)
		rest, err := reshapeDims(x.shape[1:], target[1:]) // the batch is copied: the rest reshapes alone
		if err != nil {
			return nil, err
		}
		shape = append([]int64{-1}, rest...)
	}
	out := c.emit("Reshape", []string{c.ref(x), c.int64s(n.Name+"/shape", target...)}, n.Name)
	return []*value{{name: out, dtype: x.dtype, shape: shape}}, nil
}

func transposeOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	perm, err := constInts(in, 1, "perm")
	if err != nil {
		return nil, err
	}
	if r := rankOf(x); r >= 0 && r != len(perm) {
		return nil, fmt.Errorf("perm %v for a rank-%d input", perm, r)
	}
	if x.konst != nil {
		t, err := transposeTensor(x.konst, perm)
		if err != nil {
			return nil, err
		}
		return []*value{constValue(n.Name, t)}, nil
	}
	out := c.emit("Transpose", []string{c.ref(x)}, n.Name, onnxpb.AttrInts("perm", perm...))
	return []*value{{name: out, dtype: x.dtype, shape: permute(x.shape, perm)}}, nil
}

func concatOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	var data []*value
	var axisT *Tensor
	var err error
	if n.Op == "Concat" { // axis first
		axisT, err = constArg(in, 0, "axis")
		data = in[1:]
	} else {
		axisT, err = constArg(in, len(in)-1, "axis")
		data = in[:len(in)-1]
	}
	if err != nil {
		return nil, err
	}
	av, err := axisT.Ints()
	if err != nil || len(av) != 1 {
		return nil, fmt.Errorf("axis must be an integer scalar")
	}
	rank := -1
	for _, d := range data {
		if r := rankOf(d); r >= 0 {
			rank = r
		}
	}
	axis, err := normAxis(av[0], rank)
	if err != nil {
		return nil, err
	}
	allConst := true
	for _, d := range data {
		allConst = allConst && d.konst != nil
	}
	if allConst {
		ts := make([]*Tensor, len(data))
		for i, d := range data {
			ts[i] = d.konst
		}
		t, err := concatTensors(ts, int(axis))
		if err != nil {
			return nil, err
		}
		return []*value{constValue(n.Name, t)}, nil
	}
	var shape []int64
	if rank >= 0 {
		shape = make([]int64, rank)
		for i := range shape {
			shape[i] = -1
		}
		shape[axis] = 0
		for _, d := range data {
			if d.shape == nil {
				shape[axis] = -1
				continue
			}
			for i := range shape {
				if i == int(axis) {
					if shape[axis] >= 0 && d.shape[i] >= 0 {
						shape[axis] += d.shape[i]
					} else {
						shape[axis] = -1
					}
				} else if d.shape[i] >= 0 {
					shape[i] = d.shape[i]
				}
			}
		}
	}
	names := make([]string, len(data))
	for i, d := range data {
		names[i] = c.ref(d)
	}
	out := c.emit("Concat", names, n.Name, onnxpb.AttrInt("axis", axis))
	return []*value{{name: out, dtype: data[0].dtype, shape: shape}}, nil
}

func packOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	rank := rankOf(in[0])
	axis := n.integer("axis", 0)
	if rank >= 0 {
		var err error
		if axis, err = normAxis(axis, rank+1); err != nil {
			return nil, err
		}
	} else if axis < 0 {
		return nil, fmt.Errorf("negative axis on inputs of unknown rank")
	}
	allConst := true
	for _, d := range in {
		allConst = allConst && d.konst != nil
	}
	if allConst {
		ts := make([]*Tensor, len(in))
		for i, d := range in {
			t := *d.konst
			t.Shape = append(append(append([]int64{}, t.Shape[:axis]...), 1), t.Shape[axis:]...)
			ts[i] = &t
		}
		t, err := concatTensors(ts, int(axis))
		if err != nil {
			return nil, err
		}
		return []*value{constValue(n.Name, t)}, nil
	}
	axes := c.int64s(n.Name+"/axes", axis)
	names := make([]string, len(in))
	for i, d := range in {
		names[i] = c.emit("Unsqueeze", []string{c.ref(d), axes}, n.Name+"/unsqueeze")
	}
	var shape []int64
	if in[0].shape != nil {
		shape = append(append(append([]int64{}, in[0].shape[:axis]...), int64(len(in))), in[0].shape[axis:]...)
	}
	out := c.emit("Concat", names, n.Name, onnxpb.AttrInt("axis", axis))
	return []*value{{name: out, dtype: in[0].dtype, shape: shape}}, nil
}

func splitOp(c *converter, n *Node, in []*value) ([]*value, error) {
	var x *value
	var axisV []int64
	var sizes []int64
	var err error
	num := n.integer("num_split", 0)
	if n.Op == "SplitV" { // value, size_splits, axis
		if err := nInputs(in, 3); err != nil {
			return nil, err
		}
		x = in[0]
		if sizes, err = constInts(in, 1, "size_splits"); err != nil {
			return nil, err
		}
		if axisV, err = constInts(in, 2, "axis"); err != nil {
			return nil, err
		}
	} else { // Split: axis, value
		if err := nInputs(in, 2); err != nil {
			return nil, err
		}
		x = in[1]
		if axisV, err = constInts(in, 0, "axis"); err != nil {
			return nil, err
		}
	}
	if len(axisV) != 1 {
		return nil, fmt.Errorf("axis must be a scalar")
	}
	axis, err := normAxis(axisV[0], rankOf(x))
	if err != nil {
		return nil, err
	}
	dim := int64(-1)
	if x.shape != nil {
		dim = x.shape[axis]
	}
	if n.Op == "Split" {
		if num <= 0 {
			return nil, fmt.Errorf("num_split %d", num)
		}
		if dim >= 0 {
			if dim%num != 0 {
				return nil, fmt.Errorf("dimension %d does not split into %d equal parts", dim, num)
			}
			sizes = make([]int64, num)
			for i := range sizes {
				sizes[i] = dim / num
			}
		}
	} else {
		if num != 0 && int64(len(sizes)) != num {
			return nil, fmt.Errorf("%d size_splits for num_split %d", len(sizes), num)
		}
		num = int64(len(sizes))
		infer, sum := -1, int64(0)
		for i, s := range sizes {
			if s == -1 {
				infer = i
			} else {
				sum += s
			}
		}
		if infer >= 0 {
			if dim < 0 {
				return nil, fmt.Errorf("size_splits %v needs the split dimension, which is unknown", sizes)
			}
			sizes = append([]int64{}, sizes...)
			sizes[infer] = dim - sum
		}
	}
	ins := []string{c.ref(x)}
	if sizes != nil {
		ins = append(ins, c.int64s(n.Name+"/split", sizes...))
	}
	outNames := make([]string, num)
	for i := range outNames {
		outNames[i] = c.fresh(n.Name + ":" + strconv.Itoa(i))
	}
	node := c.g.AddNode("Split", ins, outNames, onnxpb.AttrInt("axis", axis))
	node.Name = c.fresh("node/" + n.Name)
	outs := make([]*value, num)
	for i := range outs {
		shape := copyShape(x.shape)
		if shape != nil {
			shape[axis] = -1
			if sizes != nil {
				shape[axis] = sizes[i]
			}
		}
		outs[i] = &value{name: outNames[i], dtype: x.dtype, shape: shape}
	}
	return outs, nil
}

func squeezeOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	dims := n.ints("squeeze_dims")
	if len(dims) == 0 {
		dims = n.ints("axis")
	}
	rank := rankOf(x)
	axes := make([]int64, 0, len(dims))
	for _, d := range dims {
		a, err := normAxis(d, rank)
		if err != nil {
			return nil, err
		}
		axes = append(axes, a)
	}
	var shape []int64
	if x.shape != nil {
		drop := map[int64]bool{}
		for _, a := range axes {
			drop[a] = true
			if x.shape[a] > 1 {
				return nil, fmt.Errorf("cannot squeeze dimension %d of size %d", a, x.shape[a])
			}
		}
		shape = []int64{}
		for i, d := range x.shape {
			if len(axes) == 0 && d == 1 || drop[int64(i)] {
				continue
			}
			if len(axes) == 0 && d < 0 {
				return nil, fmt.Errorf("squeeze of all unit dims with unknown dims in %v", x.shape)
			}
			shape = append(shape, d)
		}
	} else if len(axes) == 0 {
		return nil, fmt.Errorf("squeeze of all unit dims needs a known shape")
	}
	if x.konst != nil && shape != nil {
		t := *x.konst
		t.Shape = shape
		return []*value{constValue(n.Name, &t)}, nil
	}
	ins := []string{c.ref(x)}
	if len(axes) > 0 {
		ins = append(ins, c.int64s(n.Name+"/axes", axes...))
	}
	out := c.emit("Squeeze", ins, n.Name)
	return []*value{{name: out, dtype: x.dtype, shape: shape}}, nil
}

func expandDimsOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	av, err := constInts(in, 1, "axis")
	if err != nil {
		return nil, err
	}
	if len(av) != 1 {
		return nil, fmt.Errorf("axis must be a scalar")
	}
	r := rankOf(x)
	if r >= 0 {
		r++
	}
	axis, err := normAxis(av[0], r)
	if err != nil {
		return nil, err
	}
	var shape []int64
	if x.shape != nil {
		shape = append(append(append([]int64{}, x.shape[:axis]...), 1), x.shape[axis:]...)
	}
	if x.konst != nil {
		t := *x.konst
		t.Shape = shape
		return []*value{constValue(n.Name, &t)}, nil
	}
	out := c.emit("Unsqueeze", []string{c.ref(x), c.int64s(n.Name+"/axes", axis)}, n.Name)
	return []*value{{name: out, dtype: x.dtype, shape: shape}}, nil
}

func resizeOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 2); err != nil {
		return nil, err
	}
	x := in[0]
	if rankOf(x) != 4 {
		return nil, fmt.Errorf("images must be 4-D NHWC, have shape %v", x.shape)
	}
	size, err := constInts(in, 1, "size")
	if err != nil {
		return nil, err
	}
	if len(size) != 2 || size[0] <= 0 || size[1] <= 0 {
		return nil, fmt.Errorf("size %v", size)
	}
	align, half := n.boolean("align_corners"), n.boolean("half_pixel_centers")
	if align && half {
		return nil, fmt.Errorf("align_corners and half_pixel_centers are exclusive")
	}
	attrs := []*onnxpb.AttributeProto{}
	if n.Op == "ResizeBilinear" {
		attrs = append(attrs, onnxpb.AttrString("mode", "linear"))
		switch {
		case align:
			attrs = append(attrs, onnxpb.AttrString("coordinate_transformation_mode", "align_corners"))
		case half:
			attrs = append(attrs, onnxpb.AttrString("coordinate_transformation_mode", "half_pixel"))
		default:
			attrs = append(attrs, onnxpb.AttrString("coordinate_transformation_mode", "asymmetric"))
		}
	} else {
		attrs = append(attrs, onnxpb.AttrString("mode", "nearest"))
		switch {
		case align: // TF.js: round(x * (in-1)/(out-1)), Math.round rounds halves up
			attrs = append(attrs, onnxpb.AttrString("coordinate_transformation_mode", "align_corners"),
				onnxpb.AttrString("nearest_mode", "round_prefer_ceil"))
		case half: // TF.js: floor((x + 0.5) * in/out)
			attrs = append(attrs, onnxpb.AttrString("coordinate_transformation_mode", "tf_half_pixel_for_nn"),
				onnxpb.AttrString("nearest_mode", "floor"))
		default: // floor(x * in/out)
			attrs = append(attrs, onnxpb.AttrString("coordinate_transformation_mode", "asymmetric"),
				onnxpb.AttrString("nearest_mode", "floor"))
		}
	}
	nchw := c.emit("Transpose", []string{c.ref(x)}, n.Name+"/to_nchw", onnxpb.AttrInts("perm", toNCHW...))
	var sizes string
	if x.shape[0] >= 0 && x.shape[3] >= 0 {
		sizes = c.int64s(n.Name+"/sizes", x.shape[0], x.shape[3], size[0], size[1])
	} else { // dynamic batch or channels: take N and C from the tensor at run time
		shp := c.emit("Shape", []string{nchw}, n.Name+"/shape")
		nc := c.emit("Slice", []string{shp, c.int64s(n.Name+"/starts", 0), c.int64s(n.Name+"/ends", 2)}, n.Name+"/nc")
		sizes = c.emit("Concat", []string{nc, c.int64s(n.Name+"/hw", size[0], size[1])}, n.Name+"/sizes", onnxpb.AttrInt("axis", 0))
	}
	y := c.emit("Resize", []string{nchw, "", "", sizes}, n.Name+"/resize", attrs...)
	out := c.emit("Transpose", []string{y}, n.Name, onnxpb.AttrInts("perm", toNHWC...))
	return []*value{{name: out, dtype: x.dtype, shape: []int64{x.shape[0], size[0], size[1], x.shape[3]}}}, nil
}

func reduceOp(op string) handler {
	return func(c *converter, n *Node, in []*value) ([]*value, error) {
		if err := nInputs(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		av, err := constInts(in, 1, "reduction_indices")
		if err != nil {
			return nil, err
		}
		keep := n.boolean("keep_dims")
		if len(av) == 0 {
			return identityOp(c, n, in[:1])
		}
		rank := rankOf(x)
		axes := make([]int64, len(av))
		drop := map[int64]bool{}
		for i, a := range av {
			if axes[i], err = normAxis(a, rank); err != nil {
				return nil, err
			}
			drop[axes[i]] = true
		}
		var shape []int64
		if x.shape != nil {
			shape = []int64{}
			for i, d := range x.shape {
				switch {
				case !drop[int64(i)]:
					shape = append(shape, d)
				case keep:
					shape = append(shape, 1)
				}
			}
		}
		keepAttr := onnxpb.AttrInt("keepdims", 0)
		if keep {
			keepAttr = onnxpb.AttrInt("keepdims", 1)
		}
		var out string
		if op == "ReduceSum" { // opset 13 takes ReduceSum's axes as an input
			out = c.emit(op, []string{c.ref(x), c.int64s(n.Name+"/axes", axes...)}, n.Name, keepAttr)
		} else {
			out = c.emit(op, []string{c.ref(x)}, n.Name, keepAttr, onnxpb.AttrInts("axes", axes...))
		}
		return []*value{{name: out, dtype: x.dtype, shape: shape}}, nil
	}
}

func castOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	dt, err := tfDType(n.dtype("DstT"))
	if err != nil {
		return nil, err
	}
	x := in[0]
	if x.konst != nil {
		return []*value{constValue(n.Name, x.konst.withType(dt))}, nil
	}
	out := c.emit("Cast", []string{c.ref(x)}, n.Name, onnxpb.AttrInt("to", int64(dt.onnx())))
	return []*value{{name: out, dtype: dt, shape: copyShape(x.shape)}}, nil
}

func shapeOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	dt := Int32
	if t := n.dtype("out_type"); t != "" {
		var err error
		if dt, err = tfDType(t); err != nil {
			return nil, err
		}
	}
	known := x.shape != nil
	for _, d := range x.shape {
		known = known && d >= 0
	}
	if known {
		return []*value{constValue(n.Name, &Tensor{DType: dt, Shape: []int64{int64(len(x.shape))}, I: append([]int64{}, x.shape...)})}, nil
	}
	var shape []int64
	if x.shape != nil {
		shape = []int64{int64(len(x.shape))}
	}
	s := c.emit("Shape", []string{c.ref(x)}, n.Name+"/i64")
	if dt == Int64 {
		return []*value{{name: s, dtype: Int64, shape: shape}}, nil
	}
	out := c.emit("Cast", []string{s}, n.Name, onnxpb.AttrInt("to", int64(dt.onnx())))
	return []*value{{name: out, dtype: dt, shape: shape}}, nil
}

func gatherOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 3); err != nil {
		return nil, err
	}
	if n.integer("batch_dims", 0) != 0 {
		return nil, fmt.Errorf("batch_dims is not supported")
	}
	x, idx := in[0], in[1]
	av, err := constInts(in, 2, "axis")
	if err != nil {
		return nil, err
	}
	if len(av) != 1 {
		return nil, fmt.Errorf("axis must be a scalar")
	}
	axis, err := normAxis(av[0], rankOf(x))
	if err != nil {
		return nil, err
	}
	if x.konst != nil && idx.konst != nil && axis == 0 {
		t, err := gatherAxis0(x.konst, idx.konst)
		if err != nil {
			return nil, err
		}
		return []*value{constValue(n.Name, t)}, nil
	}
	var shape []int64
	if x.shape != nil && idx.shape != nil {
		shape = append(append(append([]int64{}, x.shape[:axis]...), idx.shape...), x.shape[axis+1:]...)
	}
	out := c.emit("Gather", []string{c.ref(x), c.ref(idx)}, n.Name, onnxpb.AttrInt("axis", axis))
	return []*value{{name: out, dtype: x.dtype, shape: shape}}, nil
}

// sparseToDenseOp folds tf.sparseToDense; converters emit it over constants to build
// shape tensors. A run-time SparseToDense has no ONNX counterpart and is refused.
func sparseToDenseOp(c *converter, n *Node, in []*value) ([]*value, error) {
	if err := nInputs(in, 4); err != nil {
		return nil, err
	}
	var ts [4]*Tensor
	for i, what := range []string{"sparse_indices", "output_shape", "sparse_values", "default_value"} {
		t, err := constArg(in, i, what)
		if err != nil {
			return nil, fmt.Errorf("only constant SparseToDense can be translated: %w", err)
		}
		ts[i] = t
	}
	t, err := sparseToDense(ts[0], ts[1], ts[2], ts[3])
	if err != nil {
		return nil, err
	}
	return []*value{constValue(n.Name, t)}, nil
}
