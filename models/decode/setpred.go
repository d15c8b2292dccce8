package decode

import "fmt"

// SetConfig reads set-prediction outputs (DETR, RT-DETR): a fixed number of queries,
// each a box and class scores, with no NMS. Either Output holds [B, Q, 4+C] (box
// first, as Ultralytics exports RT-DETR) or Boxes [B, Q, 4] and Logits [B, Q, C].
// Activation is "sigmoid" (RT-DETR: each class independent), "softmax" (DETR: the
// last class is "no object" and is never reported) or "none" (already scores).
type SetConfig struct {
	Output         string  `json:"output,omitempty"`
	Boxes          string  `json:"boxes,omitempty"`
	Logits         string  `json:"logits,omitempty"`
	Activation     string  `json:"activation,omitempty"`
	BoxFormat      string  `json:"box_format,omitempty"`  // default cxcywh
	Coordinates    string  `json:"coordinates,omitempty"` // default normalized
	ScoreThreshold float32 `json:"score_threshold"`
	MaxDetections  int     `json:"max_detections,omitempty"` // 0: all above the threshold
}

// DecodeSet decodes batch index b of an inW×inH input.
func DecodeSet(c SetConfig, outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	if c.BoxFormat == "" {
		c.BoxFormat = FormatCXCYWH
	}
	if c.Coordinates == "" {
		c.Coordinates = SpaceNormalized
	}
	if err := checkSpace(c.Coordinates); err != nil {
		return nil, err
	}
	var boxes, logits []float32
	var q, nc, bstride, lstride, loff int
	switch {
	case c.Output != "":
		o, err := need(outs, "set", c.Output)
		if err != nil {
			return nil, err
		}
		data, shape, err := perImage(o, 3, b)
		if err != nil {
			return nil, err
		}
		q, nc = int(shape[0]), int(shape[1])-4
		boxes, logits, bstride, lstride, loff = data, data, int(shape[1]), int(shape[1]), 4
	case c.Boxes != "" && c.Logits != "":
		bo, err := need(outs, "set", c.Boxes)
		if err != nil {
			return nil, err
		}
		lo, err := need(outs, "set", c.Logits)
		if err != nil {
			return nil, err
		}
		var bs, ls []int64
		if boxes, bs, err = perImage(bo, 3, b); err != nil {
			return nil, err
		}
		if logits, ls, err = perImage(lo, 3, b); err != nil {
			return nil, err
		}
		if bs[0] != ls[0] || bs[1] != 4 {
			return nil, fmt.Errorf("set: boxes %v and logits %v are not [Q, 4] and [Q, C]", bo.Shape, lo.Shape)
		}
		q, nc, bstride, lstride = int(bs[0]), int(ls[1]), 4, int(ls[1])
	default:
		return nil, fmt.Errorf("set: give output, or boxes and logits")
	}
	reported := nc
	switch c.Activation {
	case "softmax":
		reported = nc - 1 // the no-object class
	case "", "sigmoid", "none":
	default:
		return nil, fmt.Errorf("set: activation %q: sigmoid, softmax or none", c.Activation)
	}
	if reported < 1 {
		return nil, fmt.Errorf("set: %d class scores leave no class to report", nc)
	}
	var dets []Detection
	for i := 0; i < q; i++ {
		scores := logits[i*lstride+loff : i*lstride+loff+nc]
		if c.Activation == "softmax" {
			scores = Softmax(scores)
		}
		cls, s := 0, float32(-1)
		for k := 0; k < reported; k++ {
			if scores[k] > s {
				cls, s = k, scores[k]
			}
		}
		if c.Activation == "" || c.Activation == "sigmoid" {
			s = sigmoid(s)
		}
		if s < c.ScoreThreshold {
			continue
		}
		box, err := toBox([4]float32(boxes[i*bstride:i*bstride+4]), c.BoxFormat, c.Coordinates, inW, inH)
		if err != nil {
			return nil, err
		}
		dets = append(dets, Detection{Box: box, Score: s, Class: cls, Label: label(labels, cls)})
	}
	return best(dets, c.MaxDetections), nil
}
