package fire_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/fire"
	"github.com/cityeye/cityeye/algorithms/internal/algtest"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers"
)

const W, H, In = 640, 360, 320

var (
	fireA   = algtest.Rect{0.05, 0.20, 0.15, 0.35}
	fireB   = algtest.Rect{0.60, 0.20, 0.70, 0.35}
	fireOut = algtest.Rect{0.85, 0.20, 0.95, 0.35} // outside the zone
	// smoke at four sizes, each 1.6× the previous, centred at (0.5, 0.62): the
	// detector reports every size whose top strip is painted, i.e. every size up to
	// the painted one (their IoU stays under the decoder's NMS threshold)
	smoke [4]algtest.Rect
)

const zone = `"zones":[{"name":"hill","polygon":[[0,0],[0.8,0],[0.8,1],[0,1]]}]`

func init() {
	r := 0.05
	for i := range smoke {
		smoke[i] = algtest.Rect{0.5 - r, 0.62 - r, 0.5 + r, 0.62 + r}
		r *= 1.6
	}
}

func detector(t testing.TB, in int) *models.Model {
	regions := []algtest.Region{
		{Label: fire.LabelFire, Box: fireA},
		{Label: fire.LabelFire, Box: fireB},
		{Label: fire.LabelFire, Box: fireOut},
	}
	for _, s := range smoke {
		regions = append(regions, algtest.Region{Label: fire.LabelSmoke, Box: s, Probe: algtest.Rect{s[0], s[1], s[2], s[1] + 0.015}})
	}
	return algtest.Detector(t, fire.Model, []string{"person", fire.LabelFire, fire.LabelSmoke}, regions, in, in)
}

func newAlg(t testing.TB, params string) algorithms.Algorithm {
	t.Helper()
	a := algtest.NewAlgorithm(t, fire.Name, params)
	return a
}

var t0 = time.Date(2026, 4, 1, 14, 0, 0, 0, time.UTC)

func frameAt(i int) time.Time { return t0.Add(time.Duration(i) * 200 * time.Millisecond) }

func run(t testing.TB, m *models.Model, a algorithms.Algorithm, at time.Time, rects ...algtest.Rect) []algorithms.Alert {
	t.Helper()
	img := algtest.Frame(W, H, 30, algtest.White, rects...)
	defer img.Close()
	return a.Process(algorithms.Frame{Time: at, Mat: img}, map[string][]decode.Detection{fire.Model: algtest.Detect(t, m, img)}).Alerts
}

func closeAll(as []algorithms.Alert) {
	for _, a := range as {
		a.Frame.Close()
	}
}

func near(b decode.Box, r algtest.Rect) bool {
	px := r.Px(W, H)
	d := func(a float32, b int) bool { return math.Abs(float64(a)-float64(b)) <= 3 }
	return d(b.X1, px.Min.X) && d(b.Y1, px.Min.Y) && d(b.X2, px.Max.X) && d(b.Y2, px.Max.Y)
}

// TestFireAlert: a fire in the zone alerts (level 3) on its third frame, not before;
// not again within the 10-minute cooldown; again after it. A fire outside the zone
// never alerts. The alert box is the fire's, red on the snapshot.
func TestFireAlert(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{`+zone+`}`)
	if ms := a.Models(); len(ms) != 1 || ms[0] != fire.Model {
		t.Fatalf("models %v", ms)
	}
	var times []time.Duration
	var first algorithms.Alert
	for i := 0; i < 5*60; i++ { // a minute at 5 fps
		got := run(t, m, a, frameAt(i), fireA, fireOut)
		for _, g := range got {
			times = append(times, frameAt(i).Sub(t0))
			if len(times) == 1 {
				first = g
				continue
			}
			g.Frame.Close()
		}
	}
	defer first.Frame.Close()
	if len(times) != 1 || times[0] != 400*time.Millisecond {
		t.Fatalf("alerts at %v, want one on the third frame (0.4s)", times)
	}
	if first.Kind != fire.KindFire || first.Level != 3 || first.Zone != "hill" || len(first.Boxes) != 1 || !near(first.Boxes[0].Box, fireA) {
		t.Fatalf("alert %s level %d zone %q boxes %+v", first.Kind, first.Level, first.Zone, first.Boxes)
	}
	if first.Details["detector"] != "model" || first.Details["model"] != fire.Model || first.Details["frames"] != 3 {
		t.Fatalf("details %v", first.Details)
	}
	b := first.Boxes[0].Box
	snap := first.Frame.Clone()
	defer snap.Close()
	workers.DrawBoxes(&snap, first.Boxes)
	if px := algtest.BGR(snap, int(b.X2)-1, int(b.Y1+b.Y2)/2); px != [3]uint8{0, 0, 255} {
		t.Fatalf("snapshot at the box's right edge is %v, want red", px)
	}
	// 10 minutes after the first alert (frames continue every 10 s): fires again
	var again []time.Duration
	for tm := frameAt(300); tm.Before(t0.Add(11 * time.Minute)); tm = tm.Add(10 * time.Second) {
		got := run(t, m, a, tm, fireA)
		for range got {
			again = append(again, tm.Sub(t0))
		}
		closeAll(got)
	}
	if len(again) != 1 || again[0] < 10*time.Minute+400*time.Millisecond || again[0] > 10*time.Minute+11*time.Second {
		t.Fatalf("repeats at %v, want one just after 10m0.4s", again)
	}
}

// TestFireStability: detections hopping between two places every frame persist by
// count but never overlap: no alert. A one-frame flash does not alert even with
// persistence 1 of 1; two overlapping frames do.
func TestFireStability(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{`+zone+`}`)
	for i := 0; i < 20; i++ {
		r := fireA
		if i%2 == 1 {
			r = fireB
		}
		if got := run(t, m, a, frameAt(i), r); len(got) > 0 {
			closeAll(got)
			t.Fatalf("frame %d: alert for hopping detections", i)
		}
	}
	a = newAlg(t, `{`+zone+`,"persistence":{"frames":1,"of":1}}`)
	if got := run(t, m, a, frameAt(0), fireA); len(got) > 0 {
		closeAll(got)
		t.Fatal("single-frame flash alerted")
	}
	run(t, m, a, frameAt(1))
	run(t, m, a, frameAt(2))
	got := run(t, m, a, frameAt(3), fireB)
	closeAll(got)
	if len(got) != 0 {
		t.Fatal("a second flash elsewhere alerted")
	}
	got = run(t, m, a, frameAt(4), fireB)
	defer closeAll(got)
	if len(got) != 1 {
		t.Fatal("two overlapping frames with persistence 1/1 should alert")
	}
}

// TestSmoke: growing or holding smoke alerts (level 2) once persisted; shrinking smoke
// (a dissipating puff) does not, within the 10 s window.
func TestSmoke(t *testing.T) {
	m := detector(t, In)
	cases := []struct {
		name  string
		sizes []int // painted smoke size per frame (-1: none)
		at    int   // frame of the alert, -1 for none
	}{
		{"growing", []int{0, 1, 2, 3, 3, 3}, 2},
		{"holding", []int{1, 1, 1, 1}, 2},
		{"shrinking", []int{3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, -1},
		{"a flash", []int{3, -1, -1, -1, 3, -1, -1, -1}, -1},
	}
	for _, c := range cases {
		a := newAlg(t, `{`+zone+`}`)
		at := -1
		var al algorithms.Alert
		for i, s := range c.sizes {
			var rects []algtest.Rect
			if s >= 0 {
				rects = append(rects, smoke[s])
			}
			got := run(t, m, a, frameAt(i), rects...)
			if len(got) > 0 && at < 0 {
				at, al = i, got[0]
				defer al.Frame.Close()
			}
			if len(got) > 1 || len(got) == 1 && at != i {
				t.Fatalf("%s: frame %d: %d alerts", c.name, i, len(got))
			}
		}
		if at != c.at {
			t.Errorf("%s: alert at frame %d, want %d", c.name, at, c.at)
			continue
		}
		if at >= 0 {
			ratio, _ := al.Details["area_ratio"].(float64)
			if al.Kind != fire.KindSmoke || al.Level != 2 || ratio < 0.8 {
				t.Errorf("%s: %s level %d details %v", c.name, al.Kind, al.Level, al.Details)
			}
			if c.name == "growing" && ratio < 2 {
				t.Errorf("growing: area ratio %v", ratio)
			}
		}
	}
}

func TestOptions(t *testing.T) {
	spec, _ := algorithms.Lookup(fire.Name)
	for in, field := range map[string]string{
		`{"detector":"yolo"}`:        "params.options.detector",
		`{"smoke_min_growth":-1}`:    "params.options.smoke_min_growth",
		`{"smoke_window_s":0.5}`:     "params.options.smoke_window_s",
		`{"detector":"model","x":1}`: "params.options",
	} {
		_, err := spec.New("t", algorithms.Params{SampleFPS: 5, Options: json.RawMessage(in)})
		var fe *algorithms.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want field %s", in, err, field)
		}
	}
	base := newAlg(t, `{"options":{"detector":"baseline"}}`)
	if len(base.Models()) != 0 {
		t.Fatalf("baseline runs models %v", base.Models())
	}
}

// BenchmarkFireModel: a 1280×720 frame through the 640×640 test detector and Process,
// on one core.
func BenchmarkFireModel(b *testing.B) {
	m := detector(b, 640)
	a := newAlg(b, `{`+zone+`}`)
	img := algtest.Frame(1280, 720, 30, algtest.White, fireA, smoke[2])
	defer img.Close()
	step := func(i int, dets []decode.Detection) {
		closeAll(a.Process(algorithms.Frame{Time: frameAt(i), Mat: img}, map[string][]decode.Detection{fire.Model: dets}).Alerts)
	}
	b.Run("detect+process", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			step(i, algtest.Detect(b, m, img))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
	dets := algtest.Detect(b, m, img)
	b.Run("process", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			step(i, dets)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}
