package algorithms

import (
	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// Person attributes (Capture.Attributes) for GA/T 1400 Person CoatColor and
// TrousersColor: colour names of colorHistogram's palette.
const (
	AttrCoatColor     = "coat_color"
	AttrTrousersColor = "trousers_color"
)

// ClothingColors names the colours of a standing person's coat and trousers from
// the body's regions in the box: the coat is rows 20-45 % of the box (below the head,
// above the hips), the trousers rows 58-85 % (thighs to shins, above the shoes and
// the ground), both the middle half of the columns (the box is wider than the body:
// arms swing, the background shows at the sides). Each is the most frequent pixel
// colour of its region (pixelColor: HSV, as for vehicles), "" when the region is
// empty or no colour covers a third of it (mixed or patterned clothes, occlusion).
func ClothingColors(img gocv.Mat, b decode.Box) (coat, trousers string) {
	region := func(top, bottom float32) string {
		w, h := b.W(), b.H()
		r := decode.Box{X1: b.X1 + 0.25*w, Y1: b.Y1 + top*h, X2: b.X1 + 0.75*w, Y2: b.Y1 + bottom*h}
		counts, _, total := colorHistogram(img, boxRect(r), nil)
		if total == 0 {
			return ""
		}
		best := mostFrequent(counts)
		if 3*counts[best] < total {
			return ""
		}
		return best
	}
	return region(0.20, 0.45), region(0.58, 0.85)
}
