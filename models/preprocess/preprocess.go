// Package preprocess turns images into model input tensors as a manifest declares:
// resize mode, channel order, layout and normalisation. No model has code of its own
// here; a new model needs only a new Spec.
package preprocess

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Resize modes.
const (
	Stretch     = "stretch"      // resize to Width×Height ignoring aspect ratio
	Letterbox   = "letterbox"    // keep aspect ratio, pad right/bottom... centred, with PadValue
	LimitSide   = "limit_side"   // dynamic input: longest side ≤ LimitSide, both sides multiples of Multiple
	FixedHeight = "fixed_height" // dynamic width: height = Height, width scaled, ≤ MaxWidth, padded to MaxWidth
)

// Spec is the declared preprocessing of a model input. Each output value is
// (pixel*Scale - Mean[c]) / Std[c], pixels taken in Color order.
type Spec struct {
	Width     int        `json:"width,omitempty"`
	Height    int        `json:"height,omitempty"`
	Resize    string     `json:"resize"`
	Color     string     `json:"color"`  // "rgb" or "bgr"
	Layout    string     `json:"layout"` // "nchw" or "nhwc"
	Scale     float32    `json:"scale"`  // e.g. 1/255; 0 means 1
	Mean      [3]float32 `json:"mean"`
	Std       [3]float32 `json:"std"`                 // zeros mean 1
	PadValue  float32    `json:"pad_value,omitempty"` // raw pixel value of padding (before normalisation)
	LimitSide int        `json:"limit_side,omitempty"`
	Multiple  int        `json:"multiple,omitempty"`
	MaxWidth  int        `json:"max_width,omitempty"`
}

// Validate reports the first field that makes the spec unusable.
func (s Spec) Validate() error {
	switch s.Resize {
	case Stretch, Letterbox:
		if s.Width <= 0 || s.Height <= 0 {
			return fmt.Errorf("preprocess.width/height: must be positive for resize %q", s.Resize)
		}
	case LimitSide:
		if s.LimitSide <= 0 || s.Multiple <= 0 {
			return fmt.Errorf("preprocess.limit_side/multiple: must be positive for resize %q", s.Resize)
		}
	case FixedHeight:
		if s.Height <= 0 || s.MaxWidth <= 0 {
			return fmt.Errorf("preprocess.height/max_width: must be positive for resize %q", s.Resize)
		}
	default:
		return fmt.Errorf("preprocess.resize: %q is not one of stretch, letterbox, limit_side, fixed_height", s.Resize)
	}
	if s.Color != "rgb" && s.Color != "bgr" {
		return fmt.Errorf("preprocess.color: %q is not rgb or bgr", s.Color)
	}
	if s.Layout != "nchw" && s.Layout != "nhwc" {
		return fmt.Errorf("preprocess.layout: %q is not nchw or nhwc", s.Layout)
	}
	return nil
}

// Transform maps model-input pixel coordinates back to the source image:
// src = (in - Pad) / Scale.
type Transform struct {
	ScaleX, ScaleY float32
	PadX, PadY     float32
	SrcW, SrcH     int
}

// ToSource maps a point from model input to source pixels, clamped to the image.
func (t Transform) ToSource(x, y float32) (float32, float32) {
	sx := (x - t.PadX) / t.ScaleX
	sy := (y - t.PadY) / t.ScaleY
	return min(max(sx, 0), float32(t.SrcW)), min(max(sy, 0), float32(t.SrcH))
}

// Size returns the model input size a source of w×h gets under this spec.
func (s Spec) Size(w, h int) (int, int) {
	switch s.Resize {
	case LimitSide:
		r := min(1, float64(s.LimitSide)/float64(max(w, h)))
		rw := max(s.Multiple, int(math.Round(float64(w)*r/float64(s.Multiple)))*s.Multiple)
		rh := max(s.Multiple, int(math.Round(float64(h)*r/float64(s.Multiple)))*s.Multiple)
		return rw, rh
	case FixedHeight:
		return s.MaxWidth, s.Height
	}
	return s.Width, s.Height
}

// Apply converts a BGR image (as gocv decodes) into a CHW or HWC float tensor of
// outW×outH (from Size) and returns it with its Transform.
func (s Spec) Apply(img gocv.Mat, outW, outH int) ([]float32, Transform, error) {
	if img.Empty() {
		return nil, Transform{}, fmt.Errorf("empty image")
	}
	if img.Channels() != 3 || img.Type() != gocv.MatTypeCV8UC3 {
		return nil, Transform{}, fmt.Errorf("image must be 8-bit BGR, got %d channels type %v", img.Channels(), img.Type())
	}
	w, h := img.Cols(), img.Rows()
	tr := Transform{SrcW: w, SrcH: h}
	// rw×rh is the resized content; it is placed at (px,py) inside outW×outH.
	rw, rh, px, py := outW, outH, 0, 0
	switch s.Resize {
	case Letterbox:
		r := min(float64(outW)/float64(w), float64(outH)/float64(h))
		rw, rh = max(1, int(math.Round(float64(w)*r))), max(1, int(math.Round(float64(h)*r)))
		px, py = (outW-rw)/2, (outH-rh)/2
	case FixedHeight:
		rh = outH
		rw = min(outW, max(1, int(math.Ceil(float64(w)*float64(outH)/float64(h)))))
	}
	tr.ScaleX, tr.ScaleY = float32(rw)/float32(w), float32(rh)/float32(h)
	tr.PadX, tr.PadY = float32(px), float32(py)

	resized := gocv.NewMat()
	defer resized.Close()
	interp := gocv.InterpolationLinear
	if rw < w && rh < h {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(img, &resized, image.Pt(rw, rh), 0, 0, interp)
	pix, err := resized.DataPtrUint8()
	if err != nil {
		return nil, Transform{}, err
	}
	scale := s.Scale
	if scale == 0 {
		scale = 1
	}
	var mul, add [3]float32 // v = p*mul + add, per output channel
	for c := 0; c < 3; c++ {
		std := s.Std[c]
		if std == 0 {
			std = 1
		}
		mul[c] = scale / std
		add[c] = -s.Mean[c] / std
	}
	out := make([]float32, 3*outW*outH)
	plane := outW * outH
	// padding first, then content
	for c := 0; c < 3; c++ {
		pv := s.PadValue*mul[c] + add[c]
		if pv != 0 {
			for i := 0; i < plane; i++ {
				if s.Layout == "nchw" {
					out[c*plane+i] = pv
				} else {
					out[i*3+c] = pv
				}
			}
		}
	}
	// gocv gives BGR; source channel for output channel c:
	src := [3]int{0, 1, 2}
	if s.Color == "rgb" {
		src = [3]int{2, 1, 0}
	}
	step := resized.Step()
	for y := 0; y < rh; y++ {
		row := pix[y*step:]
		oy := y + py
		for x := 0; x < rw; x++ {
			ox := x + px
			p := row[x*3 : x*3+3]
			i := oy*outW + ox
			if s.Layout == "nchw" {
				out[i] = float32(p[src[0]])*mul[0] + add[0]
				out[plane+i] = float32(p[src[1]])*mul[1] + add[1]
				out[2*plane+i] = float32(p[src[2]])*mul[2] + add[2]
			} else {
				out[i*3] = float32(p[src[0]])*mul[0] + add[0]
				out[i*3+1] = float32(p[src[1]])*mul[1] + add[1]
				out[i*3+2] = float32(p[src[2]])*mul[2] + add[2]
			}
		}
	}
	return out, tr, nil
}
