package decode

import (
	"fmt"
	"slices"
)

// SuppressedConfig reads detections a graph already suppressed (NMS inside the
// export: YOLOv8/v10 end-to-end, TensorRT EfficientNMS, Paddle's multiclass_nms3),
// in one of two shapes:
//
//   - Rows: one output of rows, [B, N, K] per image or [M, K] for the whole batch,
//     whose columns Columns names (x1 y1 x2 y2 / cx cy w h, score, class, batch; "-"
//     skips one). A [M, K] output splits by its batch column or by Count (Paddle's
//     bbox_num, one count per image, rows in image order).
//   - Boxes [B, N, 4], Scores [B, N] and Classes [B, N] outputs; Count ([B] or
//     [B, 1]), when given, says how many of the N are real.
//
// Rows padded with a negative class or a zero score are dropped by ScoreThreshold.
type SuppressedConfig struct {
	Rows    string   `json:"rows,omitempty"`
	Columns []string `json:"columns,omitempty"`
	Boxes   string   `json:"boxes,omitempty"`
	Scores  string   `json:"scores,omitempty"`
	Classes string   `json:"classes,omitempty"`
	Count   string   `json:"count,omitempty"`
	// BoxFormat of the boxes output (xyxy default, yxyx, cxcywh, xywh).
	BoxFormat      string  `json:"box_format,omitempty"`
	Coordinates    string  `json:"coordinates,omitempty"` // input (default), normalized, source
	ScoreThreshold float32 `json:"score_threshold"`
}

var rowColumns = []string{"x1", "y1", "x2", "y2", "cx", "cy", "w", "h", "score", "class", "batch", "-"}

// Check validates the configuration before any output is seen.
func (c SuppressedConfig) Check() error {
	if (c.Rows == "") == (c.Boxes == "") {
		return fmt.Errorf("suppressed: give rows (with columns) or boxes, scores and classes")
	}
	if c.Rows != "" {
		for _, col := range c.Columns {
			if !slices.Contains(rowColumns, col) {
				return fmt.Errorf("suppressed: column %q is not one of %v", col, rowColumns)
			}
		}
		corners := slices.Contains(c.Columns, "x1") && slices.Contains(c.Columns, "y1") && slices.Contains(c.Columns, "x2") && slices.Contains(c.Columns, "y2")
		centre := slices.Contains(c.Columns, "cx") && slices.Contains(c.Columns, "cy") && slices.Contains(c.Columns, "w") && slices.Contains(c.Columns, "h")
		if !corners && !centre || !slices.Contains(c.Columns, "score") {
			return fmt.Errorf("suppressed: columns need a box (x1 y1 x2 y2 or cx cy w h) and a score")
		}
	} else if c.Scores == "" {
		return fmt.Errorf("suppressed: boxes need scores (and classes, unless there is one label)")
	}
	return checkSpace(c.Coordinates)
}

// DecodeSuppressed decodes batch index b of an inW×inH input.
func DecodeSuppressed(c SuppressedConfig, outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if c.Rows != "" {
		return c.rows(outs, b, inW, inH, labels)
	}
	bo, err := need(outs, "suppressed", c.Boxes)
	if err != nil {
		return nil, err
	}
	so, err := need(outs, "suppressed", c.Scores)
	if err != nil {
		return nil, err
	}
	boxes, bs, err := perImage(bo, 3, b)
	if err != nil {
		return nil, err
	}
	scores, _, err := perImage(so, 2, b)
	if err != nil {
		return nil, err
	}
	var classes []float32
	if c.Classes != "" {
		co, err := need(outs, "suppressed", c.Classes)
		if err != nil {
			return nil, err
		}
		if classes, _, err = perImage(co, 2, b); err != nil {
			return nil, err
		}
	}
	n := int(bs[0])
	if bs[1] != 4 || len(scores) != n || classes != nil && len(classes) != n {
		return nil, fmt.Errorf("suppressed: boxes %v, scores %v and classes do not hold 4 values and one score per detection", bo.Shape, so.Shape)
	}
	if c.Count != "" {
		co, err := need(outs, "suppressed", c.Count)
		if err != nil {
			return nil, err
		}
		if b >= len(co.Data) {
			return nil, fmt.Errorf("suppressed: count %q %v has no image %d", c.Count, co.Shape, b)
		}
		n = min(n, max(0, int(co.Data[b]))) // [B] or [B, 1]: one count per image
	}
	var dets []Detection
	for i := 0; i < n; i++ {
		cls := 0
		if classes != nil {
			cls = int(classes[i])
		}
		if scores[i] < c.ScoreThreshold || cls < 0 || scores[i] <= 0 {
			continue
		}
		box, err := toBox([4]float32(boxes[4*i:4*i+4]), c.BoxFormat, c.Coordinates, inW, inH)
		if err != nil {
			return nil, err
		}
		dets = append(dets, Detection{Box: box, Score: scores[i], Class: cls, Label: label(labels, cls)})
	}
	return best(dets, 0), nil
}

// rows decodes the rows form.
func (c SuppressedConfig) rows(outs []Output, b, inW, inH int, labels []string) ([]Detection, error) {
	o, err := need(outs, "suppressed", c.Rows)
	if err != nil {
		return nil, err
	}
	k := len(c.Columns)
	if len(o.Shape) < 2 || int(o.Shape[len(o.Shape)-1]) != k {
		return nil, fmt.Errorf("suppressed: rows %q %v are not %d columns wide (%v)", c.Rows, o.Shape, k, c.Columns)
	}
	col := func(name string) int { return slices.Index(c.Columns, name) }
	var rows []float32
	switch {
	case len(o.Shape) == 3:
		if rows, _, err = perImage(o, 3, b); err != nil {
			return nil, err
		}
	case col("batch") >= 0:
		for r := 0; r+k <= len(o.Data); r += k {
			if int(o.Data[r+col("batch")]) == b {
				rows = append(rows, o.Data[r:r+k]...)
			}
		}
	case c.Count != "":
		co, err := need(outs, "suppressed", c.Count)
		if err != nil {
			return nil, err
		}
		first := 0
		for i := 0; i < b && i < len(co.Data); i++ {
			first += int(co.Data[i])
		}
		if b >= len(co.Data) || (first+int(co.Data[b]))*k > len(o.Data) {
			return nil, fmt.Errorf("suppressed: count %q %v does not cover image %d of rows %v", c.Count, co.Data, b, o.Shape)
		}
		rows = o.Data[first*k : (first+int(co.Data[b]))*k]
	case b == 0:
		rows = o.Data
	default:
		return nil, fmt.Errorf("suppressed: rows %q %v hold the whole batch; add a batch column or a count output", c.Rows, o.Shape)
	}
	format, ids := FormatXYXY, [4]int{col("x1"), col("y1"), col("x2"), col("y2")}
	if ids[0] < 0 {
		format, ids = FormatCXCYWH, [4]int{col("cx"), col("cy"), col("w"), col("h")}
	}
	var dets []Detection
	for r := 0; r+k <= len(rows); r += k {
		row := rows[r : r+k]
		score, cls := row[col("score")], 0
		if i := col("class"); i >= 0 {
			cls = int(row[i])
		}
		if score < c.ScoreThreshold || score <= 0 || cls < 0 {
			continue
		}
		box, err := toBox([4]float32{row[ids[0]], row[ids[1]], row[ids[2]], row[ids[3]]}, format, c.Coordinates, inW, inH)
		if err != nil {
			return nil, err
		}
		dets = append(dets, Detection{Box: box, Score: score, Class: cls, Label: label(labels, cls)})
	}
	return best(dets, 0), nil
}
