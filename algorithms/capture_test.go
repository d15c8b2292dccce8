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
	// leaves: 3 s without detections ends the track
	caps = append(caps, alg.Process(Frame{Mat: mat, Time: t0.Add(7 * time.Second)}, nil).Captures...)
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
