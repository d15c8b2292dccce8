package decode

import (
	"math"
	"strings"
	"testing"
)

// nanodetOutputs is a hand-built 16×16-input NanoDet with two classes and reg_max 1:
// level A has stride 8 (2×2 cells), level B stride 16 (1 cell). A box output row holds
// 4 sides × 2 bins of logits; with logits (0, ln 3) a side's distance is
// E[bin] = 0.75 bins, with (ln 3, 0) 0.25, with (0, 0) 0.5, with (20, -20) ≈ 0.
func nanodetOutputs() []Output {
	ln3 := float32(math.Log(3))
	half := []float32{0, 0}
	q3 := []float32{0, ln3}
	q1 := []float32{ln3, 0}
	zero := []float32{20, -20}
	one := []float32{-20, 20}
	row := func(sides ...[]float32) []float32 {
		var r []float32
		for _, s := range sides {
			r = append(r, s...)
		}
		return r
	}
	var boxA []float32
	boxA = append(boxA, row(zero, half, one, half)...)  // cell 0, centre (4, 4): l 0, t 4, r 8, b 4
	boxA = append(boxA, row(half, q3, q1, half)...)     // cell 1, centre (12, 4): l 4, t 6, r 2, b 4
	boxA = append(boxA, row(half, half, half, half)...) // cell 2
	boxA = append(boxA, row(half, half, half, half)...) // cell 3, centre (12, 12): 4 each side
	boxB := row(q3, half, half, q1)                     // centre (8, 8): l 12, t 8, r 8, b 4
	return []Output{
		{Name: "clsA", Shape: []int64{1, 4, 2}, Data: []float32{
			0.55, 0.2, // cell 0
			0.9, 0.6, // cell 1
			0, 0, // cell 2
			0, 0.7, // cell 3
		}},
		{Name: "regA", Shape: []int64{1, 4, 8}, Data: boxA},
		{Name: "clsB", Shape: []int64{1, 1, 2}, Data: []float32{0.8, 0.1}},
		{Name: "regB", Shape: []int64{1, 1, 8}, Data: boxB},
	}
}

func nearBox(a, b Box) bool {
	const eps = 1e-4
	return math.Abs(float64(a.X1-b.X1)) < eps && math.Abs(float64(a.Y1-b.Y1)) < eps &&
		math.Abs(float64(a.X2-b.X2)) < eps && math.Abs(float64(a.Y2-b.Y2)) < eps
}

func TestDecodeNanoDetHandComputed(t *testing.T) {
	cfg := NanoDetConfig{
		Levels:         []NanoDetLevel{{Scores: "clsA", Boxes: "regA"}, {Scores: "clsB", Boxes: "regB"}},
		ScoreThreshold: 0.5,
		IoUThreshold:   0.3,
	}
	dets, err := DecodeNanoDet(cfg, nanodetOutputs(), 0, 16, 16, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	// By hand, centre ((x+0.5)*stride, (y+0.5)*stride), box (cx-l, cy-t, cx+r, cy+b)
	// clipped to 16×16:
	//   A cell 1 class 0 0.9: (12-4, 4-6, 12+2, 4+4) = (8, 0, 14, 8)
	//   B cell 0 class 0 0.8: (8-12, 8-8, 8+8, 8+4)  = (0, 0, 16, 12); IoU with the first 48/192
	//   A cell 3 class 1 0.7: (8, 8, 16, 16)
	//   A cell 1 class 1 0.6: (8, 0, 14, 8); another class, so the first does not suppress it
	//   A cell 0 class 0 0.55: (4, 0, 12, 8); IoU 32/80 = 0.4 > 0.3 with the first: suppressed
	//   A cell 0 class 1 0.2 and B class 1 0.1 are under the threshold.
	want := []Detection{
		{Box: Box{8, 0, 14, 8}, Score: 0.9, Class: 0, Label: "a"},
		{Box: Box{0, 0, 16, 12}, Score: 0.8, Class: 0, Label: "a"},
		{Box: Box{8, 8, 16, 16}, Score: 0.7, Class: 1, Label: "b"},
		{Box: Box{8, 0, 14, 8}, Score: 0.6, Class: 1, Label: "b"},
	}
	if len(dets) != len(want) {
		t.Fatalf("got %d detections %+v, want %d", len(dets), dets, len(want))
	}
	for i, w := range want {
		d := dets[i]
		if d.Class != w.Class || d.Label != w.Label || d.Score != w.Score || !nearBox(d.Box, w.Box) {
			t.Errorf("detection %d: got %+v, want %+v", i, d, w)
		}
	}

	// Class-agnostic NMS lets the 0.9 box suppress the class-1 box on the same cell.
	cfg.ClassAgnostic = true
	dets, _ = DecodeNanoDet(cfg, nanodetOutputs(), 0, 16, 16, nil)
	if len(dets) != 3 || dets[2].Score != 0.7 {
		t.Errorf("class-agnostic: %+v", dets)
	}
	// MaxDetections keeps the best.
	cfg.ClassAgnostic, cfg.MaxDetections = false, 2
	if dets, _ = DecodeNanoDet(cfg, nanodetOutputs(), 0, 16, 16, nil); len(dets) != 2 || dets[1].Score != 0.8 {
		t.Errorf("max_detections 2: %+v", dets)
	}
	// NanoDet-Plus centres cells at x*stride: everything shifts by -stride/2.
	zero := float32(0)
	cfg.MaxDetections, cfg.CenterOffset = 0, &zero
	dets, _ = DecodeNanoDet(cfg, nanodetOutputs(), 0, 16, 16, nil)
	if !nearBox(dets[0].Box, Box{4, 0, 10, 4}) { // centre (8, 0): (8-4, 0-6 -> 0, 8+2, 0+4)
		t.Errorf("center_offset 0: %+v", dets[0])
	}
}

func TestDecodeNanoDetLogitsAndPairing(t *testing.T) {
	outs := nanodetOutputs()
	// Scores as logits: logit(0.9) etc. give the same detections with scores_are_logits.
	for _, o := range outs {
		if strings.HasPrefix(o.Name, "cls") {
			for i, p := range o.Data {
				p = min(max(p, 1e-6), 1-1e-6)
				o.Data[i] = float32(math.Log(float64(p) / (1 - float64(p))))
			}
		}
	}
	// No levels: paired by cell count, strides derived from the grid sizes.
	cfg := NanoDetConfig{NumClasses: 2, ScoresAreLogits: true, ScoreThreshold: 0.5, IoUThreshold: 0.3}
	levels, err := ResolveNanoDet(cfg, outs, 16, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 2 || levels[0].Scores != "clsA" || levels[0].Boxes != "regA" || levels[0].Stride != 8 ||
		levels[0].GridW != 2 || levels[0].RegMax != 1 || levels[1].Stride != 16 || levels[1].Boxes != "regB" {
		t.Fatalf("levels %+v", levels)
	}
	dets, err := DecodeNanoDet(cfg, outs, 0, 16, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 4 || math.Abs(float64(dets[0].Score-0.9)) > 1e-5 || !nearBox(dets[0].Box, Box{8, 0, 14, 8}) {
		t.Errorf("logit scores: %+v", dets)
	}
}

func TestDecodeNanoDetErrors(t *testing.T) {
	outs := nanodetOutputs()
	cases := map[string]NanoDetConfig{
		`no output "nope"`:           {Levels: []NanoDetLevel{{Scores: "nope", Boxes: "regA"}}},
		"stride 4 gives a 4x4 grid":  {Levels: []NanoDetLevel{{Scores: "clsA", Boxes: "regA", Stride: 4}}},
		"not [B, cells, C]":          {Levels: []NanoDetLevel{{Scores: "clsA", Boxes: "regB"}}},
		"set levels, num_classes or": {},
	}
	for want, cfg := range cases {
		if _, err := DecodeNanoDet(cfg, outs, 0, 16, 16, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %+v: error %v, want %q", cfg, err, want)
		}
	}
	if _, err := DecodeNanoDet(NanoDetConfig{NumClasses: 2}, outs, 1, 16, 16, nil); err == nil {
		t.Error("batch index 1 of a batch of 1 was accepted")
	}
}
