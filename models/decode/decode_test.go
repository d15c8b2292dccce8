package decode

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-4 }

func TestIoU(t *testing.T) {
	a := Box{0, 0, 10, 10}
	b := Box{5, 0, 15, 10}
	if got := IoU(a, b); !near(got, 50.0/150.0) {
		t.Fatalf("IoU = %v, want 1/3", got)
	}
	if got := IoU(a, Box{20, 20, 30, 30}); got != 0 {
		t.Fatalf("disjoint IoU = %v", got)
	}
}

func TestNMS(t *testing.T) {
	dets := []Detection{
		{Box: Box{0, 0, 10, 10}, Score: 0.9, Class: 0},
		{Box: Box{1, 1, 11, 11}, Score: 0.8, Class: 0}, // IoU 0.68 with first: suppressed
		{Box: Box{1, 1, 11, 11}, Score: 0.7, Class: 1}, // other class: kept when class-aware
		{Box: Box{50, 50, 60, 60}, Score: 0.6, Class: 0},
	}
	got := NMS(dets, 0.5, true)
	if len(got) != 3 || got[0].Score != 0.9 || got[1].Score != 0.7 || got[2].Score != 0.6 {
		t.Fatalf("class-aware NMS = %+v", got)
	}
	if got := NMS(dets, 0.5, false); len(got) != 2 {
		t.Fatalf("class-agnostic NMS kept %d, want 2", len(got))
	}
}

func TestWeightedNMSAverages(t *testing.T) {
	dets := []Detection{
		{Box: Box{0, 0, 10, 10}, Score: 0.75},
		{Box: Box{2, 0, 12, 10}, Score: 0.25},
	}
	got := WeightedNMS(dets, 0.3)
	if len(got) != 1 || !near(got[0].Box.X1, 0.5) || !near(got[0].Box.X2, 10.5) || got[0].Score != 0.75 {
		t.Fatalf("weighted NMS = %+v", got)
	}
}

// A 2-level mediapipe-style SSD on a 16×16 input: level 0 stride 8 (2×2 cells, 1
// anchor), level 1 stride 16 (1 cell, 2 anchors). One hot anchor per level.
func TestDecodeSSDMediaPipe(t *testing.T) {
	cfg := SSDConfig{Encoding: "mediapipe", Keypoints: 1, Sigmoid: true, ScoreThreshold: 0.5, IoUThreshold: 0.3,
		Levels: []SSDLevel{{Stride: 8, Anchors: 1, Scores: "s0", Boxes: "b0"}, {Stride: 16, Anchors: 2, Scores: "s1", Boxes: "b1"}}}
	s0 := []float32{-5, -5, -5, 3} // cell (1,1), centre (12,12)
	b0 := make([]float32, 4*6)
	copy(b0[3*6:], []float32{1, -1, 4, 6, 0.5, 0.5})
	s1 := []float32{-5, 2} // anchor 1 of the only cell, centre (8,8)
	b1 := make([]float32, 2*6)
	copy(b1[6:], []float32{0, 0, 2, 2, -1, 1})
	outs := []Output{{"s0", []int64{1, 4, 1}, s0}, {"b0", []int64{1, 4, 6}, b0}, {"s1", []int64{1, 2, 1}, s1}, {"b1", []int64{1, 2, 6}, b1}}
	got, err := DecodeSSD(cfg, outs, 0, 16, 16, []string{"face"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d detections, want 2: %+v", len(got), got)
	}
	a := got[0] // higher score (sigmoid 3)
	if !near(a.Score, sigmoid(3)) || !near(a.Box.X1, 11) || !near(a.Box.Y1, 8) || !near(a.Box.X2, 15) || !near(a.Box.Y2, 14) {
		t.Fatalf("level-0 detection = %+v", a)
	}
	if a.Label != "face" || !near(a.Keypoints[0][0], 12.5) || !near(a.Keypoints[0][1], 12.5) {
		t.Fatalf("level-0 label/keypoint = %+v", a)
	}
	b := got[1]
	if !near(b.Box.X1, 7) || !near(b.Box.Y2, 9) || !near(b.Keypoints[0][0], 7) || !near(b.Keypoints[0][1], 9) {
		t.Fatalf("level-1 detection = %+v", b)
	}
}

func TestDecodeSSDVariances(t *testing.T) {
	cfg := SSDConfig{Encoding: "ssd", Variances: [2]float32{0.1, 0.2}, ScoreThreshold: 0.5, IoUThreshold: 0.5,
		Levels: []SSDLevel{{Stride: 10, Anchors: 1, Scores: "s", Boxes: "b", AnchorSizes: [][2]float32{{10, 20}}}}}
	// one cell, centre (5,5); dx=1 → +0.1*10=1; dh=ln(2)/0.2 → h = 20*2 = 40.
	outs := []Output{{"s", []int64{1, 1, 1}, []float32{0.9}}, {"b", []int64{1, 1, 4}, []float32{1, 0, 0, float32(math.Log(2) / 0.2)}}}
	got, err := DecodeSSD(cfg, outs, 0, 10, 10, nil)
	if err != nil || len(got) != 1 {
		t.Fatal(err, got)
	}
	if g := got[0].Box; !near(g.X1, 1) || !near(g.X2, 11) || !near(g.Y1, -15) || !near(g.Y2, 25) {
		t.Fatalf("box = %+v", g)
	}
}

func TestDecodeSSDShapeMismatch(t *testing.T) {
	cfg := SSDConfig{Levels: []SSDLevel{{Stride: 8, Anchors: 2, Scores: "s", Boxes: "b"}}}
	outs := []Output{{"s", []int64{1, 3, 1}, make([]float32, 3)}, {"b", []int64{1, 3, 4}, make([]float32, 12)}}
	if _, err := DecodeSSD(cfg, outs, 0, 16, 16, nil); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("want shape mismatch error, got %v", err)
	}
}

func TestDecodeYOLOv5(t *testing.T) {
	// 3 candidates × (4 box + obj + 2 classes)
	data := []float32{
		50, 50, 20, 10, 0.9, 0.1, 0.8, // class 1, score 0.72
		52, 50, 20, 10, 0.8, 0.1, 0.7, // overlaps the first, same class: suppressed
		10, 10, 4, 4, 0.2, 0.9, 0.1, // score 0.18 < 0.25
	}
	got, err := DecodeYOLO(YOLOConfig{Layout: "v5", Output: "o", ScoreThreshold: 0.25, IoUThreshold: 0.45},
		[]Output{{"o", []int64{1, 3, 7}, data}}, 0, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Class != 1 || got[0].Label != "b" || !near(got[0].Score, 0.72) || !near(got[0].Box.X1, 40) || !near(got[0].Box.Y2, 55) {
		t.Fatalf("v5 = %+v", got)
	}
}

func TestDecodeYOLOv8(t *testing.T) {
	// [1, 4+2, 2]: column-major candidates.
	data := []float32{
		10, 100, // cx
		10, 100, // cy
		4, 20, // w
		4, 20, // h
		0.9, 0.1, // class 0
		0.05, 0.6, // class 1
	}
	got, err := DecodeYOLO(YOLOConfig{Layout: "v8", Output: "o", ScoreThreshold: 0.5, IoUThreshold: 0.5},
		[]Output{{"o", []int64{1, 6, 2}, data}}, 0, nil)
	if err != nil || len(got) != 2 {
		t.Fatal(err, got)
	}
	if got[0].Class != 0 || !near(got[0].Box.X1, 8) || got[1].Class != 1 || !near(got[1].Box.X2, 110) {
		t.Fatalf("v8 = %+v", got)
	}
}

func TestDecodeDBNet(t *testing.T) {
	// 20×10 map with one 8×2 text region at x 4..11, y 4..5 (prob 0.9) and a 1-pixel speck.
	w, h := 20, 10
	m := make([]float32, w*h)
	for y := 4; y <= 5; y++ {
		for x := 4; x <= 11; x++ {
			m[y*w+x] = 0.9
		}
	}
	m[0] = 0.95
	cfg := DBNetConfig{Output: "p", Threshold: 0.3, BoxThreshold: 0.6, UnclipRatio: 1.5, MinSize: 2}
	got, err := DecodeDBNet(cfg, []Output{{"p", []int64{1, 1, int64(h), int64(w)}, m}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d boxes, want 1: %+v", len(got), got)
	}
	d := float32(8 * 2 * 1.5 / (2 * 10)) // 1.2
	b := got[0].Box
	if !near(b.X1, 4-d) || !near(b.Y1, 4-d) || !near(b.X2, 12+d) || !near(b.Y2, 6+d) || !near(got[0].Score, 0.9) {
		t.Fatalf("box = %+v score %v", b, got[0].Score)
	}
}

func TestDecodeCTC(t *testing.T) {
	dict, err := LoadDictionary(strings.NewReader("A\nB\n京\n"), true)
	if err != nil || len(dict) != 4 || dict[3] != " " {
		t.Fatal(dict, err)
	}
	// classes: 0 blank, 1 A, 2 B, 3 京, 4 space. Steps: 京 京 _ A A _ A space B
	steps := []int{3, 3, 0, 1, 1, 0, 1, 4, 2}
	data := make([]float32, len(steps)*5)
	for i, c := range steps {
		for j := 0; j < 5; j++ {
			data[i*5+j] = 0.05
		}
		data[i*5+c] = 0.8
	}
	got, err := DecodeCTC(CTCConfig{Output: "o"}, []Output{{"o", []int64{1, int64(len(steps)), 5}, data}}, 0, dict)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "京AA B" || !near(got.Score, 0.8) {
		t.Fatalf("ctc = %+v", got)
	}
	if _, err := DecodeCTC(CTCConfig{Output: "o"}, []Output{{"o", []int64{1, 1, 9}, make([]float32, 9)}}, 0, dict); err == nil {
		t.Fatal("dictionary/class mismatch not reported")
	}
}

func TestTopKAndEmbedding(t *testing.T) {
	got := TopK([]float32{1, 3, 2}, 2, true, []string{"a", "b", "c"})
	if len(got) != 2 || got[0].Label != "b" || got[1].Label != "c" {
		t.Fatalf("topk = %+v", got)
	}
	e := float32(math.Exp(1))
	if want := e * e / (e + e*e*e + e*e); !near(got[1].Score, want) {
		t.Fatalf("softmax score %v want %v", got[1].Score, want)
	}
	v := L2Normalize([]float32{3, 4})
	if !near(v[0], 0.6) || !near(v[1], 0.8) {
		t.Fatalf("l2 = %v", v)
	}
	if c := Cosine([]float32{1, 0}, []float32{0, 2}); c != 0 {
		t.Fatalf("cosine = %v", c)
	}
}
