package decode

import "fmt"

// YOLOConfig declares a YOLO-family decoder.
//
// Layout "v5": output [B, N, 5+C] rows of (cx, cy, w, h, objectness, class scores…).
// Layout "v8": output [B, 4+C, N] columns of (cx, cy, w, h, class scores…), no objectness.
// Coordinates are in input pixels.
type YOLOConfig struct {
	Layout         string  `json:"layout"`
	Output         string  `json:"output"`
	ScoreThreshold float32 `json:"score_threshold"`
	IoUThreshold   float32 `json:"iou_threshold"`
	ClassAgnostic  bool    `json:"class_agnostic"`
}

// DecodeYOLO decodes batch index b.
func DecodeYOLO(cfg YOLOConfig, outs []Output, b int, labels []string) ([]Detection, error) {
	o, ok := byName(outs, cfg.Output)
	if !ok {
		return nil, fmt.Errorf("yolo: no output %q", cfg.Output)
	}
	if len(o.Shape) != 3 {
		return nil, fmt.Errorf("yolo: output %q has shape %v, want rank 3", cfg.Output, o.Shape)
	}
	d1, d2 := int(o.Shape[1]), int(o.Shape[2])
	data := o.Data[b*d1*d2 : (b+1)*d1*d2]
	var n, classes int
	var at func(i, j int) float32 // value j of candidate i
	switch cfg.Layout {
	case "v5":
		n, classes = d1, d2-5
		at = func(i, j int) float32 { return data[i*d2+j] }
	case "v8":
		n, classes = d2, d1-4
		at = func(i, j int) float32 { return data[j*d2+i] }
	default:
		return nil, fmt.Errorf("yolo: unknown layout %q (want v5 or v8)", cfg.Layout)
	}
	if classes < 1 {
		return nil, fmt.Errorf("yolo: output %q shape %v leaves no class scores for layout %s", cfg.Output, o.Shape, cfg.Layout)
	}
	first := 4
	if cfg.Layout == "v5" {
		first = 5
	}
	var dets []Detection
	for i := 0; i < n; i++ {
		cls, best := 0, float32(-1)
		for c := 0; c < classes; c++ {
			if v := at(i, first+c); v > best {
				best, cls = v, c
			}
		}
		score := best
		if cfg.Layout == "v5" {
			score *= at(i, 4)
		}
		if score < cfg.ScoreThreshold {
			continue
		}
		cx, cy, w, h := at(i, 0), at(i, 1), at(i, 2), at(i, 3)
		dets = append(dets, Detection{Box: Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}, Score: score, Class: cls, Label: label(labels, cls)})
	}
	return NMS(dets, cfg.IoUThreshold, !cfg.ClassAgnostic), nil
}
