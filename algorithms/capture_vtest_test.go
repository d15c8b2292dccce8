package algorithms

import (
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

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

func (r personRecords) add(cs []Capture) {
	for _, c := range cs {
		if c.Kind == "Person" {
			r[c.TrackKey] = append(r[c.TrackKey], c.Box)
		}
		c.Frame.Close()
	}
}

// The measured targets on the whole of vtest.avi with the real NanoDet:
// Person records ≤ 1.2 × the hand-counted passages at 5 fps sampling and ≤ 1.5 ×
// at 2 fps, and no Person record shot on the street furniture NanoDet takes for
// people. The detector runs once on each frame either rate samples (~480 of 795).
func TestPersonCaptureVTest(t *testing.T) {
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
	spec, _ := Lookup("person_vehicle_capture")
	rates := []struct {
		every int // source frames per sample (the clip is 10 fps)
		max   float64
		alg   Algorithm
		recs  personRecords
	}{{every: 2, max: 1.2}, {every: 5, max: 1.5}}
	for i := range rates {
		a, err := spec.New("vtest", Params{SampleFPS: 10 / float64(rates[i].every)})
		if err != nil {
			t.Fatal(err)
		}
		rates[i].alg, rates[i].recs = a, personRecords{}
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
			if !detected { // once per frame for both rates
				found, err := nd.Detect([]gocv.Mat{m})
				if err != nil {
					t.Fatal(err)
				}
				dets, detected = found[0], true
			}
			f := Frame{StreamID: "vtest", Seq: uint64(frames), Time: t0.Add(time.Duration(frames) * 100 * time.Millisecond), Mat: m}
			rates[i].recs.add(r.alg.Process(f, map[string][]decode.Detection{"nanodet": dets}).Captures)
		}
	}
	if frames < 790 {
		t.Fatalf("decoded %d frames of vtest.avi, want 795", frames)
	}
	t.Logf("%d frames in %s; %d passages counted by hand", frames, time.Since(start).Round(time.Second), passages)
	for _, r := range rates {
		r.recs.add(r.alg.Close().Captures)
		ratio := float64(len(r.recs)) / float64(passages)
		t.Logf("%g fps: %d Person records, %.2f × passages (target ≤ %.1f)", 10/float64(r.every), len(r.recs), ratio, r.max)
		if ratio > r.max {
			t.Errorf("%g fps: %d Person records for %d passages (%.2f ×, want ≤ %.1f)", 10/float64(r.every), len(r.recs), passages, ratio, r.max)
		}
		if float64(len(r.recs)) < 0.8*float64(passages) {
			t.Errorf("%g fps: only %d Person records for %d passages: people are being missed", 10/float64(r.every), len(r.recs), passages)
		}
		for key, boxes := range r.recs {
			for _, b := range boxes {
				for i, fb := range furniture {
					if decode.IoU(b, fb) >= 0.5 {
						t.Errorf("%g fps: Person record %s shot on street furniture %d (%v)", 10/float64(r.every), key, i, b)
					}
				}
			}
		}
	}
}
