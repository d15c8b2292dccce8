package alert_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/alert"
	"github.com/cityeye/cityeye/algorithms/internal/algtest"
	"github.com/cityeye/cityeye/models/decode"
)

const W, H = 640, 360

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func det(label string, score, x1, y1, x2, y2 float32) decode.Detection {
	return decode.Detection{Label: label, Score: score, Box: decode.Box{X1: x1 * W, Y1: y1 * H, X2: x2 * W, Y2: y2 * H}}
}

// feed runs one frame at t0+i·200 ms with the detections of model "vendor-det".
func feed(a algorithms.Algorithm, i int, dets ...decode.Detection) []algorithms.Alert {
	m := gocv.NewMatWithSize(H, W, gocv.MatTypeCV8UC3)
	defer m.Close()
	out := a.Process(algorithms.Frame{Mat: m, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond)}, map[string][]decode.Detection{"vendor-det": dets})
	for _, al := range out.Alerts {
		al.Frame.Close()
	}
	return out.Alerts
}

// Issue 23 item 4: a detector's labels become alert kinds by configuration alone,
// under the shared rules: zones, persistence, min_score, min_count with escalating
// levels, cooldown; a second-stage verdict on a crop triggers like a label.
func TestDetectorAlertRules(t *testing.T) {
	a := algtest.NewAlgorithm(t, alert.Name, `{"zones":[{"name":"street","polygon":[[0,0],[0.5,0],[0.5,1],[0,1]]}],
		"options":{"model":"vendor-det","rules":[
		{"kind":"city.garbage_overflow","labels":["garbage_overflow"],"min_score":0.6,"persistence":{"frames":2,"of":3},
		 "levels":[{"min_count":2,"level":3}],"cooldown_seconds":60},
		{"kind":"kitchen.no_hat","labels":["hat:head_no_hat"],"level":1}]}}`)
	if m := a.Models(); len(m) != 1 || m[0] != "vendor-det" {
		t.Fatalf("models %v", m)
	}
	garbage := det("garbage_overflow", 0.9, 0.1, 0.5, 0.2, 0.7)
	weak := det("garbage_overflow", 0.5, 0.1, 0.5, 0.2, 0.7)
	outside := det("garbage_overflow", 0.9, 0.7, 0.5, 0.8, 0.7) // in no zone
	if got := feed(a, 0, garbage, outside); len(got) != 0 {
		t.Fatalf("1 of 3 frames: %v", got)
	}
	got := feed(a, 1, garbage, weak, outside)
	if len(got) != 1 || got[0].Kind != "city.garbage_overflow" || got[0].Zone != "street" || got[0].Level != 2 || len(got[0].Boxes) != 1 {
		t.Fatalf("2 of 3 frames: %+v", got)
	}
	if got := feed(a, 2, garbage, garbage); len(got) != 0 {
		t.Fatalf("inside the cooldown: %v", got)
	}
	if got := feed(a, 400, garbage, garbage); len(got) != 0 {
		t.Fatalf("after a pause of over a minute persistence starts afresh: %+v", got)
	}
	if got := feed(a, 401, garbage, garbage); len(got) != 1 || got[0].Level != 3 {
		t.Fatalf("after the cooldown, two at once: %+v", got)
	}
	head := det("person", 0.9, 0.1, 0.1, 0.2, 0.5)
	if got := feed(a, 402, head); len(got) != 0 {
		t.Fatalf("a person without a verdict: %v", got)
	}
	head.Stage2 = map[string]decode.Stage2{"hat": {Classes: []decode.Class{{Label: "head_no_hat", Score: 0.8}}}}
	if got := feed(a, 403, head); len(got) != 1 || got[0].Kind != "kitchen.no_hat" || got[0].Level != 1 {
		t.Fatalf("a no-hat verdict on the head crop: %+v", got)
	}
}

// Without rules every label the model reports is a kind of its own.
func TestDetectorAlertEveryLabel(t *testing.T) {
	a := algtest.NewAlgorithm(t, alert.Name, `{"options":{"model":"vendor-det"}}`)
	got := feed(a, 0, det("smoking", 0.7, 0.1, 0.1, 0.2, 0.3), det("phone_use", 0.8, 0.5, 0.1, 0.6, 0.3), det("smoking", 0.3, 0.1, 0.5, 0.2, 0.6))
	kinds := map[string]int{}
	for _, al := range got {
		kinds[al.Kind] += len(al.Boxes)
	}
	if len(got) != 2 || kinds["vendor-det.smoking"] != 1 || kinds["vendor-det.phone_use"] != 1 {
		t.Fatalf("alerts %v", kinds)
	}
}

// Tripwire rules: a tracked object crossing the line in its direction raises it once.
func TestDetectorAlertTripwire(t *testing.T) {
	a := algtest.NewAlgorithm(t, alert.Name, `{"sample_fps":5,"lines":[{"name":"stop","a":[0.5,0],"b":[0.5,1],"direction":"any"}],
		"options":{"model":"vendor-det","rules":[{"kind":"traffic.wrong_way","labels":["car"],"lines":["stop"],"cooldown_seconds":1}]}}`)
	var alerts []algorithms.Alert
	for i := 0; i < 20; i++ {
		x := 0.2 + 0.03*float32(i)
		alerts = append(alerts, feed(a, i, det("car", 0.9, x, 0.4, x+0.1, 0.6))...)
	}
	if len(alerts) != 1 || alerts[0].Kind != "traffic.wrong_way" {
		t.Fatalf("one crossing: %+v", alerts)
	}
}

// Bad options name the field.
func TestDetectorAlertOptions(t *testing.T) {
	for _, c := range []struct{ options, field string }{
		{`{}`, "params.options.model"},
		{`{"model":"d","rules":[{"kind":"x.y"}]}`, "params.options.rules[0].labels"},
		{`{"model":"d","rules":[{"kind":"Bad Kind","labels":["a"]}]}`, "params.options.rules[0].kind"},
		{`{"model":"d","rules":[{"labels":["a"],"zones":["nowhere"]}]}`, "params.options.rules[0].zones[0]"},
		{`{"model":"d","rules":[{"labels":["a"],"lines":["l"]}]}`, "params.options.rules[0].lines[0]"},
		{`{"model":"d","rules":[{"labels":["a"],"level":7}]}`, "params.options.rules[0].level"},
		{`{"model":"d","colour":1}`, "params.options"},
	} {
		p, err := algorithms.ParseParams(json.RawMessage(`{"options":` + c.options + `}`))
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := algorithms.Lookup(alert.Name)
		_, err = spec.New("t", p)
		var fe *algorithms.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want a FieldError on %s", c.options, err, c.field)
		}
	}
}
