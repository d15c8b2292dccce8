package preprocess

import (
	"image/color"
	"testing"

	"gocv.io/x/gocv"
)

// A 4×2 BGR image with known pixels, letterboxed to 4×4 NCHW RGB with mean/std.
func TestLetterboxNCHWRGB(t *testing.T) {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(10, 20, 30, 0), 2, 4, gocv.MatTypeCV8UC3) // B=10 G=20 R=30
	defer img.Close()
	s := Spec{Width: 4, Height: 4, Resize: Letterbox, Color: "rgb", Layout: "nchw", Scale: 1, Mean: [3]float32{30, 0, 0}, Std: [3]float32{1, 2, 5}, PadValue: 0}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	out, tr, err := s.Apply(img, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	// content rows 1..2 (centred), padding rows 0 and 3
	plane := 16
	at := func(c, y, x int) float32 { return out[c*plane+y*4+x] }
	if at(0, 1, 0) != 0 || at(1, 1, 3) != 10 || at(2, 2, 2) != 2 { // (30-30)/1, 20/2, 10/5
		t.Fatalf("content values %v", out)
	}
	if at(0, 0, 0) != -30 || at(1, 3, 1) != 0 { // pad 0 → (0-30)/1 and 0/2
		t.Fatalf("padding values %v", out)
	}
	if tr.ScaleX != 1 || tr.PadY != 1 {
		t.Fatalf("transform %+v", tr)
	}
	x, y := tr.ToSource(2, 2)
	if x != 2 || y != 1 {
		t.Fatalf("ToSource = %v,%v", x, y)
	}
}

func TestNHWCBGRAndSizes(t *testing.T) {
	img := gocv.NewMatWithSize(3, 6, gocv.MatTypeCV8UC3)
	defer img.Close()
	img.SetUCharAt(0, 0, 7) // B of pixel (0,0)
	s := Spec{Width: 6, Height: 3, Resize: Stretch, Color: "bgr", Layout: "nhwc", Scale: 0.5}
	out, _, err := s.Apply(img, 6, 3)
	if err != nil || out[0] != 3.5 || len(out) != 54 {
		t.Fatalf("nhwc bgr: %v %v", out[:3], err)
	}
	ls := Spec{Resize: LimitSide, LimitSide: 960, Multiple: 32}
	if w, h := ls.Size(1920, 1080); w != 960 || h != 544 {
		t.Fatalf("limit side size %dx%d", w, h)
	}
	if w, h := ls.Size(100, 20); w != 96 || h != 32 {
		t.Fatalf("small limit side size %dx%d", w, h)
	}
	_ = color.RGBA{}
}

func TestValidateNamesField(t *testing.T) {
	for _, s := range []Spec{{Resize: "zoom"}, {Resize: Stretch, Color: "rgb", Layout: "nchw"}, {Resize: Stretch, Width: 1, Height: 1, Color: "hsv", Layout: "nchw"}} {
		if err := s.Validate(); err == nil {
			t.Fatalf("%+v accepted", s)
		}
	}
}
