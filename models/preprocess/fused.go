package preprocess

// #cgo CFLAGS: -O3
// #cgo LDFLAGS: -lm
// #include "fused.h"
import "C"

import (
	"math"
	"unsafe"
)

// tap mirrors ce_tap (OpenCV's DecimateAlpha).
type tap struct {
	di, si int32
	alpha  float32
}

// areaTabs are OpenCV's INTER_AREA tables for one source → content size, kept between
// frames (a camera's frames all have the same size).
type areaTabs struct {
	sw, sh, rw, rh int
	x, y           []tap
	xstart         []int32 // taps of output pixel dx: x[xstart[dx]:xstart[dx+1]]
}

// areaTab is OpenCV's computeResizeAreaTab, in the same double arithmetic.
func areaTab(ssize, dsize, cn int, scale float64, tab []tap) []tap {
	tab = tab[:0]
	for dx := 0; dx < dsize; dx++ {
		fsx1 := float64(dx) * scale
		fsx2 := fsx1 + scale
		cellWidth := min(scale, float64(ssize)-fsx1)
		sx1, sx2 := int(math.Ceil(fsx1)), int(math.Floor(fsx2))
		sx2 = min(sx2, ssize-1)
		sx1 = min(sx1, sx2)
		if float64(sx1)-fsx1 > 1e-3 {
			tab = append(tab, tap{int32(dx * cn), int32((sx1 - 1) * cn), float32((float64(sx1) - fsx1) / cellWidth)})
		}
		for sx := sx1; sx < sx2; sx++ {
			tab = append(tab, tap{int32(dx * cn), int32(sx * cn), float32(1.0 / cellWidth)})
		}
		if fsx2-float64(sx2) > 1e-3 {
			tab = append(tab, tap{int32(dx * cn), int32(sx2 * cn), float32(min(min(fsx2-float64(sx2), 1), cellWidth) / cellWidth)})
		}
	}
	return tab
}

// areaScales are the scale factors OpenCV's resize derives from the sizes.
func areaScales(sw, sh, rw, rh int) (float64, float64) {
	return 1 / (float64(rw) / float64(sw)), 1 / (float64(rh) / float64(sh))
}

// integerArea reports whether OpenCV takes its integer-factor INTER_AREA path (SIMD, fast)
// for this resize; the generic path is the one ce_area reproduces.
func integerArea(sw, sh, rw, rh int) bool {
	sx, sy := areaScales(sw, sh, rw, rh)
	return math.Abs(sx-math.RoundToEven(sx)) < 0x1p-52 && math.Abs(sy-math.RoundToEven(sy)) < 0x1p-52
}

func (t *areaTabs) update(sw, sh, rw, rh int) {
	if t.sw == sw && t.sh == sh && t.rw == rw && t.rh == rh {
		return
	}
	sx, sy := areaScales(sw, sh, rw, rh)
	t.x = areaTab(sw, rw, 3, sx, t.x)
	t.y = areaTab(sh, rh, 1, sy, t.y)
	t.xstart = t.xstart[:0]
	for k, tp := range t.x {
		for int(tp.di)/3 >= len(t.xstart) {
			t.xstart = append(t.xstart, int32(k))
		}
	}
	for len(t.xstart) <= rw {
		t.xstart = append(t.xstart, int32(len(t.x)))
	}
	t.sw, t.sh, t.rw, t.rh = sw, sh, rw, rh
}

// layout says where the rw×rh content goes in an outW×outH tensor and how values are made.
type layout struct {
	c C.ce_dst
}

func newLayout(s Spec, outW, outH, px, py int, mul, add [3]float32) layout {
	var l layout
	l.c.out_w, l.c.out_h = C.int(outW), C.int(outH)
	l.c.px, l.c.py = C.int(px), C.int(py)
	if s.Layout == "nchw" {
		l.c.nchw = 1
	}
	src := [3]int{0, 1, 2} // images are BGR
	if s.Color == "rgb" {
		src = [3]int{2, 1, 0}
	}
	for c := 0; c < 3; c++ {
		l.c.src_ch[c] = C.int(src[c])
		l.c.mul[c], l.c.add[c] = C.float(mul[c]), C.float(add[c])
	}
	return l
}

func (l *layout) pad(out []float32, rw, rh int, pad [3]float32) {
	if int(l.c.px) == 0 && int(l.c.py) == 0 && rw == int(l.c.out_w) && rh == int(l.c.out_h) {
		return
	}
	C.ce_pad((*C.float)(&out[0]), &l.c, C.int(rw), C.int(rh), (*C.float)(&pad[0]))
}

// norm converts an already resized continuous BGR image; rows holds ≥ 3*rw floats.
func (l *layout) norm(out []float32, pix []byte, step, rw, rh int, rows []float32) {
	C.ce_norm((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.size_t(step), C.int(rw), C.int(rh),
		(*C.float)(&rows[0]), (*C.float)(&out[0]), &l.c)
}

// areaFloats is the scratch ce_area needs.
func areaFloats(sw, rw int) int { return 2*(3*rw+1) + 3*sw + 1 }

// area resamples and converts in one pass; rows holds ≥ areaFloats floats.
func (l *layout) area(out []float32, pix []byte, step int, t *areaTabs, rows []float32) {
	C.ce_area((*C.uint8_t)(unsafe.Pointer(&pix[0])), C.size_t(step), C.int(t.sw), C.int(t.rw),
		(*C.ce_tap)(unsafe.Pointer(&t.x[0])), (*C.int)(unsafe.Pointer(&t.xstart[0])),
		(*C.ce_tap)(unsafe.Pointer(&t.y[0])), C.int(len(t.y)),
		(*C.float)(&rows[0]), (*C.float)(&out[0]), &l.c)
}
