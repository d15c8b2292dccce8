package kitchen_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/internal/algtest"
	"github.com/cityeye/cityeye/algorithms/kitchen"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers"
)

// The test detector's regions (normalised). Painting a region's probe white "puts"
// that object there.
var (
	head     = algtest.Rect{0.20, 0.20, 0.26, 0.30}
	hatMark  = algtest.Rect{0.20, 0.32, 0.26, 0.35} // probe of the head_hat box at head
	hatPaint = algtest.Rect{0.19, 0.31, 0.27, 0.36} // covers the probe: head_hat scores 1
	garbage  = algtest.Rect{0.40, 0.60, 0.50, 0.75}
	ratStore = algtest.Rect{0.60, 0.75, 0.68, 0.82}
	ratOut   = algtest.Rect{0.90, 0.75, 0.98, 0.82} // in no zone
	person   = algtest.Rect{0.05, 0.05, 0.10, 0.20}
	labels   = []string{kitchen.LabelHat, kitchen.LabelNoHat, kitchen.LabelRat, kitchen.LabelGarbage, "person"}
)

const zonesJSON = `"zones":[{"name":"kitchen","polygon":[[0,0],[0.55,0],[0.55,1],[0,1]]},
	{"name":"store","polygon":[[0.55,0],[0.85,0],[0.85,1],[0.55,1]]}]`

// detector is the test detector at in×in input.
func detector(t testing.TB, in int) *models.Model {
	return algtest.Detector(t, kitchen.Model, labels, []algtest.Region{
		{Label: kitchen.LabelNoHat, Box: head},
		{Label: kitchen.LabelHat, Box: head, Probe: hatMark},
		{Label: kitchen.LabelGarbage, Box: garbage},
		{Label: kitchen.LabelRat, Box: ratStore},
		{Label: kitchen.LabelRat, Box: ratOut},
		{Label: "person", Box: person},
	}, in, in)
}

func newAlg(t testing.TB, params string) algorithms.Algorithm {
	t.Helper()
	a := algtest.NewAlgorithm(t, kitchen.Name, params)
	if m := a.Models(); len(m) != 1 || m[0] != kitchen.Model {
		t.Fatalf("models %v", m)
	}
	return a
}

// Tests run 640×360 frames through a 320×320 detector (the benchmark uses 1280×720
// and 640×640).
const W, H, In = 640, 360, 320

// run paints the rects on a W×H frame, runs the detector and the algorithm.
func run(t testing.TB, m *models.Model, a algorithms.Algorithm, at time.Time, rects ...algtest.Rect) []algorithms.Alert {
	t.Helper()
	img := algtest.Frame(W, H, 30, algtest.White, rects...)
	defer img.Close()
	dets := algtest.Detect(t, m, img)
	return a.Process(algorithms.Frame{StreamID: "s", Time: at, Mat: img}, map[string][]decode.Detection{kitchen.Model: dets}).Alerts
}

func closeAll(as []algorithms.Alert) {
	for _, a := range as {
		a.Frame.Close()
	}
}

func near(b decode.Box, r algtest.Rect, w, h int) bool {
	px := r.Px(w, h)
	d := func(a float32, b int) bool { return math.Abs(float64(a)-float64(b)) <= 3 }
	return d(b.X1, px.Min.X) && d(b.Y1, px.Min.Y) && d(b.X2, px.Max.X) && d(b.Y2, px.Max.Y)
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

const fps = 5

func frameAt(i int) time.Time { return t0.Add(time.Duration(i) * time.Second / fps) }

// TestNoHatPersistenceCooldownSnapshot: a head without a hat in the kitchen alerts on
// the third frame (3 of 5), not before; not again inside the 5-minute cooldown; again
// after it. The alert's box is the detection's, and drawn on its frame it is red.
func TestNoHatPersistenceCooldownSnapshot(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{`+zonesJSON+`}`)
	var first []algorithms.Alert
	for i := 0; i < 3; i++ {
		got := run(t, m, a, frameAt(i), head, person)
		if i < 2 && len(got) > 0 {
			t.Fatalf("frame %d: alert before persistence: %+v", i, got[0].Kind)
		}
		first = got
	}
	if len(first) != 1 {
		t.Fatalf("third frame: %d alerts, want kitchen.no_hat", len(first))
	}
	defer closeAll(first)
	al := first[0]
	if al.Kind != "kitchen.no_hat" || al.Level != 2 || al.Zone != "kitchen" || !al.Time.Equal(frameAt(2)) {
		t.Fatalf("alert %s level %d zone %q at %s", al.Kind, al.Level, al.Zone, al.Time)
	}
	if len(al.Boxes) != 1 || al.Boxes[0].Label != kitchen.LabelNoHat || !near(al.Boxes[0].Box, head, W, H) {
		t.Fatalf("boxes %+v, want the head at %v", al.Boxes, head.Px(W, H))
	}
	if al.Details["persistence"] != "3 of 5 frames" || al.Details["model"] != kitchen.Model {
		t.Fatalf("details %v", al.Details)
	}
	// the snapshot: the frame is white at the box edge; the recorder's drawing makes it red
	b := al.Boxes[0].Box
	x, y := int(b.X1), int((b.Y1+b.Y2)/2)
	if px := algtest.BGR(al.Frame, x, y); px != [3]uint8{255, 255, 255} {
		t.Fatalf("frame at the box edge is %v before drawing", px)
	}
	snap := al.Frame.Clone()
	defer snap.Close()
	workers.DrawBoxes(&snap, al.Boxes)
	if px := algtest.BGR(snap, x, y); px != [3]uint8{0, 0, 255} {
		t.Fatalf("snapshot at the box edge (%d,%d) is BGR %v, want red", x, y, px)
	}
	if px := algtest.BGR(snap, (int(b.X1)+int(b.X2))/2, y); px != [3]uint8{255, 255, 255} {
		t.Fatalf("box interior changed: %v", px)
	}
	// still there for the next 30 s and then every 10 s: no repeat inside the
	// cooldown, and the first frame after it alerts again (the head never left)
	var again []time.Duration
	for tm := frameAt(3); tm.Before(frameAt(2).Add(6 * time.Minute)); {
		got := run(t, m, a, tm, head)
		for range got {
			again = append(again, tm.Sub(frameAt(2)))
		}
		closeAll(got)
		if tm.Sub(t0) < 30*time.Second {
			tm = tm.Add(time.Second / fps)
		} else {
			tm = tm.Add(10 * time.Second)
		}
	}
	if len(again) != 1 || again[0] < 5*time.Minute || again[0] >= 5*time.Minute+10*time.Second {
		t.Fatalf("repeats %v after the first alert, want one on the first frame after 5m", again)
	}
	// gone, then back after a pause longer than MaxGap: persistence starts afresh
	resume := frameAt(2).Add(20 * time.Minute)
	for i := 0; i < 3; i++ {
		got := run(t, m, a, resume.Add(time.Duration(i)*time.Second/fps), head)
		defer closeAll(got)
		if i < 2 && len(got) > 0 {
			t.Fatalf("after a pause: alert on frame %d, before persistence", i)
		}
		if i == 2 && (len(got) != 1 || got[0].Kind != "kitchen.no_hat") {
			t.Fatalf("after a pause: %d alerts, want one", len(got))
		}
	}
}

// TestHatSuppressesNoHat: the detector reports the same head both ways, with a hat
// scored as high: no alert.
func TestHatSuppressesNoHat(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{`+zonesJSON+`}`)
	for i := 0; i < 10; i++ {
		if got := run(t, m, a, frameAt(i), head, hatPaint); len(got) > 0 {
			closeAll(got)
			t.Fatalf("frame %d: %s for a head with a hat", i, got[0].Kind)
		}
	}
}

// TestRatZonesAndPersistence: a rat outside every zone never alerts; one in the store
// zone alerts only when seen in 2 of the last 3 frames.
func TestRatZonesAndPersistence(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{`+zonesJSON+`}`)
	seen := []bool{true, false, false, true, false, false, true, true}
	for i, s := range seen {
		rects := []algtest.Rect{ratOut} // always there, outside the zones
		if s {
			rects = append(rects, ratStore)
		}
		got := run(t, m, a, frameAt(i), rects...)
		defer closeAll(got)
		if i < len(seen)-1 && len(got) > 0 {
			t.Fatalf("frame %d: %s %q before 2 of 3 frames", i, got[0].Kind, got[0].Zone)
		}
		if i == len(seen)-1 {
			if len(got) != 1 || got[0].Kind != "kitchen.rat" || got[0].Zone != "store" || len(got[0].Boxes) != 1 || !near(got[0].Boxes[0].Box, ratStore, W, H) {
				t.Fatalf("last frame: %+v, want one kitchen.rat in store at the rat", got)
			}
		}
	}
	// with the ROI instead of zones: the rat outside it is ignored, the one inside alerts
	a = newAlg(t, `{"roi":[[0,0],[0.85,0],[0.85,1],[0,1]],"persistence":{"frames":1,"of":1}}`)
	got := run(t, m, a, frameAt(0), ratOut)
	if len(got) != 0 {
		t.Fatal("rat outside the ROI alerted")
	}
	got = run(t, m, a, frameAt(1), ratOut, ratStore)
	defer closeAll(got)
	if len(got) != 1 || got[0].Zone != "" || got[0].Kind != "kitchen.rat" {
		t.Fatalf("ROI: %+v", got)
	}
}

// TestGarbageForTenSeconds: an overflowing bin alerts after 10 s unbroken; an absent
// frame restarts the count.
func TestGarbageForTenSeconds(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{`+zonesJSON+`,"cooldown_seconds":60}`)
	var at []time.Duration
	for i := 0; i < 25*fps; i++ {
		rects := []algtest.Rect{garbage}
		if i == 5*fps { // one frame without it at 5 s
			rects = nil
		}
		got := run(t, m, a, frameAt(i), rects...)
		for _, g := range got {
			if g.Kind != "kitchen.garbage_overflow" || g.Zone != "kitchen" {
				t.Fatalf("%s in %q", g.Kind, g.Zone)
			}
			at = append(at, frameAt(i).Sub(t0))
		}
		closeAll(got)
	}
	// unbroken from 5.2 s → fires at 15.2 s, and not again (cooldown 60 s from params)
	if len(at) != 1 || at[0] != 15200*time.Millisecond {
		t.Fatalf("alerts at %v, want one at 15.2s", at)
	}
}

// TestActiveWindow drives the algorithm as the worker does, only with frames inside
// params.windows: nothing is raised while the window is closed, and a rat seen once
// just before closing does not combine with one frame the next morning.
func TestActiveWindow(t *testing.T) {
	m := detector(t, In)
	p, err := algorithms.ParseParams(json.RawMessage(`{"windows":[{"start":"08:00","end":"20:00"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := algorithms.Lookup(kitchen.Name)
	a, err := spec.New("task", p)
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("CST", 8*3600)
	var alerts []time.Time
	feed := func(from, to time.Time, rat func(time.Time) bool) {
		for tm := from; tm.Before(to); tm = tm.Add(200 * time.Millisecond) {
			if !p.Active(tm.In(loc)) { // the worker's gate (workers/pipeline.go)
				continue
			}
			var rects []algtest.Rect
			if rat(tm) {
				rects = append(rects, ratStore)
			}
			got := run(t, m, a, tm, rects...)
			for _, g := range got {
				alerts = append(alerts, g.Time)
			}
			closeAll(got)
		}
	}
	evening := time.Date(2026, 3, 2, 19, 59, 59, 0, loc)
	last := evening.Add(800 * time.Millisecond) // 19:59:59.8, the last active frame
	feed(evening, evening.Add(3*time.Second), func(tm time.Time) bool { return tm.Equal(last) })
	morning := time.Date(2026, 3, 3, 8, 0, 0, 0, loc)
	feed(morning.Add(-2*time.Second), morning.Add(2*time.Second), func(time.Time) bool { return true })
	if len(alerts) != 1 || !alerts[0].Equal(morning.Add(200*time.Millisecond)) {
		t.Fatalf("alerts at %v, want one at 08:00:00.2 (two morning frames; the evening frame is stale)", alerts)
	}
}

func TestOptions(t *testing.T) {
	spec, _ := algorithms.Lookup(kitchen.Name)
	for in, field := range map[string]string{
		`{"alerts":["rat","fire"]}`: "params.options.alerts[1]",
		`{"bogus":true}`:            "params.options",
		`{"detector":"hats"}`:       "params.options.detector",
		`{"hat_every":-1}`:          "params.options.hat_every",
	} {
		_, err := spec.New("t", algorithms.Params{SampleFPS: 5, Options: json.RawMessage(in)})
		var fe *algorithms.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want field %s", in, err, field)
		}
	}
	// person_hat: nanodet persons with the hat classifier on head crops; rats and
	// garbage, when asked for, still need the kitchen detector
	for in, want := range map[string][]string{
		`{"detector":"person_hat"}`:                           {kitchen.PersonModel},
		`{"detector":"person_hat","alerts":["no_hat","rat"]}`: {kitchen.PersonModel, kitchen.Model},
	} {
		a, err := spec.New("t", algorithms.Params{SampleFPS: 5, Options: json.RawMessage(in)})
		if err != nil {
			t.Fatal(err)
		}
		st := a.(algorithms.Staged).Stages()
		if !slices.Equal(a.Models(), want) || len(st) != 1 || st[0].Model != kitchen.HatModel || st[0].On != kitchen.PersonModel || st[0].Every != 5 {
			t.Errorf("%s: models %v, stages %+v", in, a.Models(), st)
		}
	}
	// only rats: the head without a hat is not reported
	m := detector(t, In)
	a := newAlg(t, `{"options":{"alerts":["rat"]},"persistence":{"frames":1,"of":1}}`)
	got := run(t, m, a, frameAt(0), head, ratStore)
	defer closeAll(got)
	if len(got) != 1 || got[0].Kind != "kitchen.rat" {
		t.Fatalf("%+v", got)
	}
}

// BenchmarkKitchen measures one frame end to end on one core: the test detector at
// 640×640 on a 1280×720 frame (preprocessing, ONNX Runtime, YOLO decoding) plus
// Process. The graph is trivial, so this is the pipeline's overhead, not a model's.
func BenchmarkKitchen(b *testing.B) {
	m := detector(b, 640)
	a := newAlg(b, `{`+zonesJSON+`}`)
	img := algtest.Frame(1280, 720, 30, algtest.White, head, ratStore, garbage)
	defer img.Close()
	b.Run("detect+process", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			dets := algtest.Detect(b, m, img)
			closeAll(a.Process(algorithms.Frame{Time: frameAt(i), Mat: img}, map[string][]decode.Detection{kitchen.Model: dets}).Alerts)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
	dets := algtest.Detect(b, m, img)
	b.Run("process", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			closeAll(a.Process(algorithms.Frame{Time: frameAt(i), Mat: img}, map[string][]decode.Detection{kitchen.Model: dets}).Alerts)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}
