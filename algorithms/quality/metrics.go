package quality

import (
	"image"
	"math"

	"gocv.io/x/gocv"
)

// analysisWidth is the width frames are measured at: every metric is computed on the
// same small picture whatever the camera's resolution, so thresholds hold across
// cameras and a 4K key frame costs what a CIF one does.
const analysisWidth = 320

// Metrics are one frame's measurements. Grey levels are 0–255.
type Metrics struct {
	Brightness float64 // mean luma
	Contrast   float64 // luma standard deviation
	Bright     float64 // fraction of pixels at 250 or above
	Sharpness  float64 // variance of the Laplacian of the luma
	Noise      float64 // estimated noise standard deviation (Immerkær's method)
	Flat       float64 // fraction of the 8×6 grid's cells with no texture (std < 4)
	Cast       float64 // colour cast factor: mean chroma offset over chroma spread (Lab)
	CastOffset float64 // mean chroma offset from neutral (Lab a, b)
	Motion     float64 // mean absolute luma difference from the previous measured frame
	Similarity float64 // correlation of the edge map with the reference frame's (1 = same scene)
}

// frame holds the small pictures a measurement keeps for the next one.
type frame struct {
	gray  gocv.Mat // analysisWidth wide luma
	edges gocv.Mat // 80-wide gradient magnitude, for the scene comparison
}

func (f *frame) Close() {
	f.gray.Close()
	f.edges.Close()
}

// measure computes m for img against the previous frame and the reference (either
// may be nil) and returns the small pictures for later comparisons.
func measure(img gocv.Mat, prev, ref *frame) (Metrics, *frame) {
	var m Metrics
	h := img.Rows() * analysisWidth / max(img.Cols(), 1)
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(img, &small, image.Pt(analysisWidth, max(h, 1)), 0, 0, gocv.InterpolationArea)
	gray := gocv.NewMat()
	gocv.CvtColor(small, &gray, gocv.ColorBGRToGray)

	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(gray, &mean, &std)
	m.Brightness, m.Contrast = mean.GetDoubleAt(0, 0), std.GetDoubleAt(0, 0)
	bright := gocv.NewMat()
	gocv.Threshold(gray, &bright, 249, 255, gocv.ThresholdBinary)
	m.Bright = float64(gocv.CountNonZero(bright)) / float64(gray.Rows()*gray.Cols())
	bright.Close()

	lap := gocv.NewMat()
	gocv.Laplacian(gray, &lap, gocv.MatTypeCV64F, 1, 1, 0, gocv.BorderDefault)
	gocv.MeanStdDev(lap, &mean, &std)
	m.Sharpness = std.GetDoubleAt(0, 0) * std.GetDoubleAt(0, 0)
	lap.Close()

	m.Noise = noiseSigma(gray)
	m.Flat = flatCells(gray, 8, 6, 4)
	m.Cast, m.CastOffset = colourCast(small)

	edges := edgeMap(gray)
	f := &frame{gray: gray, edges: edges}
	if prev != nil && prev.gray.Rows() == gray.Rows() {
		diff := gocv.NewMat()
		gocv.AbsDiff(gray, prev.gray, &diff)
		m.Motion = diff.Mean().Val1
		diff.Close()
	} else {
		m.Motion = math.NaN()
	}
	m.Similarity = math.NaN()
	if ref != nil {
		m.Similarity = correlation(edges, ref.edges)
	}
	return m, f
}

// noiseSigma estimates the standard deviation of white noise in gray (J. Immerkær,
// "Fast Noise Variance Estimation", 1996): the image convolved with a mask that
// cancels edges and smooth shading leaves mostly noise.
func noiseSigma(gray gocv.Mat) float64 {
	k := gocv.NewMatWithSize(3, 3, gocv.MatTypeCV32F)
	defer k.Close()
	for i, v := range []float32{1, -2, 1, -2, 4, -2, 1, -2, 1} {
		k.SetFloatAt(i/3, i%3, v)
	}
	out := gocv.NewMat()
	defer out.Close()
	gocv.Filter2D(gray, &out, gocv.MatTypeCV32F, k, image.Pt(-1, -1), 0, gocv.BorderReflect)
	zero := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), out.Rows(), out.Cols(), gocv.MatTypeCV32F)
	defer zero.Close()
	abs := gocv.NewMat()
	defer abs.Close()
	gocv.AbsDiff(out, zero, &abs)
	w, h := float64(gray.Cols()-2), float64(gray.Rows()-2)
	return math.Sqrt(math.Pi/2) / (6 * w * h) * abs.Sum().Val1
}

// flatCells is the fraction of a cols×rows grid's cells whose luma std is below lim:
// a lens cap, a bag or a board over the camera leaves large untextured areas.
func flatCells(gray gocv.Mat, cols, rows int, lim float64) float64 {
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	cw, ch := gray.Cols()/cols, gray.Rows()/rows
	flat := 0
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			cell := gray.Region(image.Rect(x*cw, y*ch, (x+1)*cw, (y+1)*ch))
			gocv.MeanStdDev(cell, &mean, &std)
			if std.GetDoubleAt(0, 0) < lim {
				flat++
			}
			cell.Close()
		}
	}
	return float64(flat) / float64(cols*rows)
}

// colourCast is the equivalent-circle cast factor in CIE Lab: D, the distance of the
// mean (a, b) from neutral, over M, the spread of (a, b). A cast tints everything
// one way: D large and M small.
func colourCast(bgr gocv.Mat) (k, d float64) {
	lab := gocv.NewMat()
	defer lab.Close()
	gocv.CvtColor(bgr, &lab, gocv.ColorBGRToLab)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lab, &mean, &std)
	da, db := mean.GetDoubleAt(1, 0)-128, mean.GetDoubleAt(2, 0)-128
	sa, sb := std.GetDoubleAt(1, 0), std.GetDoubleAt(2, 0)
	d = math.Hypot(da, db)
	return d / math.Max(math.Hypot(sa, sb), 1), d
}

// edgeMap is an 80-wide gradient-magnitude picture: the scene's structure, robust to
// lighting changes and to the people and cars passing through.
func edgeMap(gray gocv.Mat) gocv.Mat {
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(gray, &small, image.Pt(80, max(gray.Rows()*80/max(gray.Cols(), 1), 1)), 0, 0, gocv.InterpolationArea)
	gx, gy := gocv.NewMat(), gocv.NewMat()
	defer gx.Close()
	defer gy.Close()
	gocv.Sobel(small, &gx, gocv.MatTypeCV32F, 1, 0, 3, 1, 0, gocv.BorderDefault)
	gocv.Sobel(small, &gy, gocv.MatTypeCV32F, 0, 1, 3, 1, 0, gocv.BorderDefault)
	mag := gocv.NewMat()
	gocv.Magnitude(gx, gy, &mag)
	return mag
}

// correlation is the Pearson correlation of two same-size float pictures (0 when
// either is flat or the sizes differ).
func correlation(a, b gocv.Mat) float64 {
	if a.Rows() != b.Rows() || a.Cols() != b.Cols() {
		return 0
	}
	res, mask := gocv.NewMat(), gocv.NewMat()
	defer res.Close()
	defer mask.Close()
	gocv.MatchTemplate(a, b, &res, gocv.TmCcoeffNormed, mask)
	v := float64(res.GetFloatAt(0, 0))
	if math.IsNaN(v) {
		return 0
	}
	return v
}
