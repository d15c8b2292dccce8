package algorithms

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

func person(x, size, score float32) decode.Detection {
	return decode.Detection{Box: decode.Box{X1: x, Y1: 50, X2: x + size, Y2: 50 + 2*size}, Score: score, Label: "person"}
}

func TestCaptureOneRecordPerTrack(t *testing.T) {
	spec, _ := Lookup("person_vehicle_capture")
	alg, err := spec.New("task1", Params{SampleFPS: 5})
	if err != nil {
		t.Fatal(err)
	}
	mat := gocv.NewMatWithSize(300, 400, gocv.MatTypeCV8UC3)
	defer mat.Close()
	t0 := time.Unix(1000, 0)
	var caps []Capture
	// a person walks right for 20 frames (5 fps), growing; a one-frame false detection at frame 5
	for i := 0; i < 20; i++ {
		dets := []decode.Detection{person(float32(10+4*i), float32(30+i), 0.8)}
		if i == 5 {
			dets = append(dets, person(300, 40, 0.9))
		}
		caps = append(caps, alg.Process(Frame{Mat: mat, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond)}, map[string][]decode.Detection{"nanodet": dets}).Captures...)
	}
	// leaves: more than the tracker's lost buffer (5 s) without detections ends the track
	caps = append(caps, alg.Process(Frame{Mat: mat, Time: t0.Add(10 * time.Second)}, nil).Captures...)
	if len(caps) < 2 {
		t.Fatalf("got %d captures, want a first one and a final one", len(caps))
	}
	key := caps[0].TrackKey
	for i, c := range caps {
		if c.TrackKey != key || c.Kind != "Person" {
			t.Fatalf("capture %d belongs to %s (%s); the false detection or a second track leaked", i, c.TrackKey, c.Kind)
		}
		if c.Frame.Empty() {
			t.Fatal("capture without frame")
		}
		c.Frame.Close()
	}
	last := caps[len(caps)-1]
	if !last.Final || last.Disappear.IsZero() || !last.Appear.Equal(t0) {
		t.Fatalf("final capture %+v", last)
	}
	// updates are throttled to one per 2 s: 4 s of track → create + ≤2 updates + final
	if len(caps) > 4 {
		t.Fatalf("%d captures for one object: not throttled", len(caps))
	}
	if last.Box.W() < 45 { // the best (largest) view wins
		t.Fatalf("best box %v is not the largest view", last.Box)
	}
}

func TestCaptureROIAndThreshold(t *testing.T) {
	spec, _ := Lookup("person_vehicle_capture")
	p, err := ParseParams(json.RawMessage(`{"roi":[[0,0],[0.5,0],[0.5,1],[0,1]],"thresholds":{"score":0.6}}`))
	if err != nil {
		t.Fatal(err)
	}
	alg, _ := spec.New("t", p)
	mat := gocv.NewMatWithSize(300, 400, gocv.MatTypeCV8UC3)
	defer mat.Close()
	t0 := time.Unix(0, 0)
	for i := 0; i < 5; i++ {
		dets := []decode.Detection{person(300, 40, 0.9), person(20, 40, 0.5)} // right half: outside ROI; left: below threshold
		if c := alg.Process(Frame{Mat: mat, Time: t0.Add(time.Duration(i) * time.Second / 5)}, map[string][]decode.Detection{"nanodet": dets}).Captures; len(c) != 0 {
			t.Fatalf("captured %+v", c)
		}
	}
	if c := alg.Close().Captures; len(c) != 0 {
		t.Fatalf("close captured %d", len(c))
	}
}

func TestParseParamsNamesField(t *testing.T) {
	cases := map[string]string{
		`{"sample_fps":0}`:                       "params.sample_fps",
		`{"roi":[[0,0],[1,1]]}`:                  "params.roi",
		`{"roi":[[0,0],[2,0],[1,1]]}`:            "params.roi[1]",
		`{"roi":[[0,0],[0.5,0.5],[1,1]]}`:        "params.roi",
		`{"thresholds":{"score":1.5}}`:           "params.thresholds.score",
		`{"thresholds":{"speed":1}}`:             "params.thresholds.speed",
		`{"schedule":{"start":"8am","end":"x"}}`: "params.schedule.start",
		`{"bogus":1}`:                            "params",
	}
	for in, field := range cases {
		_, err := ParseParams(json.RawMessage(in))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v, want field %s", in, err, field)
		}
	}
	p, err := ParseParams(json.RawMessage(`{"schedule":{"start":"22:00","end":"06:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Active(time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)) || p.Active(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatal("overnight schedule")
	}
}

// runPerson feeds one detection per frame (5 fps) from at(i) for n frames, then
// lets the track end, and returns the captures (frames closed).
func runPerson(t *testing.T, p Params, n int, at func(i int) decode.Detection) []Capture {
	t.Helper()
	spec, _ := Lookup("person_vehicle_capture")
	alg, err := spec.New("t", p)
	if err != nil {
		t.Fatal(err)
	}
	mat := gocv.NewMatWithSize(300, 400, gocv.MatTypeCV8UC3)
	defer mat.Close()
	t0 := time.Unix(0, 0)
	var caps []Capture
	for i := range n {
		caps = append(caps, alg.Process(Frame{Mat: mat, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond)}, map[string][]decode.Detection{"nanodet": {at(i)}}).Captures...)
	}
	caps = append(caps, alg.Close().Captures...)
	for _, c := range caps {
		c.Frame.Close()
	}
	return caps
}

// A cone the detector calls a person with a high score for a whole minute never
// moves: no record. The same detections walking 3 px per frame are recorded.
func TestCaptureSuppressesStaticPerson(t *testing.T) {
	p := Params{SampleFPS: 5}
	if caps := runPerson(t, p, 300, func(i int) decode.Detection { return person(100+float32(i%2), 20, 0.8) }); len(caps) != 0 {
		t.Fatalf("a still 'person' was recorded %d times", len(caps))
	}
	caps := runPerson(t, p, 30, func(i int) decode.Detection { return person(50+3*float32(i), 20, 0.8) })
	if len(caps) == 0 || caps[0].Kind != "Person" {
		t.Fatalf("a walking person was not recorded: %d captures", len(caps))
	}
	// the frame is black: so are the clothes (ClothingColors on the best shot)
	if a := caps[0].Attributes; a[AttrCoatColor] != ColorBlack || a[AttrTrousersColor] != ColorBlack {
		t.Fatalf("clothing attributes %v", a)
	}
	// swaying on the spot (a tree in the wind, a flag) by a third of its height is not moving
	if caps := runPerson(t, p, 300, func(i int) decode.Detection { return person(100+float32(i%3)*6, 20, 0.8) }); len(caps) != 0 {
		t.Fatalf("a swaying 'person' was recorded %d times", len(caps))
	}
}

// A task's per-class minimum ("score.person") holds a track back until one of its
// detections reaches it; the default for people is 0.5 even when the task's score
// threshold is lower.
func TestCaptureClassScore(t *testing.T) {
	walk := func(score float32) func(int) decode.Detection {
		return func(i int) decode.Detection { return person(50+4*float32(i), 20, score) }
	}
	p, err := ParseParams([]byte(`{"thresholds":{"score.person":0.7}}`))
	if err != nil {
		t.Fatal(err)
	}
	if caps := runPerson(t, p, 30, walk(0.65)); len(caps) != 0 {
		t.Fatalf("a person track peaking at 0.65 recorded under score.person 0.7")
	}
	if caps := runPerson(t, p, 30, walk(0.75)); len(caps) == 0 {
		t.Fatalf("a person track at 0.75 not recorded under score.person 0.7")
	}
	low := Params{SampleFPS: 5, Thresholds: map[string]float64{"score": 0.3}}
	c := newVehicleCapture("t", low)
	if got := c.classScore("person"); got != 0.5 {
		t.Fatalf("default person minimum %.2f, want 0.5", got)
	}
	if got := c.classScore("car"); got != 0.3 {
		t.Fatalf("car minimum %.2f, want the task's 0.3", got)
	}
	if _, err := ParseParams([]byte(`{"thresholds":{"score.person":1.5}}`)); err == nil {
		t.Fatal("score.person 1.5 accepted")
	}
}

// A person walking into the ROI keeps one track (one record) and its best shot is
// taken inside the ROI, even where a larger view outside it came first.
func TestCaptureROIEntry(t *testing.T) {
	p, err := ParseParams([]byte(`{"roi":[[0.5,0],[1,0],[1,1],[0.5,1]]}`))
	if err != nil {
		t.Fatal(err)
	}
	// walks right from x=100 to x=316, shrinking: the largest boxes are outside
	caps := runPerson(t, p, 28, func(i int) decode.Detection { return person(100+8*float32(i), 40-float32(i)/2, 0.8) })
	if len(caps) == 0 {
		t.Fatal("no record")
	}
	for _, c := range caps {
		if c.TrackKey != caps[0].TrackKey {
			t.Fatalf("two records for one person crossing the ROI's border")
		}
		if cx := (c.Box.X1 + c.Box.X2) / 2; cx < 200 {
			t.Fatalf("best shot at x=%.0f, outside the ROI", cx)
		}
	}
}
