package watermark

import (
	"image"
	"image/color"
	"math"
	"strings"

	"gocv.io/x/gocv"
)

const (
	font = gocv.FontHersheySimplex
	// minFontScale is the smallest caption scale (about 7 px capitals): smaller
	// Hershey text is not legible. On narrow crops the caption is clipped at the
	// right edge rather than shrunk further.
	minFontScale = 0.3
	// captionAlpha is how much the caption band darkens the picture under it.
	captionAlpha = 0.6
	// maxBandShare is the largest share of the picture height the caption band
	// may cover; lines that do not fit are dropped from the caption (not from the
	// pattern), but the first line is always kept. On pictures too narrow for a
	// line at minFontScale, lines are first wrapped at spaces.
	maxBandShare = 0.4
	// patternAlpha is the opacity of the repeated pattern: visible everywhere,
	// and the picture stays readable beneath it.
	patternAlpha = 0.3
)

var (
	white = color.RGBA{255, 255, 255, 0}
	black = color.RGBA{0, 0, 0, 0}
)

// asciiLines keeps the non-empty lines, with characters the Hershey fonts cannot
// draw replaced by '?'.
func asciiLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		l = strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e {
				return '?'
			}
			return r
		}, strings.TrimSpace(l))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// drawVisible draws the visible mark on the 8-bit BGR picture in place: the
// caption band at the bottom, then the repeated pattern above it. It returns the
// band's top row (the height if nothing was drawn).
func drawVisible(img *gocv.Mat, lines []string) int {
	lines = asciiLines(lines)
	w, h := img.Cols(), img.Rows()
	if len(lines) == 0 || w < 4 || h < 4 {
		return h
	}
	top := drawCaption(img, lines)
	drawPattern(img, strings.Join(lines, "   "), top)
	return top
}

// outlined draws white text with a black outline, readable on any background.
func outlined(img *gocv.Mat, text string, org image.Point, scale float64, thick int) {
	gocv.PutTextWithParams(img, text, org, font, scale, black, thick+2, gocv.LineAA, false)
	gocv.PutTextWithParams(img, text, org, font, scale, white, thick, gocv.LineAA, false)
}

func thickness(scale float64) int {
	return max(1, int(math.Round(scale*1.5)))
}

// drawCaption darkens a band at the bottom and writes the lines in it, as large as
// the width allows up to about 1/28 of the height. It returns the band's top row.
func drawCaption(img *gocv.Mat, lines []string) int {
	w, h := img.Cols(), img.Rows()
	unit := gocv.GetTextSize("Ag", font, 1, 1).Y
	widest := 0
	for _, l := range lines {
		widest = max(widest, gocv.GetTextSize(l, font, 1, 1).X)
	}
	pad := max(2, h/100)
	scale := min(float64(max(7, h/28))/float64(unit), float64(w-2*pad)/float64(widest+2))
	scale = max(scale, minFontScale)
	thick := thickness(scale)
	if float64(widest)*scale > float64(w-2*pad) {
		lines = wrap(lines, w-2*pad, scale, thick)
	}
	size, base := gocv.GetTextSizeWithBaseline("Ag", font, scale, thick)
	lineH := size.Y + base + max(1, size.Y/4)
	n := max(1, min(len(lines), (int(maxBandShare*float64(h))-pad)/lineH))
	bandH := min(h, n*lineH+pad)
	top := h - bandH

	band := img.Region(image.Rect(0, top, w, h))
	dark := gocv.NewMatWithSize(band.Rows(), band.Cols(), band.Type())
	dark.SetTo(gocv.NewScalar(0, 0, 0, 0))
	gocv.AddWeighted(dark, captionAlpha, band, 1-captionAlpha, 0, &band)
	dark.Close()
	band.Close()

	for i, l := range lines[:n] {
		outlined(img, l, image.Pt(pad, top+pad/2+i*lineH+size.Y+1), scale, thick)
	}
	return top
}

// wrap breaks lines at spaces so that each fits width where possible; a single
// word wider than width stays whole (and is clipped when drawn).
func wrap(lines []string, width int, scale float64, thick int) []string {
	var out []string
	for _, l := range lines {
		cur := ""
		for _, word := range strings.Fields(l) {
			next := strings.TrimSpace(cur + " " + word)
			if cur != "" && gocv.GetTextSize(next, font, scale, thick).X > width {
				out = append(out, cur)
				next = word
			}
			cur = next
		}
		out = append(out, cur)
	}
	return out
}

// drawPattern repeats text semi-transparently over the rows above bottom, in rows
// that shift by 2/5 of a tile each so the pattern runs diagonally. Pictures too
// small for legible repeats (the caption is enough there) get none.
func drawPattern(img *gocv.Mat, text string, bottom int) {
	w := img.Cols()
	unit := gocv.GetTextSize("Ag", font, 1, 1).Y
	scale := float64(min(w, bottom)) / 24 / float64(unit)
	scale = min(scale, 1.2)
	if scale < minFontScale+0.05 || bottom < 3*int(float64(unit)*scale) {
		return
	}
	thick := thickness(scale)
	size := gocv.GetTextSize(text, font, scale, thick)
	textH := size.Y
	tileW := size.X + 3*textH
	rowStep := textH * 4

	area := img.Region(image.Rect(0, 0, w, bottom))
	defer area.Close()
	overlay := area.Clone()
	defer overlay.Close()
	for row, y := 0, textH+textH/2; y < bottom+textH; row, y = row+1, y+rowStep {
		for x := -(row * tileW * 2 / 5 % tileW); x < w; x += tileW {
			outlined(&overlay, text, image.Pt(x, y), scale, thick)
		}
	}
	gocv.AddWeighted(overlay, patternAlpha, area, 1-patternAlpha, 0, &area)
}
