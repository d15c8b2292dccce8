package engine

import (
	"encoding/binary"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"
)

// Element types a graph's inputs may have. Callers always hand float32 values; Run
// converts them to the graph's declared type, so a uint8 or float16 export (or an
// int64 image-shape input) needs no code of its own.
var inputTypes = map[string]bool{"float32": true, "float16": true, "uint8": true, "int8": true,
	"int32": true, "int64": true, "double": true}

// newValue builds the ORT value of t in element type typ.
func newValue(typ string, t Tensor) (ort.Value, error) {
	shape := ort.NewShape(t.Shape...)
	switch typ {
	case "", "float32":
		return ort.NewTensor(shape, t.Data)
	case "uint8":
		return ort.NewTensor(shape, convert(t.Data, func(v float32) uint8 { return uint8(min(max(math.Round(float64(v)), 0), 255)) }))
	case "int8":
		return ort.NewTensor(shape, convert(t.Data, func(v float32) int8 { return int8(min(max(math.Round(float64(v)), -128), 127)) }))
	case "int32":
		return ort.NewTensor(shape, convert(t.Data, func(v float32) int32 { return int32(math.Round(float64(v))) }))
	case "int64":
		return ort.NewTensor(shape, convert(t.Data, func(v float32) int64 { return int64(math.Round(float64(v))) }))
	case "double":
		return ort.NewTensor(shape, convert(t.Data, func(v float32) float64 { return float64(v) }))
	case "float16":
		raw := make([]byte, 2*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint16(raw[2*i:], Float16(v))
		}
		if len(raw) == 0 {
			return nil, fmt.Errorf("empty float16 tensor")
		}
		return ort.NewCustomDataTensor(shape, raw, ort.TensorElementDataTypeFloat16)
	}
	return nil, fmt.Errorf("element type %s is not fed by CityEye", typ)
}

func convert[S, T any](in []S, f func(S) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// floats reads any numeric output as float32: detectors with NMS inside the graph
// give int64 class indices and int32 counts beside float boxes.
func floats(v ort.Value) ([]float32, []int64, error) {
	switch t := v.(type) {
	case *ort.Tensor[float32]:
		return append([]float32(nil), t.GetData()...), t.GetShape(), nil
	case *ort.Tensor[float64]:
		return convert(t.GetData(), func(x float64) float32 { return float32(x) }), t.GetShape(), nil
	case *ort.Tensor[int64]:
		return widen(t.GetData()), t.GetShape(), nil
	case *ort.Tensor[int32]:
		return widen(t.GetData()), t.GetShape(), nil
	case *ort.Tensor[uint8]:
		return widen(t.GetData()), t.GetShape(), nil
	case *ort.Tensor[int8]:
		return widen(t.GetData()), t.GetShape(), nil
	case *ort.Tensor[bool]:
		out := make([]float32, len(t.GetData()))
		for i, b := range t.GetData() {
			if b {
				out[i] = 1
			}
		}
		return out, t.GetShape(), nil
	}
	return nil, nil, fmt.Errorf("not a numeric tensor CityEye reads")
}

func widen[T int64 | int32 | uint8 | int8](in []T) []float32 {
	out := make([]float32, len(in))
	for i, v := range in {
		out[i] = float32(v)
	}
	return out
}

// outputTypes are the output element types floats reads. float16 outputs are not
// among them: the runtime binding copies only half of their bytes, so a float16
// export must cast its outputs to float32 (exporters' keep_io_types does).
var outputTypes = map[string]bool{"float32": true, "double": true, "int64": true, "int32": true,
	"uint8": true, "int8": true, "bool": true}

// Float16 rounds v to the nearest IEEE half-precision value (round to nearest even).
func Float16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int((b >> 23) & 0xff)
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127+15 >= 0x1f: // overflow
		return sign | 0x7c00
	case exp-127+15 <= 0: // subnormal or zero
		e := exp - 127 + 15
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint(14 - e)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		if rem := mant & (1<<shift - 1); rem > half || rem == half && r&1 == 1 {
			r++
		}
		return sign | uint16(r)
	}
	e := uint16(exp - 127 + 15)
	r := uint16(mant >> 13)
	h := sign | e<<10 | r
	if rem := mant & 0x1fff; rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		h++ // may carry into the exponent, which is the right rounding
	}
	return h
}
