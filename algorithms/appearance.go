package algorithms

import (
	"image"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// appearanceBins is the size of one half's histogram: 8 hues × 3 brightness levels
// for coloured pixels, and 4 brightness levels for grey ones (S < 50).
const appearanceBins = 8*3 + 4

// Appearance is a cheap appearance feature of a detected object for the tracker
// (track.Config.Gate): the HSV colour histogram of the box's central columns
// (20-80 %, where the object is, not the background), its upper and lower halves
// apart (a person's coat and trousers), each half normalised to 0.5. It costs tens
// of microseconds per box (sampled on at most ~1500 pixels) against a detector's tens
// of milliseconds per frame, and keeps two passers-by in different clothes from
// swapping tracks where their boxes overlap. nil when the box is empty.
func Appearance(img gocv.Mat, b decode.Box) []float32 {
	w, h := b.W(), b.H()
	r := image.Rect(int(b.X1+0.2*w), int(b.Y1+0.05*h), int(b.X1+0.8*w+0.5), int(b.Y1+0.95*h+0.5)).
		Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if r.Dx() < 2 || r.Dy() < 4 || img.Channels() != 3 {
		return nil
	}
	step := 1
	for (r.Dx()/step)*(r.Dy()/step) > 1500 {
		step++
	}
	roi := img.Region(r)
	defer roi.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(roi, &small, image.Pt(max(1, r.Dx()/step), max(1, r.Dy()/step)), 0, 0, gocv.InterpolationNearestNeighbor)
	hsv := gocv.NewMat()
	defer hsv.Close()
	gocv.CvtColor(small, &hsv, gocv.ColorBGRToHSV)
	px, err := hsv.DataPtrUint8()
	if err != nil {
		return nil
	}
	cols, rows := hsv.Cols(), hsv.Rows()
	f := make([]float32, 2*appearanceBins)
	var n [2]float32
	for y := range rows {
		half := 0
		if 2*y >= rows {
			half = 1
		}
		for x := range cols {
			i := 3 * (y*cols + x)
			hh, s, v := int(px[i]), int(px[i+1]), int(px[i+2])
			var bin int
			if s < 50 || v < 40 {
				bin = 24 + min(v/64, 3)
			} else {
				bin = min(hh*8/180, 7)*3 + min(v*3/256, 2)
			}
			f[half*appearanceBins+bin]++
			n[half]++
		}
	}
	for half := range 2 {
		if n[half] == 0 {
			continue
		}
		for i := range appearanceBins {
			f[half*appearanceBins+i] /= 2 * n[half]
		}
	}
	return f
}
