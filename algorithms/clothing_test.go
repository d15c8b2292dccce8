package algorithms

import (
	"image/color"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/testdata"
)

// A painted person (paintPerson: coat over trousers) on a grey street.
func TestClothingColorsSynthetic(t *testing.T) {
	rgb := func(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0} }
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 300, 400, gocv.MatTypeCV8UC3)
	defer m.Close()
	box := paintPerson(&m, 100, rgb(200, 30, 30), rgb(30, 60, 200))
	box.Y1 -= 30 // the head above the coat
	if coat, trousers := ClothingColors(m, box); coat != ColorRed || trousers != ColorBlue {
		t.Fatalf("coat %q trousers %q, want red and blue", coat, trousers)
	}
	if coat, trousers := ClothingColors(m, decode.Box{X1: 500, Y1: 500, X2: 520, Y2: 560}); coat != "" || trousers != "" {
		t.Fatalf("outside the frame: %q %q", coat, trousers)
	}
}

// People of vtest.avi whose clothes were checked by eye on crops, with NanoDet's
// boxes of them at frames 500 and 700 ("" trousers: not clear enough by eye to
// assert: grey-ish trousers, legs half in shadow).
func TestClothingColorsVTest(t *testing.T) {
	cases := []struct {
		frame          int
		box            decode.Box
		who            string
		coat, trousers string
	}{
		{500, decode.Box{X1: 307, Y1: 188, X2: 334, Y2: 264}, "woman in a red jacket and jeans", ColorRed, ColorBlue},
		{500, decode.Box{X1: 564, Y1: 264, X2: 608, Y2: 393}, "man in a black jacket and jeans", ColorBlack, ColorBlue},
		{500, decode.Box{X1: 611, Y1: 273, X2: 642, Y2: 370}, "man in a long black coat", ColorBlack, ColorBlack},
		{700, decode.Box{X1: 277, Y1: 213, X2: 312, Y2: 294}, "man in a blue hooded jacket", ColorBlue, ""},
		{700, decode.Box{X1: 102, Y1: 285, X2: 145, Y2: 395}, "blonde woman in a knee-length black coat, one leg in shadow", ColorBlack, ""},
	}
	frames := map[int]gocv.Mat{}
	vc, err := gocv.VideoCaptureFile(testdata.Media(t, "vtest.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	for i := 0; i <= 700; i++ {
		m := gocv.NewMat()
		if !vc.Read(&m) {
			t.Fatalf("vtest.avi ends at frame %d", i)
		}
		if i == 500 || i == 700 {
			frames[i] = m
			defer m.Close()
		} else {
			m.Close()
		}
	}
	for _, c := range cases {
		coat, trousers := ClothingColors(frames[c.frame], c.box)
		t.Logf("%s: coat %q, trousers %q", c.who, coat, trousers)
		if coat != c.coat || (c.trousers != "" && trousers != c.trousers) {
			t.Errorf("%s: coat %q trousers %q, want %q and %q", c.who, coat, trousers, c.coat, c.trousers)
		}
	}
}
