package decode

import "fmt"

// DBNetConfig declares a DBNet text-detection decoder (PP-OCR det). The model outputs a
// per-pixel text probability map [B, 1, H, W] at input resolution.
type DBNetConfig struct {
	Output        string  `json:"output"`
	Threshold     float32 `json:"threshold"`     // pixel probability that counts as text (PP-OCR: 0.3)
	BoxThreshold  float32 `json:"box_threshold"` // mean probability a region needs (PP-OCR: 0.6)
	UnclipRatio   float32 `json:"unclip_ratio"`  // region growth, as PP-OCR's Vatti unclip (1.5)
	MinSize       int     `json:"min_size"`      // smaller regions are dropped (3)
	MaxCandidates int     `json:"max_candidates"`
}

// TextBox is a detected text region, axis-aligned, in input pixels.
type TextBox struct {
	Box   Box
	Score float32
}

// DecodeDBNet finds text regions as connected components of the thresholded map,
// scores each by its mean probability and grows it by area*ratio/perimeter, the
// distance PP-OCR's unclip uses. Regions are axis-aligned: rotated text gets its
// bounding rectangle.
func DecodeDBNet(cfg DBNetConfig, outs []Output, b int) ([]TextBox, error) {
	o, ok := byName(outs, cfg.Output)
	if !ok {
		return nil, fmt.Errorf("dbnet: no output %q", cfg.Output)
	}
	if len(o.Shape) != 4 || o.Shape[1] != 1 {
		return nil, fmt.Errorf("dbnet: output %q has shape %v, want [B,1,H,W]", cfg.Output, o.Shape)
	}
	h, w := int(o.Shape[2]), int(o.Shape[3])
	prob := o.Data[b*h*w : (b+1)*h*w]
	label := make([]int32, h*w)
	var boxes []TextBox
	stack := make([]int, 0, 1024)
	next := int32(0)
	for start := range prob {
		if prob[start] <= cfg.Threshold || label[start] != 0 {
			continue
		}
		next++
		x1, y1, x2, y2 := w, h, -1, -1
		var sum float64
		count := 0
		stack = append(stack[:0], start)
		label[start] = next
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			px, py := p%w, p/w
			x1, y1, x2, y2 = min(x1, px), min(y1, py), max(x2, px), max(y2, py)
			sum += float64(prob[p])
			count++
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := px+dx, py+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if label[q] == 0 && prob[q] > cfg.Threshold {
						label[q] = next
						stack = append(stack, q)
					}
				}
			}
		}
		bw, bh := float32(x2-x1+1), float32(y2-y1+1)
		if min(bw, bh) < float32(cfg.MinSize) {
			continue
		}
		score := float32(sum / float64(count))
		if score < cfg.BoxThreshold {
			continue
		}
		d := bw * bh * cfg.UnclipRatio / (2 * (bw + bh))
		bx := Box{float32(x1) - d, float32(y1) - d, float32(x2+1) + d, float32(y2+1) + d}
		bx.X1, bx.Y1 = max(bx.X1, 0), max(bx.Y1, 0)
		bx.X2, bx.Y2 = min(bx.X2, float32(w)), min(bx.Y2, float32(h))
		boxes = append(boxes, TextBox{Box: bx, Score: score})
		if cfg.MaxCandidates > 0 && len(boxes) >= cfg.MaxCandidates {
			break
		}
	}
	return boxes, nil
}
