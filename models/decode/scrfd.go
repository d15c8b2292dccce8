package decode

import "fmt"

// ScrfdLevel is one stride of an anchor-free face head.
type ScrfdLevel struct {
	Stride    int    `json:"stride"`
	Scores    string `json:"scores"`              // [B, cells·anchors, 1] (or without B)
	Boxes     string `json:"boxes"`               // [B, cells·anchors, 4]: left, top, right, bottom distances in strides
	Keypoints string `json:"keypoints,omitempty"` // [B, cells·anchors, 2K]: offsets in strides
}

// ScrfdConfig declares an SCRFD/RetinaFace-style anchor-free head (InsightFace's
// SCRFD export): per stride (8, 16, 32) a grid of ceil(inH/stride)×ceil(inW/stride)
// cells in row-major order, Anchors predictions per cell centred at (x·stride,
// y·stride); a box is its centre minus/plus the distances × stride, a keypoint the
// centre plus its offset × stride. Scores are probabilities unless ScoresAreLogits.
type ScrfdConfig struct {
	Levels          []ScrfdLevel `json:"levels"`
	Anchors         int          `json:"anchors,omitempty"` // per cell, default 2
	ScoresAreLogits bool         `json:"scores_are_logits,omitempty"`
	ScoreThreshold  float32      `json:"score_threshold"`
	IoUThreshold    float32      `json:"iou_threshold"`
	MaxDetections   int          `json:"max_detections,omitempty"`
}

// DecodeScrfd decodes batch index b of an inW×inH input.
func DecodeScrfd(c ScrfdConfig, outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	if len(c.Levels) == 0 {
		return nil, fmt.Errorf("scrfd: levels are required (stride with scores, boxes and keypoints outputs)")
	}
	anchors := c.Anchors
	if anchors <= 0 {
		anchors = 2
	}
	var dets []Detection
	for li, lv := range c.Levels {
		if lv.Stride <= 0 {
			return nil, fmt.Errorf("scrfd level %d: stride must be positive", li)
		}
		gw, gh := (inW+lv.Stride-1)/lv.Stride, (inH+lv.Stride-1)/lv.Stride
		n := gw * gh * anchors
		read := func(name string, width int) ([]float32, error) {
			o, err := need(outs, "scrfd", name)
			if err != nil {
				return nil, err
			}
			data, shape, err := perImage(o, 3, b)
			if err != nil {
				return nil, err
			}
			if int(shape[0]) != n || int(shape[1]) != width {
				return nil, fmt.Errorf("scrfd level %d: output %q %v, want [%d, %d] for stride %d on %dx%d with %d anchors",
					li, name, o.Shape, n, width, lv.Stride, inW, inH, anchors)
			}
			return data, nil
		}
		scores, err := read(lv.Scores, 1)
		if err != nil {
			return nil, err
		}
		boxes, err := read(lv.Boxes, 4)
		if err != nil {
			return nil, err
		}
		var kps []float32
		nk := 0
		if lv.Keypoints != "" {
			o, err := need(outs, "scrfd", lv.Keypoints)
			if err != nil {
				return nil, err
			}
			nk = int(o.Shape[len(o.Shape)-1]) / 2
			if kps, err = read(lv.Keypoints, 2*nk); err != nil {
				return nil, err
			}
		}
		st := float32(lv.Stride)
		for i := 0; i < n; i++ {
			s := scores[i]
			if c.ScoresAreLogits {
				s = sigmoid(s)
			}
			if s < c.ScoreThreshold {
				continue
			}
			cell := i / anchors
			cx, cy := float32(cell%gw)*st, float32(cell/gw)*st
			d := boxes[4*i : 4*i+4]
			det := Detection{Box: Box{cx - d[0]*st, cy - d[1]*st, cx + d[2]*st, cy + d[3]*st}, Score: s, Label: label(labels, 0)}
			for k := 0; k < nk; k++ {
				det.Keypoints = append(det.Keypoints, [2]float32{cx + kps[i*2*nk+2*k]*st, cy + kps[i*2*nk+2*k+1]*st})
			}
			dets = append(dets, det)
		}
	}
	return best(NMS(dets, c.IoUThreshold, false), c.MaxDetections), nil
}
