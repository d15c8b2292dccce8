// Package decode turns raw model outputs into detections, text, classes and embeddings.
//
// Decoders are pure Go over float32 slices so they can be unit-tested on hand-computed
// tensors and shared by every model of the same output family; a manifest names the
// family and its parameters, no per-model code is written. Coordinates are in the
// model's input pixels; models/preprocess maps them back to the source image.
package decode

import "strings"

// Box is an axis-aligned box, (X1,Y1) top-left and (X2,Y2) bottom-right.
type Box struct{ X1, Y1, X2, Y2 float32 }

// W is the box width.
func (b Box) W() float32 { return b.X2 - b.X1 }

// H is the box height.
func (b Box) H() float32 { return b.Y2 - b.Y1 }

// Area is zero for degenerate boxes.
func (b Box) Area() float32 {
	if b.X2 <= b.X1 || b.Y2 <= b.Y1 {
		return 0
	}
	return (b.X2 - b.X1) * (b.Y2 - b.Y1)
}

// IoU is intersection over union.
func IoU(a, b Box) float32 {
	x1, y1 := max(a.X1, b.X1), max(a.Y1, b.Y1)
	x2, y2 := min(a.X2, b.X2), min(a.Y2, b.Y2)
	inter := Box{x1, y1, x2, y2}.Area()
	u := a.Area() + b.Area() - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// Detection is one object found by a detector.
type Detection struct {
	Box       Box
	Score     float32
	Class     int
	Label     string
	Keypoints [][2]float32
	// Stage2 holds what second-stage models found on the detection's crop, by stage
	// name (the worker attaches them; nil when no stage ran on it).
	Stage2 map[string]Stage2 `json:"stage2,omitempty"`
}

// Stage2 is one second-stage model's result on a crop: the family's field is set.
type Stage2 struct {
	Classes    []Class    `json:"classes,omitempty"`    // classifier, best first
	Attributes Attributes `json:"attributes,omitempty"` // multi-head attributes
	Embedding  []float32  `json:"-"`                    // embedding
	Text       string     `json:"text,omitempty"`       // text recogniser
	Score      float32    `json:"score,omitempty"`      // text confidence
}

// Has reports whether stage found value on the detection: "stage" matches the
// classifier's top class or the text, "stage.group" a value an attribute group chose.
func (d Detection) Has(stage, value string) bool {
	name, group, grouped := strings.Cut(stage, ".")
	r, ok := d.Stage2[name]
	switch {
	case !ok:
		return false
	case grouped:
		for _, c := range r.Attributes[group] {
			if c.Label == value {
				return true
			}
		}
		return false
	case len(r.Classes) > 0:
		return r.Classes[0].Label == value
	}
	return r.Text != "" && r.Text == value
}

// Output is one named model output handed to a decoder.
type Output struct {
	Name  string
	Shape []int64
	Data  []float32
}

// ByName finds an output; decoders address outputs by the names a manifest gives.
// An empty name means the first output (single-output models need not name it).
func ByName(outs []Output, name string) (Output, bool) {
	if name == "" && len(outs) > 0 {
		return outs[0], true
	}
	return byName(outs, name)
}

func byName(outs []Output, name string) (Output, bool) {
	for _, o := range outs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}
