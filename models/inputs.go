package models

import (
	"fmt"
	"slices"

	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/preprocess"
)

// Input kinds: the image (preprocessed as Manifest.Input declares) or a tensor
// derived from each image's preprocessing, as exporters such as PaddleDetection
// want beside it.
const (
	InputImage       = "image"        // [N,3,H,W] or [N,H,W,3], Manifest.Input
	InputScaleFactor = "scale_factor" // [N,2]: resized / source size, y then x (Paddle's order)
	InputImShape     = "im_shape"     // [N,2]: the model input's height, width
	InputOrigShape   = "orig_shape"   // [N,2]: the source image's height, width (RT-DETR's orig_target_sizes)
	InputConstant    = "constant"     // Value, shaped by Shape (-1: the batch size), default [N, len(Value)]
)

// Input declares one named graph input. Type, when given, must match the graph's
// element type (float32, float16, uint8…); CityEye converts to whatever the graph
// declares, so a uint8 export takes the image with scale 1, mean 0, std 1.
type Input struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	Type  string    `json:"type,omitempty"`
	Order string    `json:"order,omitempty"` // derived pairs: "yx" (default, Paddle) or "xy"
	Value []float32 `json:"value,omitempty"` // constant
	Shape []int64   `json:"shape,omitempty"` // constant
}

var inputKinds = []string{InputImage, InputScaleFactor, InputImShape, InputOrigShape, InputConstant}

var elementTypes = []string{"float32", "float16", "uint8", "int8", "int32", "int64", "double"}

// validateInputs checks Manifest.Feeds: unique names, exactly one image.
func validateInputs(ins []Input) error {
	images := 0
	seen := map[string]bool{}
	for i, in := range ins {
		f := fmt.Sprintf("feeds[%d]", i)
		switch {
		case in.Name == "" || seen[in.Name]:
			return fieldErr(f+".name", "each input needs a unique name (the graph input's)")
		case !slices.Contains(inputKinds, in.Kind):
			return fieldErr(f+".kind", fmt.Sprintf("%q is not one of image, scale_factor, im_shape, orig_shape, constant", in.Kind))
		case in.Type != "" && !slices.Contains(elementTypes, in.Type):
			return fieldErr(f+".type", fmt.Sprintf("%q is not one of float32, float16, uint8, int8, int32, int64, double", in.Type))
		case in.Order != "" && in.Order != "yx" && in.Order != "xy":
			return fieldErr(f+".order", "yx or xy")
		case in.Kind == InputConstant && len(in.Value) == 0:
			return fieldErr(f+".value", "a constant input needs its values")
		case in.Kind != InputConstant && (len(in.Value) > 0 || len(in.Shape) > 0):
			return fieldErr(f+".value", "only constant inputs take value and shape")
		}
		if in.Kind == InputConstant && len(in.Shape) > 0 {
			n := 1
			for _, d := range in.Shape {
				if d > 0 {
					n *= int(d)
				} else if d != -1 {
					return fieldErr(f+".shape", "dimensions are positive, or -1 for the batch size")
				}
			}
			if n != len(in.Value) {
				return fieldErr(f+".shape", fmt.Sprintf("holds %d values per batch, value has %d", n, len(in.Value)))
			}
		}
		if in.Kind == InputImage {
			images++
		}
		seen[in.Name] = true
	}
	if len(ins) > 0 && images != 1 {
		return fieldErr("feeds", "exactly one input is the image")
	}
	return nil
}

// bindInputs matches the declared inputs with the graph's, in the graph's order. A
// manifest without inputs feeds a single-input graph its image.
func bindInputs(decl []Input, graph []engine.TensorInfo) ([]Input, error) {
	if len(decl) == 0 {
		if len(graph) != 1 {
			names := make([]string, len(graph))
			for i, g := range graph {
				names[i] = g.Name
			}
			return nil, fieldErr("feeds", fmt.Sprintf("the graph has %d inputs %v; declare how each is fed in feeds", len(graph), names))
		}
		return []Input{{Name: graph[0].Name, Kind: InputImage}}, nil
	}
	out := make([]Input, len(graph))
	for i, g := range graph {
		j := slices.IndexFunc(decl, func(in Input) bool { return in.Name == g.Name })
		if j < 0 {
			return nil, fieldErr("feeds", fmt.Sprintf("the graph's input %q is not declared", g.Name))
		}
		if t := decl[j].Type; t != "" && t != g.Type {
			return nil, fieldErr(fmt.Sprintf("feeds[%d].type", j), fmt.Sprintf("declared %s but the graph's %q is %s", t, g.Name, g.Type))
		}
		out[i] = decl[j]
	}
	for i, in := range decl {
		if !slices.ContainsFunc(graph, func(g engine.TensorInfo) bool { return g.Name == in.Name }) {
			return nil, fieldErr(fmt.Sprintf("feeds[%d].name", i), fmt.Sprintf("the graph has no input %q", in.Name))
		}
	}
	return out, nil
}

// derived builds a non-image input for n images of one chunk from their transforms
// (inW×inH is the model input size).
func derived(in Input, trs []preprocess.Transform, inW, inH int) engine.Tensor {
	n := len(trs)
	pair := func(f func(tr preprocess.Transform) (y, x float32)) engine.Tensor {
		t := engine.Tensor{Shape: []int64{int64(n), 2}, Data: make([]float32, 2*n)}
		for i, tr := range trs {
			y, x := f(tr)
			if in.Order == "xy" {
				x, y = y, x
			}
			t.Data[2*i], t.Data[2*i+1] = y, x
		}
		return t
	}
	switch in.Kind {
	case InputScaleFactor:
		return pair(func(tr preprocess.Transform) (float32, float32) { return tr.ScaleY, tr.ScaleX })
	case InputImShape:
		return pair(func(preprocess.Transform) (float32, float32) { return float32(inH), float32(inW) })
	case InputOrigShape:
		return pair(func(tr preprocess.Transform) (float32, float32) { return float32(tr.SrcH), float32(tr.SrcW) })
	}
	shape := []int64{int64(n), int64(len(in.Value))}
	if len(in.Shape) > 0 {
		shape = slices.Clone(in.Shape)
		for i, d := range shape {
			if d == -1 {
				shape[i] = int64(n)
			}
		}
	}
	t := engine.Tensor{Shape: shape}
	reps := 1
	if slices.Contains(in.Shape, -1) || len(in.Shape) == 0 {
		reps = n
	}
	for r := 0; r < reps; r++ {
		t.Data = append(t.Data, in.Value...)
	}
	return t
}
