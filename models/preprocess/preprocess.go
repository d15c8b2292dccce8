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

// Buffers are what preprocessing keeps between frames so that a frame allocates nothing:
// the resized image (when OpenCV resizes), the area tables of the last sizes seen and a
// few rows of floats. One Buffers serves one goroutine at a time.
type Buffers struct {
	resized gocv.Mat
	tabs    areaTabs
	rows    []float32
}

// NewBuffers returns empty buffers; Close releases the native image.
func NewBuffers() *Buffers { return &Buffers{resized: gocv.NewMat()} }

// Close releases the native image.
func (b *Buffers) Close() error { return b.resized.Close() }

func (b *Buffers) floats(n int) []float32 {
	if cap(b.rows) < n {
		b.rows = make([]float32, n)
	}
	return b.rows[:n]
}

// Apply converts a BGR image (as gocv decodes) into a new CHW or HWC float tensor of
// outW×outH (from Size) and returns it with its Transform. Callers that run every frame
// use ApplyInto with their own tensor and Buffers.
func (s Spec) Apply(img gocv.Mat, outW, outH int) ([]float32, Transform, error) {
	b := NewBuffers()
	defer b.Close()
	out := make([]float32, 3*outW*outH)
	tr, err := s.ApplyInto(out, img, outW, outH, b)
	if err != nil {
		return nil, Transform{}, err
	}
	return out, tr, nil
}

// ApplyInto writes the tensor of Apply into dst (len ≥ 3·outW·outH, every value
// overwritten) in one pass: resampling, colour order, normalisation and layout together.
// Downscales take OpenCV's INTER_AREA, upscales INTER_LINEAR, with identical pixels: the
// generic area resample runs fused (ce_area, OpenCV's tables and float operations), other
// resizes run in OpenCV into b's reused image and are converted by ce_norm.
func (s Spec) ApplyInto(dst []float32, img gocv.Mat, outW, outH int, b *Buffers) (Transform, error) {
	if img.Empty() {
		return Transform{}, fmt.Errorf("empty image")
	}
	if img.Channels() != 3 || img.Type() != gocv.MatTypeCV8UC3 {
		return Transform{}, fmt.Errorf("image must be 8-bit BGR, got %d channels type %v", img.Channels(), img.Type())
	}
	if outW <= 0 || outH <= 0 || len(dst) < 3*outW*outH {
		return Transform{}, fmt.Errorf("tensor of %d values is too small for %dx%d", len(dst), outW, outH)
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

	scale := s.Scale
	if scale == 0 {
		scale = 1
	}
	var mul, add, pad [3]float32 // v = p*mul + add, per output channel
	for c := 0; c < 3; c++ {
		std := s.Std[c]
		if std == 0 {
			std = 1
		}
		mul[c] = scale / std
		add[c] = -s.Mean[c] / std
		pad[c] = s.PadValue*mul[c] + add[c]
	}
	l := newLayout(s, outW, outH, px, py, mul, add)
	l.pad(dst, rw, rh, pad)

	area := rw < w && rh < h
	if area && img.IsContinuous() && !integerArea(w, h, rw, rh) {
		pix, err := img.DataPtrUint8()
		if err != nil {
			return Transform{}, err
		}
		b.tabs.update(w, h, rw, rh)
		l.area(dst, pix, img.Step(), &b.tabs, b.floats(areaFloats(w, rw)))
		return tr, nil
	}
	src := img
	if rw != w || rh != h || !img.IsContinuous() {
		interp := gocv.InterpolationLinear
		if area {
			interp = gocv.InterpolationArea
		}
		gocv.Resize(img, &b.resized, image.Pt(rw, rh), 0, 0, interp)
		src = b.resized
	}
	pix, err := src.DataPtrUint8()
	if err != nil {
		return Transform{}, err
	}
	l.norm(dst, pix, src.Step(), rw, rh, b.floats(3*rw))
	return tr, nil
}
