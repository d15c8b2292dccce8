package algorithms

import (
	"image"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// Colour names the classifiers return. The recorder maps them to GA/T 1400 ColorType
// codes (gat1400.ColorTypeByName).
const (
	ColorBlack  = "black"
	ColorWhite  = "white"
	ColorGrey   = "grey"
	ColorRed    = "red"
	ColorOrange = "orange"
	ColorYellow = "yellow"
	ColorGreen  = "green"
	ColorCyan   = "cyan"
	ColorBlue   = "blue"
	ColorPurple = "purple"
	ColorBrown  = "brown"
	ColorPink   = "pink"
)

// pixelColor names the colour of one HSV pixel (OpenCV ranges: H 0-179, S and V
// 0-255). Thresholds:
//
//	V < 60                          black
//	S < 70 (achromatic):  V ≥ 170   white;  V < 90  black;  else grey
//
// The achromatic bound is high on purpose: silver and white cars pick up the sky's
// blue in reflections (car2.jpg's silver-blue panels have S ≈ 20-30 %), while
// painted colours and plate backgrounds are far more saturated.
//
//	otherwise by hue:     H < 8 or ≥ 165  red (pink when S < 110 and V ≥ 170)
//	                      8–19   orange (brown when V < 130)
//	                      20–34  yellow (brown when V < 100)
//	                      35–84  green,  85–99 cyan,  100–129 blue,  130–164 purple
func pixelColor(h, s, v uint8) string {
	switch {
	case v < 60:
		return ColorBlack
	case s < 70:
		switch {
		case v >= 170:
			return ColorWhite
		case v < 90:
			return ColorBlack
		}
		return ColorGrey
	case h < 8 || h >= 165:
		if s < 110 && v >= 170 {
			return ColorPink
		}
		return ColorRed
	case h < 20:
		if v < 130 {
			return ColorBrown
		}
		return ColorOrange
	case h < 35:
		if v < 100 {
			return ColorBrown
		}
		return ColorYellow
	case h < 85:
		return ColorGreen
	case h < 100:
		return ColorCyan
	case h < 130:
		return ColorBlue
	}
	return ColorPurple
}

// colorHistogram counts the pixel colours of img's region r (skipping the pixels in
// skip), with the mean V of each colour.
func colorHistogram(img gocv.Mat, r image.Rectangle, skip []image.Rectangle) (counts map[string]int, meanV map[string]float64, total int) {
	counts, meanV = map[string]int{}, map[string]float64{}
	r = r.Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if r.Empty() || img.Channels() != 3 {
		return counts, meanV, 0
	}
	roi := img.Region(r)
	defer roi.Close()
	hsv := gocv.NewMat()
	defer hsv.Close()
	gocv.CvtColor(roi, &hsv, gocv.ColorBGRToHSV)
	// sample on a grid of at most ~4000 pixels: the mode does not need every pixel
	step := 1
	for (r.Dx()/step)*(r.Dy()/step) > 4000 {
		step++
	}
	sums := map[string]float64{}
	for y := 0; y < r.Dy(); y += step {
		for x := 0; x < r.Dx(); x += step {
			p := image.Pt(r.Min.X+x, r.Min.Y+y)
			skipped := false
			for _, s := range skip {
				if p.In(s) {
					skipped = true
					break
				}
			}
			if skipped {
				continue
			}
			h, s, v := hsv.GetUCharAt(y, 3*x), hsv.GetUCharAt(y, 3*x+1), hsv.GetUCharAt(y, 3*x+2)
			c := pixelColor(h, s, v)
			counts[c]++
			sums[c] += float64(v)
			total++
		}
	}
	for c, n := range counts {
		meanV[c] = sums[c] / float64(n)
	}
	return counts, meanV, total
}

func boxRect(b decode.Box) image.Rectangle {
	return image.Rect(int(b.X1), int(b.Y1), int(b.X2+0.5), int(b.Y2+0.5))
}

// PlateColor classifies a plate from the pixels around its text (box is the text
// line OCR found, grown by 15 % of its height on every side to take in the plate's
// background): mainland plates are blue with white characters (small vehicles),
// yellow with black (large vehicles, learners), green (new energy: a white-to-green
// gradient, black characters; yellow-green for large ones), white with black or red
// (police, military) or black with white (foreign, Hong Kong/Macau).
//
// The background is the chromatic colour (blue, yellow, green) covering ≥ 25 % of
// the region if there is one, characters being achromatic on those plates; else the
// more frequent of white and black (the characters take the rest). "" when the
// region is empty or neither rule holds (e.g. mostly grey: a dirty or unlit plate).
func PlateColor(img gocv.Mat, box decode.Box) string {
	g := 0.15 * box.H()
	r := boxRect(decode.Box{X1: box.X1 - g, Y1: box.Y1 - g, X2: box.X2 + g, Y2: box.Y2 + g})
	counts, _, total := colorHistogram(img, r, nil)
	if total == 0 {
		return ""
	}
	frac := func(c string) float64 { return float64(counts[c]) / float64(total) }
	best, bf := "", 0.0
	for _, c := range []string{ColorBlue, ColorYellow, ColorGreen} {
		if f := frac(c); f >= 0.25 && f > bf {
			best, bf = c, f
		}
	}
	if best != "" {
		return best
	}
	w, k := frac(ColorWhite), frac(ColorBlack)
	switch {
	case w >= 0.35 && w >= k:
		return ColorWhite
	case k >= 0.35 && k > w:
		return ColorBlack
	}
	return ""
}

// VehicleColor classifies a vehicle's body colour: the most frequent pixel colour
// (pixelColor) in the part of the box that is mostly body panels whether the vehicle
// is seen from the side, the front or the back: rows 30-75 % (below the windows,
// above the wheels' lower half and the road), columns 15-85 %, minus the plate (and
// any other regions in skip). dark reports whether that colour's pixels are dark
// (mean V < 110), for VehicleColorDepth. "" for an empty region.
func VehicleColor(img gocv.Mat, box decode.Box, skip ...decode.Box) (name string, dark bool) {
	w, h := box.W(), box.H()
	body := decode.Box{X1: box.X1 + 0.15*w, Y1: box.Y1 + 0.30*h, X2: box.X1 + 0.85*w, Y2: box.Y1 + 0.75*h}
	var sk []image.Rectangle
	for _, s := range skip {
		sk = append(sk, boxRect(s))
	}
	counts, meanV, total := colorHistogram(img, boxRect(body), sk)
	if total == 0 {
		return "", false
	}
	top := mostFrequent(counts)
	return top, meanV[top] < 110
}

// mostFrequent is the colour with the most pixels (ties: the first name), "" for none.
func mostFrequent(counts map[string]int) string {
	best := ""
	for c, n := range counts {
		if best == "" || n > counts[best] || n == counts[best] && c < best {
			best = c
		}
	}
	return best
}
