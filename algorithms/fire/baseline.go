package fire

import (
	"image"
	"math/bits"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// BaselineRule names the baseline's rules in its alerts' details.
const BaselineRule = "baseline: flame colour (Chen, Wu & Chiou 2004; Çelik & Demirel 2009) with flicker (after Töreyin et al. 2006)"

// The baseline's constants. It runs at workWidth pixels wide (the frame is
// downscaled by area averaging), so its cost does not grow with the camera's
// resolution.
const (
	workWidth = 320

	// Chen, Wu & Chiou, "An early fire-detection method based on image processing",
	// ICIP 2004: a flame pixel has R > R_T, R ≥ G > B and saturation
	// S ≥ (255 − R)·S_T/R_T. The paper gives R_T in 115–135 and S_T in 55–65; we take
	// the middle of both, with S the HSI saturation 1 − 3·min(R,G,B)/(R+G+B) scaled
	// to 0–255.
	chenRT = 125
	chenST = 60

	// Çelik & Demirel, "Fire detection in video sequences using a generic color
	// model", Fire Safety Journal 44(2), 2009, rules in YCbCr (ITU-R BT.601): Y > Cb,
	// Cr > Cb; Y ≥ mean Y, Cb ≤ mean Cb, Cr ≥ mean Cr of the frame; |Cb − Cr| ≥ τ with
	// τ = 40 (the paper's operating point). Their fifth rule (a Cb–Cr polygon) is
	// not used.
	celikTau = 40

	// Flicker, after Töreyin, Dedeoğlu, Güdükbay & Çetin, "Computer vision based
	// method for real-time fire and flame detection", Pattern Recognition Letters
	// 27(1), 2006, who find flame boundaries flicker (≈10 Hz, by temporal wavelet
	// analysis). Simplified for sampled frames: a pixel flickers when it switched
	// between flame and non-flame colour at least flickerSwitches times in the last
	// 8 sampled frames, counting only switches where its luminance changed by at
	// least flickerDeltaY grey levels (so sensor and compression noise at a colour
	// threshold does not count, and someone walking past — two switches — does not
	// either). A flame-coloured blob is fire when at least flickerRatio of its
	// flame-coloured area flickers.
	flickerSwitches = 3
	flickerDeltaY   = 20
	flickerRatio    = 0.15
	historyFrames   = 8
	// blobs smaller than this (work pixels) are noise
	minBlobArea = 12
)

// baseline detects flames without a model. Not safe for concurrent use.
type baseline struct {
	minSide float32 // frame pixels, the shorter box side
	sw, sh  int     // work size
	frames  int     // frames seen at this size

	state    []uint8 // flame-colour state of the last 8 frames, one bit per frame
	switches []uint8 // strong switches (state changed, |ΔY| ≥ flickerDeltaY) of the last 8 frames
	prevY    []uint8
	ys       []uint8
	cbs      []uint8
	crs      []uint8

	small, mask, grown, labels, stats, centroids, kernel gocv.Mat
}

func newBaseline(minSide float32) *baseline {
	return &baseline{minSide: minSide,
		small: gocv.NewMat(), mask: gocv.NewMat(), grown: gocv.NewMat(), labels: gocv.NewMat(),
		stats: gocv.NewMat(), centroids: gocv.NewMat(),
		kernel: gocv.GetStructuringElement(gocv.MorphRect, image.Pt(3, 3)),
	}
}

func (b *baseline) close() {
	for _, m := range []*gocv.Mat{&b.small, &b.mask, &b.grown, &b.labels, &b.stats, &b.centroids, &b.kernel} {
		m.Close()
	}
}

// detect returns the flickering flame-coloured blobs of img as "fire" detections in
// img's pixels, with each box's flicker ratio (also its Score, capped at 1).
func (b *baseline) detect(img gocv.Mat) ([]decode.Detection, map[decode.Box]float64) {
	if img.Empty() || img.Channels() != 3 {
		return nil, nil
	}
	w, h := img.Cols(), img.Rows()
	sw := min(workWidth, w)
	sh := max(1, (h*sw+w/2)/w)
	gocv.Resize(img, &b.small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
	if sw != b.sw || sh != b.sh { // first frame or a new resolution: start afresh
		b.sw, b.sh, b.frames = sw, sh, 0
		n := sw * sh
		b.state, b.switches, b.prevY = make([]uint8, n), make([]uint8, n), make([]uint8, n)
		b.ys, b.cbs, b.crs = make([]uint8, n), make([]uint8, n), make([]uint8, n)
		b.mask.Close()
		b.mask = gocv.NewMatWithSize(sh, sw, gocv.MatTypeCV8U)
	}
	pix, err := b.small.DataPtrUint8()
	if err != nil {
		return nil, nil
	}
	mask, err := b.mask.DataPtrUint8()
	if err != nil {
		return nil, nil
	}
	n := sw * sh
	// YCbCr (BT.601, as OpenCV's COLOR_BGR2YCrCb) and the frame means
	var sumY, sumCb, sumCr int
	for i := 0; i < n; i++ {
		bl, g, r := int(pix[3*i]), int(pix[3*i+1]), int(pix[3*i+2])
		y := (299*r + 587*g + 114*bl + 500) / 1000
		cr := clamp8((r-y)*713/1000 + 128)
		cb := clamp8((bl-y)*564/1000 + 128)
		b.ys[i], b.cbs[i], b.crs[i] = uint8(y), uint8(cb), uint8(cr)
		sumY, sumCb, sumCr = sumY+y, sumCb+cb, sumCr+cr
	}
	meanY, meanCb, meanCr := sumY/n, sumCb/n, sumCr/n
	first := b.frames == 0
	b.frames++
	for i := 0; i < n; i++ {
		bl, g, r := int(pix[3*i]), int(pix[3*i+1]), int(pix[3*i+2])
		y, cb, cr := int(b.ys[i]), int(b.cbs[i]), int(b.crs[i])
		flame := chen(r, g, bl) && y > cb && cr > cb && y >= meanY && cb <= meanCb && cr >= meanCr && abs(cb-cr) >= celikTau
		var bit uint8
		mask[i] = 0
		if flame {
			bit, mask[i] = 1, 255
		}
		var sw uint8
		if !first && bit != b.state[i]&1 && abs(y-int(b.prevY[i])) >= flickerDeltaY {
			sw = 1
		}
		b.state[i] = b.state[i]<<1 | bit
		b.switches[i] = b.switches[i]<<1 | sw
		b.prevY[i] = uint8(y)
	}
	if b.frames < historyFrames { // not enough history to judge flicker
		return nil, nil
	}
	// join a flame's fragments, then its blobs
	gocv.Dilate(b.mask, &b.grown, b.kernel)
	nl := gocv.ConnectedComponentsWithStats(b.grown, &b.labels, &b.stats, &b.centroids)
	scale := float32(w) / float32(sw)
	scaleY := float32(h) / float32(sh)
	var dets []decode.Detection
	var ratios map[decode.Box]float64
	for l := 1; l < nl; l++ {
		x0, y0 := int(b.stats.GetIntAt(l, int(gocv.CC_STAT_LEFT))), int(b.stats.GetIntAt(l, int(gocv.CC_STAT_TOP)))
		bw, bh := int(b.stats.GetIntAt(l, int(gocv.CC_STAT_WIDTH))), int(b.stats.GetIntAt(l, int(gocv.CC_STAT_HEIGHT)))
		if int(b.stats.GetIntAt(l, int(gocv.CC_STAT_AREA))) < minBlobArea || float32(bw)*scale < b.minSide || float32(bh)*scaleY < b.minSide {
			continue
		}
		// flame-coloured pixels now, and flickering pixels (on or off now: a flame's
		// edge moves), in the blob's box grown by a pixel
		var flame, flick int
		for y := max(0, y0-1); y < min(sh, y0+bh+1); y++ {
			for x := max(0, x0-1); x < min(sw, x0+bw+1); x++ {
				i := y*sw + x
				if mask[i] != 0 {
					flame++
				}
				if bits.OnesCount8(b.switches[i]) >= flickerSwitches {
					flick++
				}
			}
		}
		if flame == 0 {
			continue
		}
		ratio := float64(flick) / float64(flame)
		if ratio < flickerRatio {
			continue
		}
		box := decode.Box{X1: float32(x0) * scale, Y1: float32(y0) * scaleY, X2: float32(x0+bw) * scale, Y2: float32(y0+bh) * scaleY}
		dets = append(dets, decode.Detection{Box: box, Score: float32(min(1, ratio)), Label: LabelFire})
		if ratios == nil {
			ratios = map[decode.Box]float64{}
		}
		ratios[box] = ratio
	}
	return dets, ratios
}

// chen is Chen, Wu & Chiou's (2004) flame-pixel rule.
func chen(r, g, b int) bool {
	if r <= chenRT || r < g || g <= b {
		return false
	}
	// S = 1 − 3·min/(R+G+B), min = B here; compare S·255 ≥ (255−R)·S_T/R_T without division
	sum := r + g + b
	return 255*(sum-3*b)*chenRT >= (255-r)*chenST*sum
}

func clamp8(v int) int { return min(255, max(0, v)) }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
