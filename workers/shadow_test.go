package workers

import (
	"testing"

	"github.com/cityeye/cityeye/models/decode"
)

// The candidate's detections are matched to the primary's by label and IoU ≥ 0.5,
// one to one, best score first: what is left is extra (candidate) or missed.
func TestCompareDetections(t *testing.T) {
	box := func(x float32) decode.Box { return decode.Box{X1: x, Y1: 0, X2: x + 10, Y2: 20} }
	prim := []decode.Detection{{Label: "person", Score: 0.9, Box: box(0)}, {Label: "person", Score: 0.4, Box: box(100)}, {Label: "car", Score: 0.8, Box: box(200)}}
	cand := []decode.Detection{
		{Label: "person", Score: 0.9, Box: box(1)},   // matches the first person
		{Label: "person", Score: 0.7, Box: box(2)},   // a duplicate: the first person is taken
		{Label: "truck", Score: 0.8, Box: box(200)},  // another label than the car
		{Label: "person", Score: 0.6, Box: box(300)}, // nothing there
	}
	if m, e, x := compareDetections(prim, cand); m != 1 || e != 3 || x != 2 {
		t.Fatalf("matched %d extra %d missed %d", m, e, x)
	}
	if m, e, x := compareDetections(prim, nil); m != 0 || e != 0 || x != 3 {
		t.Fatalf("nothing found: %d %d %d", m, e, x)
	}
}
