package decode

import "testing"

// ONNX NonMaxSuppression-style [M,7] rows (batch, x1, y1, x2, y2, class, score) for a
// whole batch split by their batch column; rows of a class the labels lack keep
// their index.
func TestSuppressedBatchColumn(t *testing.T) {
	rows := Output{Name: "dets", Shape: []int64{3, 7}, Data: []float32{
		0, 10, 10, 20, 20, 1, 0.9,
		1, 30, 30, 50, 60, 0, 0.8,
		0, 0, 0, 5, 5, 0, 0.05, // below the threshold
	}}
	c := SuppressedConfig{Rows: "dets", Columns: []string{"batch", "x1", "y1", "x2", "y2", "class", "score"}, ScoreThreshold: 0.1}
	for b, want := range []Detection{{Box: Box{10, 10, 20, 20}, Score: 0.9, Class: 1, Label: "b"}, {Box: Box{30, 30, 50, 60}, Score: 0.8, Class: 0, Label: "a"}} {
		got, err := DecodeSuppressed(c, []Output{rows}, b, 64, 64, []string{"a", "b"})
		if err != nil || len(got) != 1 || got[0].Box != want.Box || got[0].Label != want.Label {
			t.Errorf("image %d: %+v %v, want %+v", b, got, err, want)
		}
	}
	c.Columns = []string{"batch", "cx", "cy", "w", "h", "class", "score"}
	got, _ := DecodeSuppressed(c, []Output{rows}, 0, 64, 64, nil)
	if len(got) != 1 || got[0].Box != (Box{0, 0, 20, 20}) {
		t.Errorf("centre boxes: %+v", got)
	}
	if _, err := DecodeSuppressed(SuppressedConfig{Rows: "dets", Columns: []string{"x1", "y1", "x2", "y2"}}, []Output{rows}, 0, 64, 64, nil); err == nil {
		t.Error("rows without a score column accepted")
	}
}

// RT-DETR as Ultralytics exports it: one [B,Q,4+C] output, normalised centre boxes,
// sigmoid scores.
func TestSetCombinedOutput(t *testing.T) {
	out := Output{Name: "output0", Shape: []int64{1, 2, 6}, Data: []float32{
		0.5, 0.5, 0.5, 0.25, -4, 3, // class 1, sigmoid(3) = 0.95
		0.1, 0.1, 0.1, 0.1, -4, -4,
	}}
	got, err := DecodeSet(SetConfig{Output: "output0", ScoreThreshold: 0.5}, []Output{out}, 0, 100, 200, []string{"a", "b"})
	if err != nil || len(got) != 1 || got[0].Label != "b" || got[0].Box != (Box{25, 75, 75, 125}) || got[0].Score < 0.95 {
		t.Fatalf("%+v %v", got, err)
	}
}
