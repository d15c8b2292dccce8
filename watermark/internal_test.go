package watermark

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

func psnr(a, b []uint8) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	if s == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(s/float64(len(a))))
}

// TestInvisiblePSNR measures what the invisible mark alone costs: PSNR between the
// picture after the visible mark and after visible + invisible (before the final
// JPEG encoding, which is not the mark's doing).
func TestInvisiblePSNR(t *testing.T) {
	worst, sum, n := math.Inf(1), 0.0, 0
	for _, img := range testImages(t) {
		m, err := decode(img.jpeg)
		if err != nil {
			t.Fatal(err)
		}
		drawVisible(&m, lines)
		visible, _ := m.DataPtrUint8()
		visible = slices.Clone(visible)
		if err := embedMat(&m, 0xDEADBEEF, testKey); err != nil {
			t.Fatal(err)
		}
		marked, _ := m.DataPtrUint8()
		p := psnr(visible, marked)
		_, margin := decodeFrame(marked, m.Cols(), m.Rows(), testKey)
		t.Logf("%-36s PSNR %.2f dB, vote margin %.2f", img.name, p, margin)
		if p < 38 {
			t.Errorf("%s: invisible mark PSNR %.2f dB < 38", img.name, p)
		}
		// the embedding passes make up for clipping: without them the white
		// picture starts at 0.70
		if margin < 0.9 {
			t.Errorf("%s: vote margin %.2f as embedded, want ≥ 0.9", img.name, margin)
		}
		worst = min(worst, p)
		sum += p
		n++
		m.Close()
	}
	t.Logf("invisible mark PSNR: mean %.2f dB, worst %.2f dB over %d pictures", sum/float64(n), worst, n)
}

// TestVisibleMark checks the visible mark on the visible-only step: the caption
// band is changed and legible (bright strokes on a dark band, on bright and dark
// pictures alike) and the pattern covers the picture above the band.
func TestVisibleMark(t *testing.T) {
	for _, img := range testImages(t) {
		orig, err := decode(img.jpeg)
		if err != nil {
			t.Fatal(err)
		}
		m := orig.Clone()
		top := drawVisible(&m, lines)
		w, h := m.Cols(), m.Rows()
		if top >= h-1 {
			t.Fatalf("%s: no caption band drawn", img.name)
		}
		px, _ := m.DataPtrUint8()
		bandH := h - top
		if bandH < h/20 || bandH > h*2/5+1 {
			t.Errorf("%s: caption band %d of %d rows", img.name, bandH, h)
		}
		band := image.Rect(0, top, w, h)
		d := meanAbsDiff(orig, m, band)
		var ys []float64
		for y := top; y < h; y++ {
			for x := 0; x < w; x++ {
				ys = append(ys, luma(px[(y*w+x)*3:]))
			}
		}
		slices.Sort(ys)
		p10, p99 := ys[len(ys)/10], ys[len(ys)*99/100]
		// above the band: the pattern changes a good share of the pixels
		changed, total := 0, 0
		po, _ := orig.DataPtrUint8()
		for i := 0; i < top*w*3; i += 3 {
			if absDiff(po[i], px[i])+absDiff(po[i+1], px[i+1])+absDiff(po[i+2], px[i+2]) > 15 {
				changed++
			}
			total++
		}
		share := float64(changed) / float64(max(total, 1))
		t.Logf("%-36s band %d rows, mean |diff| %.1f, luma p10 %.0f p99 %.0f; pattern changed %.1f%% above",
			img.name, bandH, d, p10, p99, 100*share)
		if d < 20 && img.name != "dark" {
			t.Errorf("%s: caption band changed by only %.1f", img.name, d)
		}
		if p99 < 200 || p99-p10 < 90 {
			t.Errorf("%s: caption not legible: band luma p10 %.0f, p99 %.0f", img.name, p10, p99)
		}
		if share < 0.04 {
			t.Errorf("%s: pattern changed only %.1f%% of the pixels above the band", img.name, 100*share)
		}
		if dir := os.Getenv("WATERMARK_SAVE"); dir != "" { // for looking at the marks
			out, _ := Apply(img.jpeg, Mark{Lines: lines, Payload: 1}, testKey)
			_ = os.WriteFile(filepath.Join(dir, strings.TrimSuffix(img.name, ".jpg")+".jpg"), out, 0o644)
			savePNG(t, filepath.Join(dir, strings.TrimSuffix(img.name, ".jpg")+".png"), out)
		}
		m.Close()
		orig.Close()
	}
}

func absDiff(a, b uint8) int {
	return max(int(a)-int(b), int(b)-int(a))
}

func savePNG(t *testing.T, path string, jpeg []byte) {
	m, err := decode(jpeg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	gocv.IMWrite(path, m)
}
