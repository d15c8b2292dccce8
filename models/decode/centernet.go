package decode

import (
	"fmt"
	"sort"
)

// CenterNetConfig decodes a CenterNet-style detector (objects as points): a class
// heatmap [N, H, W, C] (NHWC, scores after the sigmoid) and per-cell box sides
// [N, H, W, 4] (left, top, right, bottom distances from the cell, in input pixels),
// the cell being Stride input pixels wide. A detection is a heatmap peak (the
// largest score of its class in the 3×3 cells around it, as CenterNet's max-pool
// NMS) scoring at least ScoreThreshold; the MaxDetections best are kept and then
// suppressed by IoU, as Human's centernet.ts does with the graph's own output.
type CenterNetConfig struct {
	Heatmap        string  `json:"heatmap"`
	Sizes          string  `json:"sizes"`
	Stride         int     `json:"stride"`
	ScoreThreshold float32 `json:"score_threshold"`
	IoUThreshold   float32 `json:"iou_threshold"`
	ClassAgnostic  bool    `json:"class_agnostic"`
	MaxDetections  int     `json:"max_detections,omitempty"` // 0: 100
}

// DecodeCenterNet decodes batch index b of a CenterNet detector whose input is
// inW×inH pixels; boxes are in input pixels, clipped to the input.
func DecodeCenterNet(cfg CenterNetConfig, outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	hm, ok := byName(outs, cfg.Heatmap)
	if !ok {
		return nil, fmt.Errorf("centernet: no heatmap output %q", cfg.Heatmap)
	}
	wh, ok := byName(outs, cfg.Sizes)
	if !ok {
		return nil, fmt.Errorf("centernet: no sizes output %q", cfg.Sizes)
	}
	if len(hm.Shape) != 4 || len(wh.Shape) != 4 || wh.Shape[3] != 4 || hm.Shape[1] != wh.Shape[1] || hm.Shape[2] != wh.Shape[2] {
		return nil, fmt.Errorf("centernet: heatmap %v and sizes %v are not [N,H,W,C] and [N,H,W,4]", hm.Shape, wh.Shape)
	}
	if b < 0 || b >= int(hm.Shape[0]) {
		return nil, fmt.Errorf("centernet: batch index %d out of range %v", b, hm.Shape)
	}
	h, w, nc := int(hm.Shape[1]), int(hm.Shape[2]), int(hm.Shape[3])
	stride := float32(cfg.Stride)
	if stride <= 0 {
		stride = float32(inW) / float32(w)
	}
	heat := hm.Data[b*h*w*nc : (b+1)*h*w*nc]
	sides := wh.Data[b*h*w*4 : (b+1)*h*w*4]
	var dets []Detection
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			cell := (y*w + x) * nc
			for c := 0; c < nc; c++ {
				s := heat[cell+c]
				if s < cfg.ScoreThreshold || !peak(heat, h, w, nc, y, x, c, s) {
					continue
				}
				d := sides[(y*w+x)*4 : (y*w+x)*4+4]
				cx, cy := float32(x)*stride, float32(y)*stride
				box := Box{X1: clamp(cx-d[0], 0, float32(inW)), Y1: clamp(cy-d[1], 0, float32(inH)),
					X2: clamp(cx+d[2], 0, float32(inW)), Y2: clamp(cy+d[3], 0, float32(inH))}
				dets = append(dets, Detection{Box: box, Score: s, Class: c, Label: label(labels, c)})
			}
		}
	}
	limit := cfg.MaxDetections
	if limit <= 0 {
		limit = 100
	}
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Score > dets[j].Score })
	if len(dets) > limit {
		dets = dets[:limit]
	}
	return NMS(dets, cfg.IoUThreshold, !cfg.ClassAgnostic), nil
}

// peak reports whether s, class c's score at (y, x), is the largest of that class
// in the 3×3 cells around it (ties count as peaks, as max-pool equality does).
func peak(heat []float32, h, w, nc, y, x, c int, s float32) bool {
	for yy := max(y-1, 0); yy <= min(y+1, h-1); yy++ {
		for xx := max(x-1, 0); xx <= min(x+1, w-1); xx++ {
			if heat[(yy*w+xx)*nc+c] > s {
				return false
			}
		}
	}
	return true
}
