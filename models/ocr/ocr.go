// Package ocr chains the PP-OCR models — text detection, direction classification and
// recognition — into one reader, the way PaddleOCR's predict_system does. Vehicle
// capture uses it to read plates; any model set with the same tasks can be plugged in.
package ocr

import (
	"fmt"
	"image"
	"sort"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
)

// Line is one recognised text line in source-image pixels.
type Line struct {
	Box   decode.Box
	Text  string
	Score float32 // recognition confidence
}

// Reader is a loaded OCR pipeline. Cls may be nil (no direction correction).
type Reader struct {
	Det, Cls, Rec *models.Model
	MinScore      float32 // lines recognised below this confidence are dropped
}

// Open loads the starter OCR models from a repository.
func Open(repo models.Repository, opts engine.Options) (*Reader, error) {
	r := &Reader{MinScore: 0.5}
	var err error
	if r.Det, err = models.LoadFromRepository(repo, "ppocr-det", "", opts); err != nil {
		return nil, err
	}
	if r.Rec, err = models.LoadFromRepository(repo, "ppocr-rec", "", opts); err != nil {
		r.Close()
		return nil, err
	}
	if r.Cls, err = models.LoadFromRepository(repo, "ppocr-cls", "", opts); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Close releases all models.
func (r *Reader) Close() {
	for _, m := range []*models.Model{r.Det, r.Cls, r.Rec} {
		if m != nil {
			m.Close()
		}
	}
}

// Read finds and reads every text line in img, top to bottom, left to right.
func (r *Reader) Read(img gocv.Mat) ([]Line, error) {
	boxes, err := r.Det.DetectText([]gocv.Mat{img})
	if err != nil {
		return nil, err
	}
	return r.ReadRegions(img, boxBoxes(boxes[0]))
}

func boxBoxes(tb []decode.TextBox) []decode.Box {
	out := make([]decode.Box, len(tb))
	for i, t := range tb {
		out[i] = t.Box
	}
	return out
}

// ReadRegions recognises the text in the given regions of img (for example a plate
// box found by a detector), skipping text detection.
func (r *Reader) ReadRegions(img gocv.Mat, regions []decode.Box) ([]Line, error) {
	sort.SliceStable(regions, func(i, j int) bool {
		if d := regions[i].Y1 - regions[j].Y1; d > 10 || d < -10 {
			return d < 0
		}
		return regions[i].X1 < regions[j].X1
	})
	var crops []gocv.Mat
	var kept []decode.Box
	defer func() {
		for _, c := range crops {
			c.Close()
		}
	}()
	for _, b := range regions {
		rect := image.Rect(int(b.X1), int(b.Y1), int(b.X2+0.5), int(b.Y2+0.5)).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
		if rect.Dx() < 4 || rect.Dy() < 4 {
			continue
		}
		roi := img.Region(rect)
		crop := roi.Clone()
		roi.Close()
		if float32(rect.Dy()) >= 1.5*float32(rect.Dx()) { // vertical text: read it lying down
			rot := gocv.NewMat()
			gocv.Rotate(crop, &rot, gocv.Rotate90CounterClockwise)
			crop.Close()
			crop = rot
		}
		crops = append(crops, crop)
		kept = append(kept, b)
	}
	if len(crops) == 0 {
		return nil, nil
	}
	if r.Cls != nil {
		cls, err := r.Cls.Classify(crops)
		if err != nil {
			return nil, fmt.Errorf("direction: %w", err)
		}
		for i, c := range cls {
			if len(c) > 0 && c[0].Label == "180" && c[0].Score > 0.9 {
				gocv.Rotate(crops[i], &crops[i], gocv.Rotate180Clockwise)
			}
		}
	}
	texts, err := r.Rec.Recognize(crops)
	if err != nil {
		return nil, fmt.Errorf("recognition: %w", err)
	}
	var lines []Line
	for i, t := range texts {
		if t.Text == "" || t.Score < r.MinScore {
			continue
		}
		lines = append(lines, Line{Box: kept[i], Text: t.Text, Score: t.Score})
	}
	return lines, nil
}
