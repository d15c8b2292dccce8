package vendorgraphs

import (
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/onnxpb"
)

// Strides of the SCRFD head; FaceCell is the stride-16 cell holding the face.
var (
	Strides  = []int{8, 16, 32}
	FaceCell = [2]int{2, 1} // x, y on the 4×4 stride-16 grid
)

// SCRFD is an InsightFace SCRFD-style export without a batch dimension: per stride
// score_S [n,1], bbox_S [n,4] and kps_S [n,10] with 2 anchors per cell; one face, on
// anchor 0 of FaceCell at stride 16, scores the frame's brightness, its box one stride
// each way and its five keypoints at the centre.
func SCRFD() Style {
	g := newG("scrfd")
	g.AddInput("input.1", onnxpb.TensorProto_FLOAT, []int64{1, 3, size, size})
	score := g.unsq(g.brightness("input.1"), 1) // [1,1]
	var levels []decode.ScrfdLevel
	for _, s := range Strides {
		grid := size / s
		n := grid * grid * 2
		mask := make([]float32, n)
		if s == 16 {
			mask[2*(FaceCell[1]*grid+FaceCell[0])] = 1
		}
		ones := make([]float32, 4*n)
		for i := range ones {
			ones[i] = 1
		}
		zero := g.op("Mul", []string{score, g.f([]int64{1}, 0)})
		sc, bb, kp := "score_"+itoa(s), "bbox_"+itoa(s), "kps_"+itoa(s)
		g.out(sc, g.op("Mul", []string{score, g.f([]int64{int64(n), 1}, mask...)}), onnxpb.TensorProto_FLOAT)
		g.out(bb, g.op("Add", []string{zero, g.f([]int64{int64(n), 4}, ones...)}), onnxpb.TensorProto_FLOAT)
		g.out(kp, g.op("Add", []string{zero, g.f([]int64{int64(n), 10}, make([]float32, 10*n)...)}), onnxpb.TensorProto_FLOAT)
		levels = append(levels, decode.ScrfdLevel{Stride: s, Scores: sc, Boxes: bb, Keypoints: kp})
	}
	m := manifest("scrfd-face", models.TaskFaceDetection, "scrfd", decode.ScrfdConfig{Levels: levels, ScoreThreshold: 0.1, IoUThreshold: 0.4}, "face")
	m.MaxBatch = 1
	m.Input.Mean, m.Input.Std = [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
	return Style{"SCRFD anchor-free face head with keypoints, strides 8/16/32", m, g.bytes()}
}

func itoa(i int) string {
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// Hat labels of the crop classifier.
const (
	Hat   = "head_hat"
	NoHat = "head_no_hat"
)

// HatClassifier is a crop classifier (16×16 crops): a bright crop (a white chef's
// hat) is head_hat, a dark one (hair) head_no_hat; logits ±20·(brightness − 0.5).
func HatClassifier() Style {
	g := newG("hat")
	g.AddInput("x", onnxpb.TensorProto_FLOAT, []int64{-1, 3, 16, 16})
	d := g.unsq(g.op("Sub", []string{g.brightness("x"), g.f([]int64{1}, 0.5)}), 1) // [B,1]
	g.out("logits", g.op("Mul", []string{d, g.f([]int64{1, 2}, 20, -20)}), onnxpb.TensorProto_FLOAT)
	m := manifest("hat-classifier", models.TaskClassification, "classification", models.ClassifyConfig{Output: "logits", Softmax: true, TopK: 1}, Hat, NoHat)
	m.Input.Width, m.Input.Height = 16, 16
	m.MaxBatch = 8
	return Style{"crop classifier (hat on head crops)", m, g.bytes()}
}

// Attributes is a multi-head attribute model (16×16 crops): [B,5] whose first three
// values are a softmax "tone" head (dark, mid, light by brightness) and the last two
// a multi-label sigmoid "flags" head (bright: on when brightness > 0.5; always: on).
func Attributes() Style {
	g := newG("attrs")
	g.AddInput("x", onnxpb.TensorProto_FLOAT, []int64{-1, 3, 16, 16})
	b := g.unsq(g.brightness("x"), 1) // [B,1]
	// tone logits: -(b-c)²·50 for centres 0.2, 0.5, 0.8; flags: 20(b-0.5), +10
	diff := g.op("Sub", []string{b, g.f([]int64{1, 3}, 0.2, 0.5, 0.8)})
	tone := g.op("Mul", []string{g.op("Mul", []string{diff, diff}), g.f([]int64{1}, -50)})
	flags := g.op("Add", []string{g.op("Mul", []string{b, g.f([]int64{1, 2}, 20, 0)}), g.f([]int64{1, 2}, -10, 10)})
	g.out("attrs", g.op("Concat", []string{tone, flags}, onnxpb.AttrInt("axis", 1)), onnxpb.TensorProto_FLOAT)
	m := manifest("tone-attributes", models.TaskAttributes, "attributes", decode.AttributesConfig{Groups: []decode.AttributeGroup{
		{Name: "tone", Output: "attrs", Labels: []string{"dark", "mid", "light"}, Activation: "softmax"},
		{Name: "flags", Output: "attrs", Offset: 3, Labels: []string{"bright", "always"}, Activation: "sigmoid"},
	}})
	m.Input.Width, m.Input.Height = 16, 16
	m.MaxBatch = 8
	return Style{"multi-head attributes (softmax + multi-label groups)", m, g.bytes()}
}
