package algtest

import (
	"math"
	"testing"
)

func TestRegionDetector(t *testing.T) {
	m := Detector(t, "probe-test", []string{"a", "b"}, []Region{
		{Label: "a", Box: Rect{0.1, 0.1, 0.3, 0.3}},
		{Label: "b", Box: Rect{0.5, 0.5, 0.9, 0.9}, Probe: Rect{0.5, 0.5, 0.9, 0.55}},
	}, 320, 320)
	img := Frame(640, 360, 20, White, Rect{0.5, 0.5, 0.9, 0.6})
	defer img.Close()
	dets := Detect(t, m, img)
	if len(dets) != 1 || dets[0].Label != "b" || dets[0].Score < 0.95 {
		t.Fatalf("%+v", dets)
	}
	b := dets[0].Box
	if math.Abs(float64(b.X1)-320) > 2 || math.Abs(float64(b.Y1)-180) > 2 || math.Abs(float64(b.X2)-576) > 2 || math.Abs(float64(b.Y2)-324) > 2 {
		t.Fatalf("box %+v not at the region in source pixels", b)
	}
	img2 := Frame(640, 360, 20, White, Rect{0.1, 0.1, 0.3, 0.3})
	defer img2.Close()
	if d := Detect(t, m, img2); len(d) != 1 || d[0].Label != "a" {
		t.Fatalf("%+v", d)
	}
	dark := Frame(640, 360, 40, White)
	defer dark.Close()
	if d := Detect(t, m, dark); len(d) != 0 {
		t.Fatalf("dark frame: %+v", d)
	}
}
