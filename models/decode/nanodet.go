package decode

import (
	"fmt"
	"math"
	"sort"
)

// NanoDetLevel is one feature level of a NanoDet (GFL head) detector.
type NanoDetLevel struct {
	Scores string `json:"scores"` // output [B, cells, classes]: per-class scores
	Boxes  string `json:"boxes"`  // output [B, cells, 4*(reg_max+1)]: distance distributions
	// Stride in input pixels per cell; 0 derives it from the cell count and input size.
	Stride int `json:"stride,omitempty"`
}

// NanoDetConfig declares a NanoDet decoder. Each level's cells form a
// ceil(inH/stride)×ceil(inW/stride) grid in row-major order; cell (x, y) has its
// centre at ((x+CenterOffset)·stride, (y+CenterOffset)·stride). A box side's
// distance is the expectation of a softmax over reg_max+1 bins times the stride
// (Generalized Focal Loss), sides ordered left, top, right, bottom. reg_max is read
// from the box output's width.
type NanoDetConfig struct {
	// Levels pairs score and box outputs. Empty: outputs are paired automatically by
	// cell count, the one NumClasses wide holding scores.
	Levels []NanoDetLevel `json:"levels,omitempty"`
	// NumClasses is needed only to pair outputs automatically; default len(labels).
	NumClasses int `json:"num_classes,omitempty"`
	// CenterOffset is 0.5 for original NanoDet (the default when unset) and 0 for
	// NanoDet-Plus.
	CenterOffset *float32 `json:"center_offset,omitempty"`
	// ScoresAreLogits applies a sigmoid to the scores (models exported without one).
	ScoresAreLogits bool    `json:"scores_are_logits,omitempty"`
	ScoreThreshold  float32 `json:"score_threshold"`
	IoUThreshold    float32 `json:"iou_threshold"`
	ClassAgnostic   bool    `json:"class_agnostic"`
	MaxDetections   int     `json:"max_detections,omitempty"` // 0: 100
}

// NanoDetLevelInfo is a resolved level: outputs, stride, grid and reg_max.
type NanoDetLevelInfo struct {
	Scores, Boxes string
	Stride        int
	GridW, GridH  int
	RegMax        int
	Classes       int
}

// ResolveNanoDet pairs and checks the outputs and derives each level's stride and
// reg_max for an inW×inH input.
func ResolveNanoDet(cfg NanoDetConfig, outs []Output, inW, inH int, labels []string) ([]NanoDetLevelInfo, error) {
	levels := cfg.Levels
	if len(levels) == 0 {
		nc := cfg.NumClasses
		if nc == 0 {
			nc = len(labels)
		}
		if nc == 0 {
			return nil, fmt.Errorf("nanodet: set levels, num_classes or labels to pair the outputs")
		}
		var err error
		if levels, err = pairNanoDet(outs, nc); err != nil {
			return nil, err
		}
	}
	infos := make([]NanoDetLevelInfo, 0, len(levels))
	for li, lv := range levels {
		so, ok := byName(outs, lv.Scores)
		if !ok {
			return nil, fmt.Errorf("nanodet level %d: no output %q", li, lv.Scores)
		}
		bo, ok := byName(outs, lv.Boxes)
		if !ok {
			return nil, fmt.Errorf("nanodet level %d: no output %q", li, lv.Boxes)
		}
		if len(so.Shape) != 3 || len(bo.Shape) != 3 || so.Shape[0] != bo.Shape[0] || so.Shape[1] != bo.Shape[1] {
			return nil, fmt.Errorf("nanodet level %d: outputs %q %v and %q %v are not [B, cells, C] with equal B and cells",
				li, lv.Scores, so.Shape, lv.Boxes, bo.Shape)
		}
		cells, width := int(bo.Shape[1]), int(bo.Shape[2])
		if width < 8 || width%4 != 0 {
			return nil, fmt.Errorf("nanodet level %d: box output %q is %d wide, want 4*(reg_max+1)", li, lv.Boxes, width)
		}
		stride := lv.Stride
		if stride == 0 {
			stride = strideFor(cells, inW, inH)
			if stride == 0 {
				return nil, fmt.Errorf("nanodet level %d: %d cells match no stride for a %dx%d input", li, cells, inW, inH)
			}
		}
		gw, gh := (inW+stride-1)/stride, (inH+stride-1)/stride
		if gw*gh != cells {
			return nil, fmt.Errorf("nanodet level %d: stride %d gives a %dx%d grid, output has %d cells", li, stride, gw, gh, cells)
		}
		infos = append(infos, NanoDetLevelInfo{Scores: lv.Scores, Boxes: lv.Boxes, Stride: stride, GridW: gw, GridH: gh,
			RegMax: width/4 - 1, Classes: int(so.Shape[2])})
	}
	return infos, nil
}

// pairNanoDet matches score and box outputs of equal cell count, finest level first.
func pairNanoDet(outs []Output, numClasses int) ([]NanoDetLevel, error) {
	type pair struct{ scores, boxes string }
	byCells := map[int64]*pair{}
	for _, o := range outs {
		if len(o.Shape) != 3 {
			continue
		}
		p := byCells[o.Shape[1]]
		if p == nil {
			p = &pair{}
			byCells[o.Shape[1]] = p
		}
		switch {
		case o.Shape[2] == int64(numClasses) && p.scores == "":
			p.scores = o.Name
		case o.Shape[2]%4 == 0 && p.boxes == "":
			p.boxes = o.Name
		default:
			return nil, fmt.Errorf("nanodet: cannot tell what output %q %v holds", o.Name, o.Shape)
		}
	}
	cells := make([]int64, 0, len(byCells))
	for c, p := range byCells {
		if p.scores == "" || p.boxes == "" {
			return nil, fmt.Errorf("nanodet: the outputs with %d cells are not a %d-class score/box pair", c, numClasses)
		}
		cells = append(cells, c)
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("nanodet: no [B, cells, C] outputs")
	}
	sort.Slice(cells, func(i, j int) bool { return cells[i] > cells[j] })
	levels := make([]NanoDetLevel, len(cells))
	for i, c := range cells {
		levels[i] = NanoDetLevel{Scores: byCells[c].scores, Boxes: byCells[c].boxes}
	}
	return levels, nil
}

// strideFor finds the stride whose ceil-divided grid over the input has cells cells.
func strideFor(cells, inW, inH int) int {
	for s := 1; s <= max(inW, inH); s++ {
		if ((inW+s-1)/s)*((inH+s-1)/s) == cells {
			return s
		}
	}
	return 0
}

// DecodeNanoDet decodes batch index b of a NanoDet detector whose input is inW×inH
// pixels. Every (cell, class) scoring at least ScoreThreshold is a candidate, as in
// NanoDet's multiclass NMS; boxes are clipped to the input.
func DecodeNanoDet(cfg NanoDetConfig, outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	levels, err := ResolveNanoDet(cfg, outs, inW, inH, labels)
	if err != nil {
		return nil, err
	}
	off := float32(0.5)
	if cfg.CenterOffset != nil {
		off = *cfg.CenterOffset
	}
	var dets []Detection
	for _, lv := range levels {
		so, _ := byName(outs, lv.Scores)
		bo, _ := byName(outs, lv.Boxes)
		if b < 0 || b >= int(so.Shape[0]) {
			return nil, fmt.Errorf("nanodet: batch index %d out of range %v", b, so.Shape)
		}
		cells, nc, bw := lv.GridW*lv.GridH, lv.Classes, 4*(lv.RegMax+1)
		scores := so.Data[b*cells*nc : (b+1)*cells*nc]
		boxes := bo.Data[b*cells*bw : (b+1)*cells*bw]
		stride := float32(lv.Stride)
		for i := 0; i < cells; i++ {
			row := scores[i*nc : (i+1)*nc]
			var dist [4]float32
			decoded := false
			for c, s := range row {
				if cfg.ScoresAreLogits {
					s = sigmoid(s)
				}
				if s < cfg.ScoreThreshold {
					continue
				}
				if !decoded {
					for k := 0; k < 4; k++ {
						dist[k] = expectedBin(boxes[i*bw+k*(lv.RegMax+1):i*bw+(k+1)*(lv.RegMax+1)]) * stride
					}
					decoded = true
				}
				cx := (float32(i%lv.GridW) + off) * stride
				cy := (float32(i/lv.GridW) + off) * stride
				box := Box{
					X1: clamp(cx-dist[0], 0, float32(inW)), Y1: clamp(cy-dist[1], 0, float32(inH)),
					X2: clamp(cx+dist[2], 0, float32(inW)), Y2: clamp(cy+dist[3], 0, float32(inH)),
				}
				dets = append(dets, Detection{Box: box, Score: s, Class: c, Label: label(labels, c)})
			}
		}
	}
	dets = NMS(dets, cfg.IoUThreshold, !cfg.ClassAgnostic)
	limit := cfg.MaxDetections
	if limit <= 0 {
		limit = 100
	}
	if len(dets) > limit {
		dets = dets[:limit]
	}
	return dets, nil
}

// expectedBin is Σ i·softmax(logits)_i.
func expectedBin(logits []float32) float32 {
	m := logits[0]
	for _, v := range logits[1:] {
		m = max(m, v)
	}
	var sum, acc float64
	for i, v := range logits {
		e := math.Exp(float64(v - m))
		sum += e
		acc += float64(i) * e
	}
	return float32(acc / sum)
}

func clamp(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
