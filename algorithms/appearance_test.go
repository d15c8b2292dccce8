package algorithms

import (
	"image"
	"image/color"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms/track"
	"github.com/cityeye/cityeye/models/decode"
)

// paintPerson draws a coat over trousers at x on a grey street.
func paintPerson(m *gocv.Mat, x int, coat, trousers color.RGBA) decode.Box {
	gocv.Rectangle(m, image.Rect(x, 100, x+40, 150), coat, -1)
	gocv.Rectangle(m, image.Rect(x, 150, x+40, 200), trousers, -1)
	return decode.Box{X1: float32(x) - 4, Y1: 96, X2: float32(x) + 44, Y2: 204}
}

// The same clothes a few pixels apart are near (distance well under the tracker's
// gate); another coat over the same jeans, or the same colours swapped between coat
// and trousers, are far.
func TestAppearanceSeparatesClothes(t *testing.T) {
	red, navy, jeans, black := color.RGBA{200, 30, 30, 0}, color.RGBA{30, 30, 90, 0}, color.RGBA{60, 90, 160, 0}, color.RGBA{15, 15, 15, 0}
	frame := func(coat, trousers color.RGBA, x int) []float32 {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 300, 400, gocv.MatTypeCV8UC3)
		defer m.Close()
		// BGR order for gocv drawing
		bgr := func(c color.RGBA) color.RGBA { return color.RGBA{c.B, c.G, c.R, 0} }
		return Appearance(m, paintPerson(&m, x, bgr(coat), bgr(trousers)))
	}
	a := frame(red, jeans, 100)
	gate := float32(track.New(track.Config{}).Config().Gate)
	if d := track.Distance(a, frame(red, jeans, 106)); d > gate/3 {
		t.Errorf("same clothes, moved: distance %.2f", d)
	}
	if d := track.Distance(a, frame(navy, jeans, 106)); d < gate {
		t.Errorf("other coat: distance %.2f under the gate %.2f", d, gate)
	}
	if d := track.Distance(frame(black, jeans, 100), frame(jeans, black, 100)); d < gate {
		t.Errorf("coat and trousers swapped: distance %.2f under the gate %.2f", d, gate)
	}
	empty := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer empty.Close()
	if f := Appearance(empty, decode.Box{X1: 20, Y1: 20, X2: 30, Y2: 30}); f != nil {
		t.Errorf("a box outside the frame has feature %v", f)
	}
}
