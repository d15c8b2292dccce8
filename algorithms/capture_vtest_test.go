package algorithms_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/flow"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/testdata"
)

// readCSV reads a committed testdata table (lines starting with # are comments)
// without its header row.
func readCSV(t *testing.T, name string) [][]string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

// personRecords follows a capture algorithm's output as the recorder does (records
// upserted by track key) and keeps every Person record's emitted boxes.
type personRecords map[string][]decode.Box

func (r personRecords) add(cs []algorithms.Capture) {
	for _, c := range cs {
		if c.Kind == "Person" {
			r[c.TrackKey] = append(r[c.TrackKey], c.Box)
		}
		c.Frame.Close()
	}
}

// vtestLine is the counting line of docs/bench/capture.md: across the walkway near
// the left edge of vtest.avi, where people leave (and one comes in) to the west.
// Counted by hand: 4 crossings westwards ("right" of A→B, which points down) and 1
// eastwards ("left").
const vtestLine = `{"name":"west_exit","a":[0.1,0.28],"b":[0.1,0.47]}`

var vtestLineHand = map[string]float64{"crossings.west_exit.right": 4, "crossings.west_exit.left": 1}

// The measured targets on the whole of vtest.avi with the real NanoDet:
// Person records ≤ 1.2 × the hand-counted passages at 5 fps sampling and ≤ 1.5 ×
// at 2 fps, no Person record shot on the street furniture NanoDet takes for people,
// and people_flow's count on vtestLine at 5 fps within ±10 % of the hand count. The
// detector runs once on each frame either rate samples (~480 of 795).
func TestVTestCaptureAndFlow(t *testing.T) {
	passages := len(readCSV(t, "vtest-passages.csv"))
	var furniture []decode.Box
	for _, row := range readCSV(t, "vtest-furniture.csv") {
		var v [4]float32
		for i := range v {
			f, err := strconv.ParseFloat(row[1+i], 32)
			if err != nil {
				t.Fatal(err)
			}
			v[i] = float32(f)
		}
		furniture = append(furniture, decode.Box{X1: v[0], Y1: v[1], X2: v[2], Y2: v[3]})
	}
	nd := testdata.Model(t, "nanodet")
	capture, _ := algorithms.Lookup("person_vehicle_capture")
	rates := []struct {
		every int // source frames per sample (the clip is 10 fps)
		max   float64
		alg   algorithms.Algorithm
		recs  personRecords
	}{{every: 2, max: 1.2}, {every: 5, max: 1.5}}
	for i := range rates {
		a, err := capture.New("vtest", algorithms.Params{SampleFPS: 10 / float64(rates[i].every)})
		if err != nil {
			t.Fatal(err)
		}
		rates[i].alg, rates[i].recs = a, personRecords{}
	}
	flowSpec, _ := algorithms.Lookup(flow.Name)
	fp, err := algorithms.ParseParams(json.RawMessage(`{"sample_fps":5,"lines":[` + vtestLine + `],"options":{"interval_s":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	people, err := flowSpec.New("vtest-flow", fp)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	addMeasures := func(ms []algorithms.Measure) {
		for _, m := range ms {
			counts[m.Name] += m.Value
		}
	}

	vc, err := gocv.VideoCaptureFile(testdata.Media(t, "vtest.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	frames, start := 0, time.Now()
	for ; vc.Read(&m) && !m.Empty(); frames++ {
		var dets []decode.Detection
		detected := false
		for i, r := range rates {
			if frames%r.every != 0 {
				continue
			}
			if !detected { // once per frame for every run
				found, err := nd.Detect([]gocv.Mat{m})
				if err != nil {
					t.Fatal(err)
				}
				dets, detected = found[0], true
			}
			f := algorithms.Frame{StreamID: "vtest", Seq: uint64(frames), Time: t0.Add(time.Duration(frames) * 100 * time.Millisecond), Mat: m}
			rates[i].recs.add(r.alg.Process(f, map[string][]decode.Detection{"nanodet": dets}).Captures)
			if r.every == 2 {
				addMeasures(people.Process(f, map[string][]decode.Detection{flow.Model: dets}).Measures)
			}
		}
	}
	if frames < 790 {
		t.Fatalf("decoded %d frames of vtest.avi, want 795", frames)
	}
	t.Logf("%d frames in %s; %d passages counted by hand", frames, time.Since(start).Round(time.Second), passages)
	for _, r := range rates {
		fps := 10 / float64(r.every)
		r.recs.add(r.alg.Close().Captures)
		ratio := float64(len(r.recs)) / float64(passages)
		t.Logf("%g fps: %d Person records, %.2f × passages (target ≤ %.1f)", fps, len(r.recs), ratio, r.max)
		if ratio > r.max {
			t.Errorf("%g fps: %d Person records for %d passages (%.2f ×, want ≤ %.1f)", fps, len(r.recs), passages, ratio, r.max)
		}
		if float64(len(r.recs)) < 0.8*float64(passages) {
			t.Errorf("%g fps: only %d Person records for %d passages: people are being missed", fps, len(r.recs), passages)
		}
		for key, boxes := range r.recs {
			for _, b := range boxes {
				for i, fb := range furniture {
					if decode.IoU(b, fb) >= 0.5 {
						t.Errorf("%g fps: Person record %s shot on street furniture %d (%v)", fps, key, i, b)
					}
				}
			}
		}
	}
	addMeasures(people.Close().Measures)
	var got, want float64
	for name, n := range vtestLineHand {
		t.Logf("people_flow %s: %g (by hand %g)", name, counts[name], n)
		got, want = got+counts[name], want+n
	}
	if got < 0.9*want || got > 1.1*want {
		t.Errorf("people_flow counted %g crossings of west_exit, by hand %g (±10 %%)", got, want)
	}
}
