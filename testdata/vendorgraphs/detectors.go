package vendorgraphs

import (
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/onnxpb"
)

// Label is what the synthetic detectors report: a new alert kind's label.
const Label = "garbage_overflow"

// Paddle is a PaddleDetection export: inputs image, scale_factor and im_shape; the
// graph places its box by im_shape and divides by scale_factor (so boxes come out
// in source pixels), and gives multiclass_nms3's [M, 6] rows (class, score, x1, y1,
// x2, y2) with bbox_num, one count per image.
func Paddle() Style {
	g := newG("paddle")
	g.AddInput("image", onnxpb.TensorProto_FLOAT, []int64{-1, 3, size, size})
	g.AddInput("im_shape", onnxpb.TensorProto_FLOAT, []int64{-1, 2})
	g.AddInput("scale_factor", onnxpb.TensorProto_FLOAT, []int64{-1, 2})
	score := g.unsq(g.brightness("image"), 1) // [B,1]
	flip := g.i64(1, 0)
	wh := g.op("Gather", []string{"im_shape", flip}, onnxpb.AttrInt("axis", 1))      // (w, h)
	sxy := g.op("Gather", []string{"scale_factor", flip}, onnxpb.AttrInt("axis", 1)) // (sx, sy)
	box := g.op("Mul", []string{g.op("Concat", []string{wh, wh}, onnxpb.AttrInt("axis", 1)), g.f([]int64{1, 4}, Box[:]...)})
	box = g.op("Div", []string{box, g.op("Concat", []string{sxy, sxy}, onnxpb.AttrInt("axis", 1))})
	zero := g.op("Mul", []string{score, g.f([]int64{1}, 0)})
	g.out("multiclass_nms3_0.tmp_0", g.op("Concat", []string{zero, score, box}, onnxpb.AttrInt("axis", 1)), onnxpb.TensorProto_FLOAT)
	num := g.op("Reshape", []string{g.op("Add", []string{zero, g.f([]int64{1}, 1)}), g.i64(-1)})
	g.out("multiclass_nms3_0.tmp_2", g.cast(num, onnxpb.TensorProto_INT32), onnxpb.TensorProto_INT32)
	m := manifest("paddle-garbage", models.TaskDetection, "suppressed", decode.SuppressedConfig{
		Rows: "multiclass_nms3_0.tmp_0", Columns: []string{"class", "score", "x1", "y1", "x2", "y2"},
		Count: "multiclass_nms3_0.tmp_2", Coordinates: decode.SpaceSource, ScoreThreshold: 0.1}, Label)
	m.Feeds = []models.Input{{Name: "image", Kind: models.InputImage}, {Name: "im_shape", Kind: models.InputImShape},
		{Name: "scale_factor", Kind: models.InputScaleFactor}}
	m.Input.Mean, m.Input.Std = [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
	return Style{"paddle two-input (image, scale_factor, im_shape), [M,6] rows + count", m, g.bytes()}
}

// EndToEndUint8 is a YOLOv10-style end-to-end export taking a uint8 image: [B, N, 6]
// rows (x1, y1, x2, y2, score, class) in input pixels, the second row padding.
func EndToEndUint8() Style {
	g := newG("e2e-uint8")
	g.AddInput("images", onnxpb.TensorProto_UINT8, []int64{-1, 3, size, size})
	img := g.op("Div", []string{g.cast("images", onnxpb.TensorProto_FLOAT), g.f([]int64{1}, 255)})
	score := g.unsq(g.brightness(img), 1, 2) // [B,1,1]
	zero := g.op("Mul", []string{score, g.f([]int64{1}, 0)})
	b := [4]float32{size * Box[0], size * Box[1], size * Box[2], size * Box[3]}
	rows := g.op("Add", []string{zero, g.f([]int64{1, 2, 6}, b[0], b[1], b[2], b[3], 0, 0, 0, 0, 1, 1, 0, 0)})
	rows = g.op("Add", []string{rows, g.op("Mul", []string{score, g.f([]int64{1, 2, 6}, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0)})})
	g.out("output0", rows, onnxpb.TensorProto_FLOAT)
	m := manifest("e2e-garbage", models.TaskDetection, "suppressed", decode.SuppressedConfig{
		Rows: "output0", Columns: []string{"x1", "y1", "x2", "y2", "score", "class"}, ScoreThreshold: 0.1}, Label)
	m.Input = spec(1) // raw pixels: the uint8 tensor is the image itself
	m.Feeds = []models.Input{{Name: "images", Kind: models.InputImage, Type: "uint8"}}
	return Style{"end-to-end NMS rows [B,N,6], uint8 input", m, g.bytes()}
}

// EfficientNMSFloat16 is a TensorRT EfficientNMS-style export taking a float16 image:
// num_dets [B,1] int64, det_boxes [B,N,4] normalised, det_scores [B,N] and
// det_classes [B,N] int64.
func EfficientNMSFloat16() Style {
	g := newG("effnms-fp16")
	g.AddInput("input", onnxpb.TensorProto_FLOAT16, []int64{-1, 3, size, size})
	score := g.unsq(g.brightness(g.cast("input", onnxpb.TensorProto_FLOAT)), 1) // [B,1]
	zero := g.op("Mul", []string{score, g.f([]int64{1}, 0)})
	g.out("num_dets", g.cast(g.op("Add", []string{zero, g.f([]int64{1}, 1)}), onnxpb.TensorProto_INT64), onnxpb.TensorProto_INT64)
	g.out("det_boxes", g.op("Add", []string{g.unsq(zero, 2), g.f([]int64{1, 2, 4}, Box[0], Box[1], Box[2], Box[3], 0, 0, 0.1, 0.1)}), onnxpb.TensorProto_FLOAT)
	g.out("det_scores", g.op("Mul", []string{score, g.f([]int64{1, 2}, 1, 1)}), onnxpb.TensorProto_FLOAT) // the 2nd is beyond num_dets
	g.out("det_classes", g.cast(g.op("Add", []string{zero, g.f([]int64{1, 2}, 0, 0)}), onnxpb.TensorProto_INT64), onnxpb.TensorProto_INT64)
	m := manifest("effnms-garbage", models.TaskDetection, "suppressed", decode.SuppressedConfig{
		Boxes: "det_boxes", Scores: "det_scores", Classes: "det_classes", Count: "num_dets",
		Coordinates: decode.SpaceNormalized, ScoreThreshold: 0.1}, Label)
	m.Feeds = []models.Input{{Name: "input", Kind: models.InputImage, Type: "float16"}}
	return Style{"EfficientNMS tensors + num_dets, float16 input", m, g.bytes()}
}

// SetPrediction is a DETR-style export: boxes [B,Q,4] normalised cx, cy, w, h and
// logits [B,Q,C+1] whose last class is "no object" (softmax), no NMS. Query 0 is
// the object (its logit grows with brightness), query 1 is "no object".
func SetPrediction() Style {
	g := newG("detr")
	g.AddInput("pixel_values", onnxpb.TensorProto_FLOAT, []int64{-1, 3, size, size})
	score := g.unsq(g.brightness("pixel_values"), 1, 2) // [B,1,1]
	zero := g.op("Mul", []string{score, g.f([]int64{1}, 0)})
	cx, cy, w, h := (Box[0]+Box[2])/2, (Box[1]+Box[3])/2, Box[2]-Box[0], Box[3]-Box[1]
	g.out("pred_boxes", g.op("Add", []string{zero, g.f([]int64{1, 2, 4}, cx, cy, w, h, 0.5, 0.5, 0.2, 0.2)}), onnxpb.TensorProto_FLOAT)
	logits := g.op("Add", []string{g.op("Mul", []string{score, g.f([]int64{1, 2, 2}, 8, 0, 0, 0)}), g.f([]int64{1, 2, 2}, 0, 0, 0, 5)})
	g.out("logits", logits, onnxpb.TensorProto_FLOAT)
	return Style{"set prediction (DETR: boxes + logits with no-object class)", manifest("detr-garbage", models.TaskDetection, "set",
		decode.SetConfig{Boxes: "pred_boxes", Logits: "logits", Activation: "softmax", ScoreThreshold: 0.5}, Label), g.bytes()}
}
