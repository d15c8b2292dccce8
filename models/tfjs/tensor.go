package tfjs

import (
	"fmt"
	"math"

	"github.com/cityeye/cityeye/models/onnxpb"
)

// DType is the element type of a tensor in the translation. TF.js keeps int64 tensors
// as int32 at run time; the importer tracks the graph's declared type so the ONNX
// model gets the types ONNX operators require (int64 shapes and axes).
type DType int

// Element types.
const (
	Float32 DType = iota + 1
	Int32
	Int64
	Bool
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

func (d DType) onnx() onnxpb.TensorProto_DataType {
	switch d {
	case Float32:
		return onnxpb.TensorProto_FLOAT
	case Int32:
		return onnxpb.TensorProto_INT32
	case Int64:
		return onnxpb.TensorProto_INT64
	case Bool:
		return onnxpb.TensorProto_BOOL
	}
	return onnxpb.TensorProto_UNDEFINED
}

// tfDType maps TensorFlow's DT_* names.
func tfDType(s string) (DType, error) {
	switch s {
	case "DT_FLOAT", "float32":
		return Float32, nil
	case "DT_INT32", "int32":
		return Int32, nil
	case "DT_INT64", "int64":
		return Int64, nil
	case "DT_BOOL", "bool":
		return Bool, nil
	}
	return 0, fmt.Errorf("data type %q is not supported", s)
}

// Tensor is a dense constant. Float32 values live in F, every integer and bool type
// in I.
type Tensor struct {
	DType DType
	Shape []int64
	F     []float32
	I     []int64
}

func numElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	if t.DType == Float32 {
		return len(t.F)
	}
	return len(t.I)
}

// Ints returns the values as int64 (integer tensors only).
func (t *Tensor) Ints() ([]int64, error) {
	if t.DType == Float32 {
		return nil, fmt.Errorf("expected an integer tensor, got float32")
	}
	return t.I, nil
}

func (t *Tensor) float(i int) float64 {
	if t.DType == Float32 {
		return float64(t.F[i])
	}
	return float64(t.I[i])
}

// withType converts (used by Cast and to give ONNX the integer types it needs).
func (t *Tensor) withType(d DType) *Tensor {
	out := &Tensor{DType: d, Shape: append([]int64{}, t.Shape...)}
	n := t.Len()
	if d == Float32 {
		out.F = make([]float32, n)
		for i := 0; i < n; i++ {
			out.F[i] = float32(t.float(i))
		}
		return out
	}
	out.I = make([]int64, n)
	for i := 0; i < n; i++ {
		switch {
		case t.DType != Float32:
			out.I[i] = t.I[i]
		default:
			out.I[i] = int64(t.F[i]) // truncation, as tf.cast does
		}
		switch d {
		case Int32:
			out.I[i] = int64(int32(out.I[i]))
		case Bool:
			if t.float(i) != 0 {
				out.I[i] = 1
			} else {
				out.I[i] = 0
			}
		}
	}
	return out
}

// proto converts to an ONNX initializer.
func (t *Tensor) proto(name string) *onnxpb.TensorProto {
	switch t.DType {
	case Float32:
		return onnxpb.FloatTensor(name, t.Shape, t.F)
	case Int64:
		return onnxpb.Int64Tensor(name, t.Shape, t.I)
	case Int32:
		v := make([]int32, len(t.I))
		for i, x := range t.I {
			v[i] = int32(x)
		}
		return onnxpb.Int32Tensor(name, t.Shape, v)
	default: // bool
		raw := make([]byte, len(t.I))
		for i, x := range t.I {
			if x != 0 {
				raw[i] = 1
			}
		}
		return &onnxpb.TensorProto{Name: name, Dims: append([]int64{}, t.Shape...), DataType: int32(onnxpb.TensorProto_BOOL), RawData: raw}
	}
}

// strides returns row-major strides of shape.
func strides(shape []int64) []int64 {
	s := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// broadcastShapes applies NumPy broadcasting (TF and ONNX agree). Unknown dims are -1.
func broadcastShapes(a, b []int64) ([]int64, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	n := max(len(a), len(b))
	out := make([]int64, n)
	for i := 0; i < n; i++ {
		da, db := int64(1), int64(1)
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da < 0:
			out[i] = db
		case db < 0:
			out[i] = da
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastIndex maps a flat output index to the flat index of an input of shape in
// broadcast to out.
func broadcastIndex(idx int64, out, in []int64, outStrides, inStrides []int64) int64 {
	off := len(out) - len(in)
	r := int64(0)
	for d := 0; d < len(out); d++ {
		c := (idx / outStrides[d]) % out[d]
		if j := d - off; j >= 0 && in[j] != 1 {
			r += c * inStrides[j]
		}
	}
	return r
}

// foldBinary evaluates an elementwise binary op on constants. Float math is done in
// float32 as TF.js does; integer math wraps like the declared type.
func foldBinary(op string, a, b *Tensor) (*Tensor, error) {
	if (a.DType == Float32) != (b.DType == Float32) {
		return nil, fmt.Errorf("mixed operand types %s and %s", a.DType, b.DType)
	}
	shape, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	n := numElements(shape)
	os, as, bs := strides(shape), strides(a.Shape), strides(b.Shape)
	out := &Tensor{DType: a.DType, Shape: shape}
	if a.DType == Float32 {
		out.F = make([]float32, n)
		for i := int64(0); i < n; i++ {
			x := a.F[broadcastIndex(i, shape, a.Shape, os, as)]
			y := b.F[broadcastIndex(i, shape, b.Shape, os, bs)]
			var v float32
			switch op {
			case "Add":
				v = x + y
			case "Sub":
				v = x - y
			case "Mul":
				v = x * y
			case "Div":
				v = x / y
			case "Max":
				v = float32(math.Max(float64(x), float64(y)))
			case "Min":
				v = float32(math.Min(float64(x), float64(y)))
			default:
				return nil, fmt.Errorf("cannot fold %s", op)
			}
			out.F[i] = v
		}
		return out, nil
	}
	out.I = make([]int64, n)
	for i := int64(0); i < n; i++ {
		x := a.I[broadcastIndex(i, shape, a.Shape, os, as)]
		y := b.I[broadcastIndex(i, shape, b.Shape, os, bs)]
		var v int64
		switch op {
		case "Add":
			v = x + y
		case "Sub":
			v = x - y
		case "Mul":
			v = x * y
		case "Div":
			if y == 0 {
				return nil, fmt.Errorf("integer division by zero")
			}
			v = x / y
			if (x%y != 0) && ((x < 0) != (y < 0)) {
				v-- // TF FloorDiv/RealDiv on ints floors
			}
		case "Max":
			v = max(x, y)
		case "Min":
			v = min(x, y)
		default:
			return nil, fmt.Errorf("cannot fold %s", op)
		}
		if a.DType == Int32 {
			v = int64(int32(v))
		}
		out.I[i] = v
	}
	return out, nil
}

// foldUnary evaluates an elementwise float op on a constant.
func foldUnary(op string, a *Tensor) (*Tensor, error) {
	out := &Tensor{DType: a.DType, Shape: append([]int64{}, a.Shape...)}
	if a.DType != Float32 {
		out.I = make([]int64, len(a.I))
		for i, x := range a.I {
			switch op {
			case "Neg":
				out.I[i] = -x
			case "Abs":
				out.I[i] = max(x, -x)
			case "Square":
				out.I[i] = x * x
			default:
				return nil, fmt.Errorf("cannot fold %s on %s", op, a.DType)
			}
		}
		return out, nil
	}
	out.F = make([]float32, len(a.F))
	for i, x := range a.F {
		var v float32
		switch op {
		case "Neg":
			v = -x
		case "Abs":
			v = float32(math.Abs(float64(x)))
		case "Square":
			v = x * x
		case "Sqrt":
			v = float32(math.Sqrt(float64(x)))
		case "Rsqrt":
			v = float32(1 / math.Sqrt(float64(x)))
		case "Relu":
			v = max(x, 0)
		case "Sigmoid":
			v = float32(1 / (1 + math.Exp(-float64(x))))
		case "Exp":
			v = float32(math.Exp(float64(x)))
		default:
			return nil, fmt.Errorf("cannot fold %s", op)
		}
		out.F[i] = v
	}
	return out, nil
}

// transposeTensor permutes a constant.
func transposeTensor(t *Tensor, perm []int64) (*Tensor, error) {
	if len(perm) != len(t.Shape) {
		return nil, fmt.Errorf("perm %v for rank %d", perm, len(t.Shape))
	}
	shape := make([]int64, len(perm))
	for i, p := range perm {
		if p < 0 || int(p) >= len(t.Shape) {
			return nil, fmt.Errorf("perm %v out of range", perm)
		}
		shape[i] = t.Shape[p]
	}
	out := &Tensor{DType: t.DType, Shape: shape}
	n := numElements(shape)
	os, is := strides(shape), strides(t.Shape)
	src := make([]int64, n)
	for i := int64(0); i < n; i++ {
		r := int64(0)
		for d := range shape {
			c := (i / os[d]) % shape[d]
			r += c * is[perm[d]]
		}
		src[i] = r
	}
	if t.DType == Float32 {
		out.F = make([]float32, n)
		for i, s := range src {
			out.F[i] = t.F[s]
		}
	} else {
		out.I = make([]int64, n)
		for i, s := range src {
			out.I[i] = t.I[s]
		}
	}
	return out, nil
}

// concatTensors joins constants along axis.
func concatTensors(ts []*Tensor, axis int) (*Tensor, error) {
	first := ts[0]
	rank := len(first.Shape)
	if axis < 0 || axis >= rank {
		return nil, fmt.Errorf("axis %d for rank %d", axis, rank)
	}
	shape := append([]int64{}, first.Shape...)
	shape[axis] = 0
	for _, t := range ts {
		if len(t.Shape) != rank || t.DType != first.DType {
			return nil, fmt.Errorf("concat of mismatched tensors")
		}
		for d := range shape {
			if d != axis && t.Shape[d] != first.Shape[d] {
				return nil, fmt.Errorf("concat of mismatched shapes %v and %v", first.Shape, t.Shape)
			}
		}
		shape[axis] += t.Shape[axis]
	}
	outer := numElements(shape[:axis])
	out := &Tensor{DType: first.DType, Shape: shape}
	for o := int64(0); o < outer; o++ {
		for _, t := range ts {
			chunk := numElements(t.Shape[axis:])
			if t.DType == Float32 {
				out.F = append(out.F, t.F[o*chunk:(o+1)*chunk]...)
			} else {
				out.I = append(out.I, t.I[o*chunk:(o+1)*chunk]...)
			}
		}
	}
	return out, nil
}

// sparseToDense implements tf.sparseToDense on constants.
func sparseToDense(indices, outShape, values, def *Tensor) (*Tensor, error) {
	dims, err := outShape.Ints()
	if err != nil {
		return nil, err
	}
	idx, err := indices.Ints()
	if err != nil {
		return nil, err
	}
	if def.Len() != 1 {
		return nil, fmt.Errorf("default_value must be a scalar")
	}
	rank := len(dims)
	var nnz int
	switch len(indices.Shape) {
	case 0:
		nnz = 1
	case 1:
		nnz = int(indices.Shape[0])
		if rank != 1 {
			return nil, fmt.Errorf("1-D sparse_indices for a rank-%d output", rank)
		}
	case 2:
		nnz = int(indices.Shape[0])
		if int(indices.Shape[1]) != rank {
			return nil, fmt.Errorf("sparse_indices of shape %v for a rank-%d output", indices.Shape, rank)
		}
	default:
		return nil, fmt.Errorf("sparse_indices of rank %d", len(indices.Shape))
	}
	if values.Len() != 1 && values.Len() != nnz {
		return nil, fmt.Errorf("%d sparse_values for %d indices", values.Len(), nnz)
	}
	out := &Tensor{DType: values.DType, Shape: append([]int64{}, dims...)}
	n := numElements(dims)
	st := strides(dims)
	if out.DType == Float32 {
		out.F = make([]float32, n)
		for i := range out.F {
			out.F[i] = def.F[0]
		}
	} else {
		out.I = make([]int64, n)
		for i := range out.I {
			out.I[i] = def.I[0]
		}
	}
	for k := 0; k < nnz; k++ {
		flat := int64(0)
		for d := 0; d < rank; d++ {
			var c int64
			if len(indices.Shape) == 2 {
				c = idx[k*rank+d]
			} else {
				c = idx[k]
			}
			if c < 0 || c >= dims[d] {
				return nil, fmt.Errorf("sparse index %d out of range for dim %d", c, dims[d])
			}
			flat += c * st[d]
		}
		vi := k
		if values.Len() == 1 {
			vi = 0
		}
		if out.DType == Float32 {
			out.F[flat] = values.F[vi]
		} else {
			out.I[flat] = values.I[vi]
		}
	}
	return out, nil
}

// gatherAxis0 implements tf.gather(x, indices, axis 0) on constants.
func gatherAxis0(x, indices *Tensor) (*Tensor, error) {
	idx, err := indices.Ints()
	if err != nil {
		return nil, err
	}
	if len(x.Shape) == 0 {
		return nil, fmt.Errorf("gather from a scalar")
	}
	inner := numElements(x.Shape[1:])
	shape := append(append([]int64{}, indices.Shape...), x.Shape[1:]...)
	out := &Tensor{DType: x.DType, Shape: shape}
	for _, i := range idx {
		if i < 0 {
			i += x.Shape[0]
		}
		if i < 0 || i >= x.Shape[0] {
			return nil, fmt.Errorf("gather index %d out of range [0,%d)", i, x.Shape[0])
		}
		if x.DType == Float32 {
			out.F = append(out.F, x.F[i*inner:(i+1)*inner]...)
		} else {
			out.I = append(out.I, x.I[i*inner:(i+1)*inner]...)
		}
	}
	return out, nil
}

// reshapeDims resolves a TF shape argument (-1 inferred) against a known element count.
func reshapeDims(in []int64, target []int64) ([]int64, error) {
	out := append([]int64{}, target...)
	known := int64(1)
	infer := -1
	for i, d := range out {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", target)
			}
			infer = i
		case d < -1:
			return nil, fmt.Errorf("invalid dimension %d in shape %v", d, target)
		default:
			known *= d
		}
	}
	if infer < 0 || in == nil {
		return out, nil
	}
	total := int64(1)
	for _, d := range in {
		if d < 0 {
			return out, nil // stays -1: unknown
		}
		total *= d
	}
	if known == 0 || total%known != 0 {
		return nil, fmt.Errorf("cannot reshape %v into %v", in, target)
	}
	out[infer] = total / known
	return out, nil
}
