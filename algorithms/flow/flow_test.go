package flow

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/decode"
)

func params(t *testing.T, js string) algorithms.Params {
	t.Helper()
	p, err := algorithms.ParseParams(json.RawMessage(js))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// walker is a 20×50 person whose feet start at (x, y) and move dx per frame.
type walker struct{ x, y, dx float32 }

func (w walker) at(i int) decode.Detection {
	x := w.x + w.dx*float32(i)
	return decode.Detection{Box: decode.Box{X1: x - 10, Y1: w.y - 50, X2: x + 10, Y2: w.y}, Score: 0.8, Label: Label}
}

// run feeds n frames at 5 fps on a 400×300 frame with the walkers visible on the
// frames visible(i, frame) allows, and returns every output.
func run(t *testing.T, p algorithms.Params, n int, ws []walker, visible func(w, frame int) bool) (algorithms.Output, algorithms.Algorithm) {
	t.Helper()
	a, err := New("t", p)
	if err != nil {
		t.Fatal(err)
	}
	mat := gocv.NewMatWithSize(300, 400, gocv.MatTypeCV8UC3)
	defer mat.Close()
	var out algorithms.Output
	t0 := time.Unix(0, 0)
	for i := range n {
		var dets []decode.Detection
		for j, w := range ws {
			if visible == nil || visible(j, i) {
				dets = append(dets, w.at(i))
			}
		}
		o := a.Process(algorithms.Frame{Mat: mat, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond)}, map[string][]decode.Detection{Model: dets})
		out.Alerts = append(out.Alerts, o.Alerts...)
		out.Measures = append(out.Measures, o.Measures...)
	}
	c := a.Close()
	out.Measures = append(out.Measures, c.Measures...)
	for _, al := range out.Alerts {
		al.Frame.Close()
	}
	return out, a
}

func total(ms []algorithms.Measure, name string) float64 {
	var s float64
	for _, m := range ms {
		if m.Name == name {
			s += m.Value
		}
	}
	return s
}

// Across a vertical line at x=0.5 (A above B, so "left" is towards the right of
// the screen): two people walk right, one walks left, one turns back before the
// line, one stands on it; counts per direction, over intervals of 2 s.
func TestFlowCountsLineCrossings(t *testing.T) {
	p := params(t, `{"lines":[{"name":"gate","a":[0.5,0.1],"b":[0.5,0.9]}],"options":{"interval_s":2}}`)
	ws := []walker{
		{x: 60, y: 100, dx: 8},   // right, crosses at frame ~17
		{x: 100, y: 200, dx: 6},  // right, crosses at ~17
		{x: 350, y: 150, dx: -7}, // left, crosses at ~21
		{x: 120, y: 250, dx: 3},  // stops short: hidden from frame 20 on
		{x: 200, y: 60, dx: 0},   // stands on the line
	}
	vis := func(w, f int) bool { return w != 3 || f < 20 }
	out, _ := run(t, p, 40, ws, vis)
	if got := total(out.Measures, "crossings.gate.left"); got != 2 {
		t.Errorf("towards the right: %v, want 2", got)
	}
	if got := total(out.Measures, "crossings.gate.right"); got != 1 {
		t.Errorf("towards the left: %v, want 1", got)
	}
	// 40 frames of 0.2 s in 2 s intervals: 3 closed by frames and the last by Close
	n := 0
	for _, m := range out.Measures {
		if m.Name == "crossings.gate.left" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d interval measures of crossings.gate.left, want 4", n)
	}
	// a one-way line counts only its direction
	p = params(t, `{"lines":[{"name":"in","a":[0.5,0.1],"b":[0.5,0.9],"direction":"right"}]}`)
	out, _ = run(t, p, 40, ws, vis)
	if total(out.Measures, "crossings.in.right") != 1 || total(out.Measures, "crossings.in.left") != 0 {
		t.Errorf("one-way line: %+v", out.Measures)
	}
}

// A person hidden for a second while crossing (behind a pole) is counted once.
func TestFlowCountsThroughOcclusion(t *testing.T) {
	p := params(t, `{"lines":[{"name":"gate","a":[0.5,0.1],"b":[0.5,0.9]}]}`)
	out, _ := run(t, p, 40, []walker{{x: 60, y: 150, dx: 8}}, func(_, f int) bool { return f < 14 || f > 19 })
	if got := total(out.Measures, "crossings.gate.left"); got != 1 {
		t.Fatalf("crossings %v, want 1", got)
	}
}

// Four people standing in the left zone for 3 s raise flow.crowding once (after the
// persistence of 2 s), with the density from the zone's area; the right zone with
// one person does not.
func TestFlowCrowding(t *testing.T) {
	p := params(t, `{"zones":[{"name":"west","polygon":[[0,0],[0.5,0],[0.5,1],[0,1]]},{"name":"east","polygon":[[0.5,0],[1,0],[1,1],[0.5,1]]}],
		"persistence":{"seconds":2},"options":{"crowd_count":4,"zone_area_m2":{"west":20},"interval_s":1}}`)
	ws := []walker{{x: 40, y: 100}, {x: 90, y: 150}, {x: 140, y: 200}, {x: 60, y: 260}, {x: 300, y: 150}}
	out, _ := run(t, p, 15, ws, nil)
	if len(out.Alerts) != 1 || out.Alerts[0].Zone != "west" || out.Alerts[0].Details["people"] != 4 || out.Alerts[0].Details["density_per_m2"] != 0.2 {
		t.Fatalf("alerts %+v", out.Alerts)
	}
	if at := out.Alerts[0].Time.Sub(time.Unix(0, 0)); at < 2*time.Second {
		t.Fatalf("crowding raised at %v, before it persisted 2 s", at)
	}
	var west, east, dens bool
	for _, m := range out.Measures {
		switch m.Name {
		case "people.west":
			west = west || m.Value == 4
		case "people.east":
			east = east || m.Value == 1
		case "density.west":
			dens = dens || m.Value == 0.2
		}
	}
	if !west || !east || !dens {
		t.Fatalf("occupancy measures %+v", out.Measures)
	}
}

func TestFlowOptionsNameField(t *testing.T) {
	cases := map[string]string{
		`{"options":{"interval_s":0.5},"lines":[{"name":"a","a":[0,0],"b":[1,1]}]}`:       "params.options.interval_s",
		`{"options":{"crowd_count":-1},"lines":[{"name":"a","a":[0,0],"b":[1,1]}]}`:       "params.options.crowd_count",
		`{"options":{"zone_area_m2":{"x":5}},"lines":[{"name":"a","a":[0,0],"b":[1,1]}]}`: "params.options.zone_area_m2.x",
		`{"lines":[{"name":"a","a":[0,0],"b":[1,1]},{"name":"a","a":[0,1],"b":[1,0]}]}`:   "params.lines[1].name",
		`{}`: "params.lines",
	}
	for in, field := range cases {
		p := params(t, in)
		_, err := New("t", p)
		var fe *algorithms.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v, want field %s", in, err, field)
		}
	}
	if _, ok := algorithms.Lookup(Name); !ok {
		t.Fatal("people_flow not registered")
	}
}
