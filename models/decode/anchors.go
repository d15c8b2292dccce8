package decode

import (
	"fmt"
	"math"
)

// SSDLevel is one feature-map level of an anchor-based single-shot detector.
type SSDLevel struct {
	Stride  int    `json:"stride"`  // input pixels per cell
	Anchors int    `json:"anchors"` // anchors per cell
	Scores  string `json:"scores"`  // output holding [1, cells*anchors, classes] logits or scores
	Boxes   string `json:"boxes"`   // output holding [1, cells*anchors, 4+2*keypoints]
	// AnchorSizes (input pixels, one per anchor) are used by the "ssd" encoding only.
	AnchorSizes [][2]float32 `json:"anchor_sizes,omitempty"`
}

// SSDConfig declares an anchor-based decoder.
//
// Encoding "mediapipe" (BlazeFace): anchors have fixed unit size, regressions are
// pixel offsets from the anchor centre and pixel sizes, keypoints likewise.
// Encoding "ssd": centre offsets are scaled by anchor size and variance[0], sizes are
// anchor*exp(v*variance[1]).
type SSDConfig struct {
	Encoding       string     `json:"encoding"` // "mediapipe" or "ssd"
	Levels         []SSDLevel `json:"levels"`
	Keypoints      int        `json:"keypoints"`
	Sigmoid        bool       `json:"sigmoid"` // scores are logits
	ScoreThreshold float32    `json:"score_threshold"`
	IoUThreshold   float32    `json:"iou_threshold"`
	WeightedNMS    bool       `json:"weighted_nms"`
	Variances      [2]float32 `json:"variances,omitempty"`
	ScoreClip      float32    `json:"score_clip,omitempty"` // clamp logits to ±clip before sigmoid (MediaPipe uses 100)
}

// DecodeSSD decodes one image (batch index b) of an anchor-based detector whose input
// is inW×inH pixels.
func DecodeSSD(cfg SSDConfig, outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	var dets []Detection
	for li, lv := range cfg.Levels {
		so, ok := byName(outs, lv.Scores)
		if !ok {
			return nil, fmt.Errorf("ssd level %d: no output %q", li, lv.Scores)
		}
		bo, ok := byName(outs, lv.Boxes)
		if !ok {
			return nil, fmt.Errorf("ssd level %d: no output %q", li, lv.Boxes)
		}
		gw, gh := (inW+lv.Stride-1)/lv.Stride, (inH+lv.Stride-1)/lv.Stride
		n := gw * gh * lv.Anchors
		per := 4 + 2*cfg.Keypoints
		if len(so.Shape) < 2 || len(bo.Shape) < 2 {
			return nil, fmt.Errorf("ssd level %d: unexpected output ranks %v %v", li, so.Shape, bo.Shape)
		}
		classes := len(so.Data) / int(so.Shape[0]) / n
		if classes < 1 || len(bo.Data)/int(bo.Shape[0]) != n*per {
			return nil, fmt.Errorf("ssd level %d: %dx%d grid × %d anchors = %d, outputs %v and %v do not match",
				li, gw, gh, lv.Anchors, n, so.Shape, bo.Shape)
		}
		scores := so.Data[b*n*classes : (b+1)*n*classes]
		boxes := bo.Data[b*n*per : (b+1)*n*per]
		for i := 0; i < n; i++ {
			cls, best := 0, float32(math.Inf(-1))
			for c := 0; c < classes; c++ {
				if v := scores[i*classes+c]; v > best {
					best, cls = v, c
				}
			}
			score := best
			if cfg.Sigmoid {
				if cfg.ScoreClip > 0 {
					score = min(max(score, -cfg.ScoreClip), cfg.ScoreClip)
				}
				score = sigmoid(score)
			}
			if score < cfg.ScoreThreshold {
				continue
			}
			cell, a := i/lv.Anchors, i%lv.Anchors
			ax := (float32(cell%gw) + 0.5) * float32(lv.Stride)
			ay := (float32(cell/gw) + 0.5) * float32(lv.Stride)
			r := boxes[i*per : (i+1)*per]
			var cx, cy, w, h float32
			switch cfg.Encoding {
			case "mediapipe", "":
				cx, cy, w, h = ax+r[0], ay+r[1], r[2], r[3]
			case "ssd":
				if a >= len(lv.AnchorSizes) {
					return nil, fmt.Errorf("ssd level %d: %d anchors but %d anchor_sizes", li, lv.Anchors, len(lv.AnchorSizes))
				}
				aw, ah := lv.AnchorSizes[a][0], lv.AnchorSizes[a][1]
				cx = ax + r[0]*cfg.Variances[0]*aw
				cy = ay + r[1]*cfg.Variances[0]*ah
				w = aw * float32(math.Exp(float64(r[2]*cfg.Variances[1])))
				h = ah * float32(math.Exp(float64(r[3]*cfg.Variances[1])))
			default:
				return nil, fmt.Errorf("unknown ssd encoding %q (want mediapipe or ssd)", cfg.Encoding)
			}
			d := Detection{Box: Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}, Score: score, Class: cls, Label: label(labels, cls)}
			for k := 0; k < cfg.Keypoints; k++ {
				d.Keypoints = append(d.Keypoints, [2]float32{ax + r[4+2*k], ay + r[5+2*k]})
			}
			dets = append(dets, d)
		}
	}
	if cfg.WeightedNMS {
		return WeightedNMS(dets, cfg.IoUThreshold), nil
	}
	return NMS(dets, cfg.IoUThreshold, true), nil
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func label(labels []string, i int) string {
	if i >= 0 && i < len(labels) {
		return labels[i]
	}
	return ""
}
