package decode

import "testing"

// Two peaks of class 1 on a 4×4 grid (stride 8, 32×32 input): each is kept with its
// box from the cell's sides; a neighbour below the peak and a score under the
// threshold are not detections; overlapping peaks of one class are suppressed.
func TestDecodeCenterNet(t *testing.T) {
	const h, w, nc = 4, 4, 2
	heat := make([]float32, h*w*nc)
	sides := make([]float32, h*w*4)
	set := func(y, x, c int, s float32, l, tp, r, b float32) {
		heat[(y*w+x)*nc+c] = s
		copy(sides[(y*w+x)*4:], []float32{l, tp, r, b})
	}
	set(1, 1, 1, 0.9, 4, 4, 4, 4)   // box (4,4)-(12,12)
	set(1, 2, 1, 0.5, 4, 4, 4, 4)   // beside the 0.9 peak: not a peak
	set(3, 3, 1, 0.6, 30, 30, 2, 2) // box clipped to (0,0)-(26,26)… overlaps the first
	set(3, 0, 0, 0.1, 1, 1, 1, 1)   // under the threshold
	outs := []Output{{Name: "hm", Shape: []int64{1, h, w, nc}, Data: heat}, {Name: "wh", Shape: []int64{1, h, w, 4}, Data: sides}}
	cfg := CenterNetConfig{Heatmap: "hm", Sizes: "wh", Stride: 8, ScoreThreshold: 0.3, IoUThreshold: 0.99}
	dets, err := DecodeCenterNet(cfg, outs, 0, 32, 32, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 2 || dets[0].Score != 0.9 || dets[0].Label != "b" || dets[0].Box != (Box{X1: 4, Y1: 4, X2: 12, Y2: 12}) ||
		dets[1].Box != (Box{X1: 0, Y1: 0, X2: 26, Y2: 26}) {
		t.Fatalf("%+v", dets)
	}
	cfg.IoUThreshold = 0.05 // the 0.6 box holds the 0.9 one: suppressed
	if dets, _ := DecodeCenterNet(cfg, outs, 0, 32, 32, nil); len(dets) != 1 {
		t.Fatalf("with NMS: %+v", dets)
	}
	if _, err := DecodeCenterNet(cfg, outs, 1, 32, 32, nil); err == nil {
		t.Fatal("batch index 1 of 1 accepted")
	}
}
