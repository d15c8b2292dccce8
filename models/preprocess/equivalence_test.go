package preprocess_test

import (
	"image"
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/preprocess"
	"github.com/cityeye/cityeye/testdata"
)

// reference is the preprocessing as it was before the fused kernels (OpenCV resize into a
// new image, then a per-pixel loop into a new tensor): the fused path must equal it.
func reference(s preprocess.Spec, img gocv.Mat, outW, outH int) []float32 {
	w, h := img.Cols(), img.Rows()
	rw, rh, px, py := outW, outH, 0, 0
	switch s.Resize {
	case preprocess.Letterbox:
		r := min(float64(outW)/float64(w), float64(outH)/float64(h))
		rw, rh = max(1, int(math.Round(float64(w)*r))), max(1, int(math.Round(float64(h)*r)))
		px, py = (outW-rw)/2, (outH-rh)/2
	case preprocess.FixedHeight:
		rh = outH
		rw = min(outW, max(1, int(math.Ceil(float64(w)*float64(outH)/float64(h)))))
	}
	resized := gocv.NewMat()
	defer resized.Close()
	interp := gocv.InterpolationLinear
	if rw < w && rh < h {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(img, &resized, image.Pt(rw, rh), 0, 0, interp)
	pix, _ := resized.DataPtrUint8()
	scale := s.Scale
	if scale == 0 {
		scale = 1
	}
	var mul, add [3]float32
	for c := 0; c < 3; c++ {
		std := s.Std[c]
		if std == 0 {
			std = 1
		}
		mul[c], add[c] = scale/std, -s.Mean[c]/std
	}
	out := make([]float32, 3*outW*outH)
	plane := outW * outH
	at := func(c, i int) *float32 {
		if s.Layout == "nchw" {
			return &out[c*plane+i]
		}
		return &out[i*3+c]
	}
	for c := 0; c < 3; c++ {
		for i := 0; i < plane; i++ {
			*at(c, i) = s.PadValue*mul[c] + add[c]
		}
	}
	src := [3]int{0, 1, 2}
	if s.Color == "rgb" {
		src = [3]int{2, 1, 0}
	}
	for y := 0; y < rh; y++ {
		for x := 0; x < rw; x++ {
			p := pix[y*resized.Step()+x*3:]
			for c := 0; c < 3; c++ {
				*at(c, (y+py)*outW+x+px) = float32(p[src[c]])*mul[c] + add[c]
			}
		}
	}
	return out
}

// camera returns a real photo as a w×h camera frame.
func camera(t testing.TB, name string, w, h int) gocv.Mat {
	src := gocv.IMRead(testdata.Media(t, name), gocv.IMReadColor)
	defer src.Close()
	img := gocv.NewMat()
	gocv.Resize(src, &img, image.Pt(w, h), 0, 0, gocv.InterpolationCubic)
	return img
}

// TestFusedEqualsReference compares every resize mode, layout and colour order over
// downscales (generic and integer area), upscales and cropped (non-continuous) sources,
// reusing one tensor and Buffers that hold the previous case's values.
func TestFusedEqualsReference(t *testing.T) {
	b := preprocess.NewBuffers()
	defer b.Close()
	var dst []float32
	specs := []preprocess.Spec{
		{Width: 640, Height: 640, Resize: preprocess.Stretch, Color: "rgb", Layout: "nchw", Scale: 1.0 / 255},
		{Width: 416, Height: 416, Resize: preprocess.Stretch, Color: "bgr", Layout: "nchw", Scale: 1, Mean: [3]float32{103.53, 116.28, 123.675}, Std: [3]float32{57.375, 57.12, 58.395}},
		{Width: 256, Height: 256, Resize: preprocess.Letterbox, Color: "rgb", Layout: "nhwc", Scale: 0.007843137, Mean: [3]float32{1, 1, 1}, PadValue: 114},
		{Width: 640, Height: 640, Resize: preprocess.Letterbox, Color: "bgr", Layout: "nchw", Scale: 1.0 / 255},
		{Height: 48, MaxWidth: 320, Resize: preprocess.FixedHeight, Color: "bgr", Layout: "nchw", Scale: 0.003921569, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}},
		{LimitSide: 960, Multiple: 32, Resize: preprocess.LimitSide, Color: "bgr", Layout: "nchw", Scale: 0.003921569, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}},
	}
	sizes := [][2]int{{1280, 720}, {1920, 1080}, {704, 576}, {333, 97}, {112, 112}, {97, 1201}}
	for _, sz := range sizes {
		full := camera(t, "dog.jpg", sz[0]+20, sz[1]+10)
		crop := full.Region(image.Rect(7, 3, 7+sz[0], 3+sz[1])) // not continuous
		cont := crop.Clone()
		for _, img := range []gocv.Mat{cont, crop} {
			for si, s := range specs {
				outW, outH := s.Size(img.Cols(), img.Rows())
				want := reference(s, img, outW, outH)
				if n := 3 * outW * outH; cap(dst) < n {
					dst = make([]float32, n)
				}
				dst = dst[:3*outW*outH]
				for i := range dst {
					dst[i] = float32(math.NaN()) // every value must be written
				}
				if _, err := s.ApplyInto(dst, img, outW, outH, b); err != nil {
					t.Fatal(err)
				}
				if i, d := maxDiff(want, dst); d > 1e-6 {
					t.Fatalf("%dx%d continuous=%v spec %d: value %d is %v, want %v", sz[0], sz[1], img.IsContinuous(), si, i, dst[i], want[i])
				}
			}
		}
		full.Close()
		crop.Close()
		cont.Close()
	}
}

func maxDiff(a, b []float32) (int, float64) {
	at, worst := 0, 0.0
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		if b[i] != b[i] {
			d = math.Inf(1)
		}
		if d > worst {
			at, worst = i, d
		}
	}
	return at, worst
}

func TestApplyIntoRefusesSmallTensor(t *testing.T) {
	img := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer img.Close()
	s := preprocess.Spec{Width: 8, Height: 8, Resize: preprocess.Stretch, Color: "rgb", Layout: "nchw"}
	b := preprocess.NewBuffers()
	defer b.Close()
	if _, err := s.ApplyInto(make([]float32, 3*8*8-1), img, 8, 8, b); err == nil {
		t.Fatal("a tensor one value short was accepted")
	}
}
