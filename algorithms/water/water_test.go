package water_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/internal/algtest"
	"github.com/cityeye/cityeye/algorithms/water"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/workers"
)

const W, H, In = 640, 360, 320

// The test detector reports water in horizontal strips 0.025 high from y=0.45 to
// 0.95, in two columns: x 0.30–0.50 (at the gauge, inside the zone) and 0.75–0.95
// (outside it). A strip is water when it is painted: the highest painted strip's top
// edge is the water line, within one strip (6.25 cm with the gauge below).
func detector(t testing.TB, in int) *models.Model {
	var regions []algtest.Region
	for _, col := range [][2]float64{{0.30, 0.50}, {0.75, 0.95}} {
		for y := 0.45; y < 0.949; y += 0.025 {
			regions = append(regions, algtest.Region{Label: water.Label, Box: algtest.Rect{col[0], y, col[1], y + 0.025}})
		}
	}
	regions = append(regions, algtest.Region{Label: "car", Box: algtest.Rect{0.05, 0.05, 0.2, 0.2}})
	return algtest.Detector(t, water.Model, []string{"car", water.Label}, regions, in, in)
}

// gauge: 0 cm at y=0.9, 100 cm at y=0.5, so cm = (0.9-y)*250
const gauge = `"gauge":{"zero_y":0.9,"ref_y":0.5,"ref_cm":100}`

func cm(y float64) float64 { return (0.9 - y) * 250 }

func newAlg(t testing.TB, params string) algorithms.Algorithm {
	t.Helper()
	a := algtest.NewAlgorithm(t, water.Name, params)
	return a
}

// TestRisingWater: water at the gauge rises from 12.5 cm to 62.5 cm between 60 s and
// 180 s (25 cm/min) while water outside the zone stands at 112 cm. The measures
// follow the gauge water only and rise; water.level (level 2) fires 30 s after the
// level passed alert_cm (30), level 3 30 s after it passed critical_cm (60), with the
// level and the rise rate in the details, and nothing more inside the cooldown.
func TestRisingWater(t *testing.T) {
	m := detector(t, In)
	a := newAlg(t, `{"sample_fps":1,"zones":[{"name":"gauge","polygon":[[0.25,0],[0.55,0],[0.55,1],[0.25,1]]}],
		"options":{`+gauge+`,"alert_cm":30,"critical_cm":60,"rate_window_s":60}}`)
	t0 := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
	waterY := func(s int) float64 {
		switch {
		case s < 60:
			return 0.85
		case s < 180:
			return 0.85 - 0.2*float64(s-60)/120
		}
		return 0.65
	}
	// a second instance that records every frame's (smoothed) level tells exactly
	// when the level was above the thresholds
	fine := newAlg(t, `{"sample_fps":1,"zones":[{"name":"gauge","polygon":[[0.25,0],[0.55,0],[0.55,1],[0.25,1]]}],
		"options":{`+gauge+`,"alert_cm":30,"critical_cm":60,"rate_window_s":60,"measure_every_s":0}}`)
	var measures, levels []algorithms.Measure
	var alerts []algorithms.Alert
	for s := 0; s < 260; s++ {
		tm := t0.Add(time.Duration(s) * time.Second)
		y := waterY(s)
		img := algtest.Frame(W, H, 30, algtest.White, algtest.Rect{0.30, y, 0.50, 0.95}, algtest.Rect{0.75, 0.45, 0.95, 0.95})
		dets := map[string][]decode.Detection{water.Model: algtest.Detect(t, m, img)}
		out := a.Process(algorithms.Frame{Time: tm, Mat: img}, dets)
		out2 := fine.Process(algorithms.Frame{Time: tm, Mat: img}, dets)
		img.Close()
		measures = append(measures, out.Measures...)
		alerts = append(alerts, out.Alerts...)
		levels = append(levels, out2.Measures...)
		for _, a := range out2.Alerts {
			a.Frame.Close()
		}
	}
	// expected: the first frame at which the level has been above the threshold on
	// every frame of the last 30 s
	persisted := func(threshold float64) time.Time {
		var since time.Time
		for _, l := range levels {
			switch {
			case l.Value <= threshold:
				since = time.Time{}
			case since.IsZero():
				since = l.Time
			}
			if !since.IsZero() && l.Time.Sub(since) >= 30*time.Second {
				return l.Time
			}
		}
		return time.Time{}
	}
	// one measure per 10 s, following the gauge water (not the 112 cm outside)
	if len(measures) != 26 {
		t.Fatalf("%d measures in 260 s, want 26", len(measures))
	}
	for i, ms := range measures {
		want := cm(waterY(int(ms.Time.Sub(t0).Seconds())))
		if ms.Name != water.MeasureName || ms.Unit != "cm" || math.Abs(ms.Value-want) > 13 {
			t.Errorf("measure %d at %s: %s %.1f %s, want about %.1f", i, ms.Time.Sub(t0), ms.Name, ms.Value, ms.Unit, want)
		}
		if i > 0 && ms.Value < measures[i-1].Value-0.01 {
			t.Errorf("measure %d fell: %.1f after %.1f", i, ms.Value, measures[i-1].Value)
		}
	}
	if first, last := measures[0].Value, measures[len(measures)-1].Value; first > 20 || last < 55 {
		t.Fatalf("measures go from %.1f to %.1f, want a rise from ~12.5 to ~62.5", first, last)
	}
	if len(alerts) != 2 {
		t.Fatalf("%d alerts, want level 2 then level 3", len(alerts))
	}
	warn, crit := alerts[0], alerts[1]
	if warn.Kind != water.AlertKind || warn.Level != 2 || warn.Zone != "gauge" || crit.Level != 3 {
		t.Fatalf("alerts %s/%d/%q, %s/%d", warn.Kind, warn.Level, warn.Zone, crit.Kind, crit.Level)
	}
	if want := persisted(30); !warn.Time.Equal(want) {
		t.Fatalf("level-2 alert at %s, want %s (30 s after the level passed 30 cm)", warn.Time.Sub(t0), want.Sub(t0))
	}
	if want := persisted(60); !crit.Time.Equal(want) {
		t.Fatalf("level-3 alert at %s, want %s (30 s after the level passed 60 cm)", crit.Time.Sub(t0), want.Sub(t0))
	}
	// the true level passed 30 cm at 108 s and 60 cm at 174 s; the readings lag by
	// the smoothing and lead by up to one strip
	if d := warn.Time.Sub(t0); d < 125*time.Second || d > 145*time.Second {
		t.Fatalf("level-2 alert at %s", d)
	}
	lvl, _ := warn.Details["level_cm"].(float64)
	rate, _ := warn.Details["rise_cm_per_min"].(float64)
	if lvl <= 30 || lvl > 60 || math.Abs(rate-25) > 5 {
		t.Fatalf("details %v: want a level above 30 cm rising about 25 cm/min", warn.Details)
	}
	if r, _ := crit.Details["rise_cm_per_min"].(float64); r > 25 {
		t.Fatalf("level-3 details %v: the rise has slowed (steady since 180 s)", crit.Details)
	}
	// the box is the water line at the gauge, drawn red on the snapshot
	if len(warn.Boxes) != 1 || warn.Boxes[0].Box.X1 > 0.31*W || warn.Boxes[0].Box.X2 < 0.49*W {
		t.Fatalf("boxes %+v, want the gauge water strip", warn.Boxes)
	}
	b := warn.Boxes[0].Box
	snap := warn.Frame.Clone()
	defer snap.Close()
	workers.DrawBoxes(&snap, warn.Boxes)
	if px := algtest.BGR(snap, int(b.X1), int(b.Y1+b.Y2)/2); px != [3]uint8{0, 0, 255} {
		t.Fatalf("snapshot at the box edge is %v, want red", px)
	}
}

// TestPersistenceResetsAndMeasureEveryFrame: a level above the threshold for 25 s,
// one dip, then 25 s again raises nothing (30 s unbroken needed); measure_every_s 0
// records every frame. Detections are given directly (the decoder path is covered
// above); water outside the ROI does not count.
func TestPersistenceResetsAndMeasureEveryFrame(t *testing.T) {
	a := newAlg(t, `{"sample_fps":1,"roi":[[0.25,0],[0.55,0],[0.55,1],[0.25,1]],"options":{`+gauge+`,"alert_cm":30,"measure_every_s":0}}`)
	mat := algtest.Frame(W, H, 30, algtest.White)
	defer mat.Close()
	box := func(x1, y, x2 float64) decode.Detection {
		return decode.Detection{Label: water.Label, Score: 0.9, Box: decode.Box{X1: float32(x1 * W), Y1: float32(y * H), X2: float32(x2 * W), Y2: float32(0.95 * H)}}
	}
	t0 := time.Unix(1_700_000_000, 0)
	for s := 0; s < 57; s++ {
		dets := []decode.Detection{box(0.7, 0.3, 0.9)} // 150 cm, outside the ROI
		// 50 cm except for 5 frames at 20 s (the median of 5 needs 3 low frames to dip)
		if s < 20 || s >= 25 {
			dets = append(dets, box(0.3, 0.7, 0.5))
		} else {
			dets = append(dets, box(0.3, 0.85, 0.5))
		}
		out := a.Process(algorithms.Frame{Time: t0.Add(time.Duration(s) * time.Second), Mat: mat}, map[string][]decode.Detection{water.Model: dets})
		if len(out.Alerts) > 0 {
			t.Fatalf("alert at %d s: the level dipped at 20 s", s)
		}
		if len(out.Measures) != 1 || out.Measures[0].Value > 50.01 {
			t.Fatalf("frame %d: measures %+v", s, out.Measures)
		}
	}
	// 30 s unbroken since the dip ended (the median of 5 is back up at 27 s): fires at 57 s
	out := a.Process(algorithms.Frame{Time: t0.Add(57 * time.Second), Mat: mat}, map[string][]decode.Detection{water.Model: {box(0.3, 0.7, 0.5)}})
	if len(out.Alerts) != 1 || out.Alerts[0].Zone != "" {
		t.Fatalf("after 30 s unbroken: %+v", out.Alerts)
	}
	out.Alerts[0].Frame.Close()
	// the water drains away: 0 cm once most of the last 5 frames see none
	var got []float64
	for s := 58; s < 63; s++ {
		out = a.Process(algorithms.Frame{Time: t0.Add(time.Duration(s) * time.Second), Mat: mat}, nil)
		got = append(got, out.Measures[0].Value)
	}
	if got[1] != 50 || got[2] != 0 || got[4] != 0 {
		t.Fatalf("levels %v while draining, want 50 50 0 0 0", got)
	}
}

// TestEscalationAndCooldown: a level-2 alert, then the water rises past critical_cm
// and a level 3 follows inside the level-2 cooldown; as it recedes below critical,
// no level 2 is raised inside the level-3 cooldown; each repeats after 10 min.
func TestEscalationAndCooldown(t *testing.T) {
	a := newAlg(t, `{"sample_fps":1,"options":{`+gauge+`,"alert_cm":30,"critical_cm":60}}`)
	mat := algtest.Frame(W, H, 30, algtest.White)
	defer mat.Close()
	at := func(y float64) []decode.Detection {
		return []decode.Detection{{Label: water.Label, Score: 0.9, Box: decode.Box{X1: 100, Y1: float32(y * H), X2: 300, Y2: 0.95 * H}}}
	}
	t0 := time.Unix(1_700_000_000, 0)
	type ev struct {
		s, level int
	}
	var got []ev
	for s := 0; s < 1500; s++ {
		y := 0.7 // 50 cm
		switch {
		case s >= 100 && s < 400:
			y = 0.6 // 75 cm
		case s >= 1200:
			y = 0.85 // 12.5 cm: below both
		}
		out := a.Process(algorithms.Frame{Time: t0.Add(time.Duration(s) * time.Second), Mat: mat}, map[string][]decode.Detection{water.Model: at(y)})
		for _, al := range out.Alerts {
			got = append(got, ev{s, al.Level})
			al.Frame.Close()
		}
	}
	// 30: level 2. 102 (median up) + 30 = 132: level 3. Back to 50 cm at 402; no
	// level 2 until 10 min after the level 3 (732), the level-2 cooldown ended at 630.
	// Next level 2 at 732; 1200: gone.
	want := []ev{{30, 2}, {132, 3}, {732, 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("alerts (second, level) %v, want %v", got, want)
	}
}

func TestOptions(t *testing.T) {
	spec, _ := algorithms.Lookup(water.Name)
	for in, field := range map[string]string{
		``:                                   "params.options.gauge",
		`{"alert_cm":30}`:                    "params.options.gauge",
		`{"gauge":{"ref_y":0.5,"ref_cm":1}}`: "params.options.gauge.zero_y",
		`{"gauge":{"zero_y":0.9,"ref_y":1.5,"ref_cm":100},"alert_cm":30}`: "params.options.gauge.ref_y",
		`{"gauge":{"zero_y":0.9,"ref_y":0.9,"ref_cm":100},"alert_cm":30}`: "params.options.gauge.ref_y",
		`{"gauge":{"zero_y":0.9,"ref_y":0.5,"ref_cm":0},"alert_cm":30}`:   "params.options.gauge.ref_cm",
		`{` + gauge + `}`: "params.options.alert_cm",
		`{` + gauge + `,"alert_cm":30,"critical_cm":20}`:     "params.options.critical_cm",
		`{` + gauge + `,"alert_cm":30,"measure_every_s":-1}`: "params.options.measure_every_s",
		`{` + gauge + `,"alert_cm":30,"rate_window_s":5}`:    "params.options.rate_window_s",
		`{` + gauge + `,"alert_cm":30,"bogus":1}`:            "params.options",
	} {
		_, err := spec.New("t", algorithms.Params{SampleFPS: 1, Options: json.RawMessage(in)})
		var fe *algorithms.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want field %s", in, err, field)
		}
	}
	o, err := water.ParseOptions(json.RawMessage(`{` + gauge + `,"alert_cm":30}`))
	if err != nil || *o.MeasureEveryS != 10 || o.RateWindowS != 300 || math.Abs(o.Gauge.CM(0.7)-50) > 1e-9 {
		t.Fatalf("%+v %v", o, err)
	}
}

// BenchmarkWaterlogging: one 1280×720 frame through the 640×640 test detector (42
// candidate boxes, YOLO decoding and NMS) and Process, on one core.
func BenchmarkWaterlogging(b *testing.B) {
	m := detector(b, 640)
	a := newAlg(b, `{"zones":[{"name":"gauge","polygon":[[0.25,0],[0.55,0],[0.55,1],[0.25,1]]}],"options":{`+gauge+`,"alert_cm":30}}`)
	img := algtest.Frame(1280, 720, 30, algtest.White, algtest.Rect{0.30, 0.7, 0.50, 0.95})
	defer img.Close()
	t0 := time.Unix(0, 0)
	step := func(i int, dets []decode.Detection) {
		out := a.Process(algorithms.Frame{Time: t0.Add(time.Duration(i) * 200 * time.Millisecond), Mat: img}, map[string][]decode.Detection{water.Model: dets})
		for _, al := range out.Alerts {
			al.Frame.Close()
		}
	}
	b.Run("detect+process", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			step(i, algtest.Detect(b, m, img))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
	dets := algtest.Detect(b, m, img)
	if len(dets) < 10 {
		b.Fatalf("%d detections", len(dets))
	}
	b.Run("process", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			step(i, dets)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}
