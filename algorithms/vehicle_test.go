package algorithms

import (
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/testdata"
)

// syntheticPlate draws a 440×140 plate of colour bg (a white-to-bg gradient from top
// to bottom when gradient is set, as new-energy plates are) with "B 12345" in fg on
// a mid-grey 600×300 image, and returns the image and the text's box.
func syntheticPlate(bg, fg color.RGBA, gradient bool) (gocv.Mat, decode.Box) {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 300, 600, gocv.MatTypeCV8UC3)
	plate := image.Rect(80, 80, 520, 220)
	if gradient {
		for y := plate.Min.Y; y < plate.Max.Y; y++ {
			a := float64(y-plate.Min.Y) / float64(plate.Dy())
			mix := func(c uint8) uint8 { return uint8(235*(1-a) + float64(c)*a) }
			gocv.Line(&img, image.Pt(plate.Min.X, y), image.Pt(plate.Max.X-1, y), color.RGBA{mix(bg.R), mix(bg.G), mix(bg.B), 0}, 1)
		}
	} else {
		gocv.Rectangle(&img, plate, bg, -1)
	}
	gocv.PutText(&img, "B 12345", image.Pt(110, 185), gocv.FontHersheySimplex, 2.6, fg, 9)
	return img, decode.Box{X1: 100, Y1: 105, X2: 500, Y2: 195}
}

var (
	white = color.RGBA{245, 245, 245, 0}
	black = color.RGBA{15, 15, 15, 0}
)

// Plate colours on synthetic plates of every mainland colour scheme (Hershey fonts
// draw no Chinese, so the characters are ASCII: only the colour is tested here).
func TestPlateColorSynthetic(t *testing.T) {
	cases := []struct {
		name     string
		bg, fg   color.RGBA
		gradient bool
		want     string
	}{
		{"blue, white characters (small vehicle)", color.RGBA{10, 60, 200, 0}, white, false, ColorBlue},
		{"yellow, black characters (large vehicle)", color.RGBA{250, 200, 0, 0}, black, false, ColorYellow},
		{"gradient green, black characters (new energy)", color.RGBA{40, 190, 90, 0}, black, true, ColorGreen},
		{"white, black characters (police)", white, black, false, ColorWhite},
		{"black, white characters (foreign)", color.RGBA{20, 20, 20, 0}, white, false, ColorBlack},
	}
	for _, c := range cases {
		img, box := syntheticPlate(c.bg, c.fg, c.gradient)
		if got := PlateColor(img, box); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		img.Close()
	}
	grey := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 100, 300, gocv.MatTypeCV8UC3)
	defer grey.Close()
	if got := PlateColor(grey, decode.Box{X1: 10, Y1: 10, X2: 290, Y2: 90}); got != "" {
		t.Errorf("a grey smudge classified as %q", got)
	}
}

// Real OCR on the real car photos: none shows a mainland plate (car1 and car2 are
// side views; licenseplate_motion.jpg is a US-style white plate blurred by motion),
// so whatever OCR reads must be rejected by the format check and never become a
// plate. On a synthetic blue plate OCR does read the characters (ASCII only: no
// province), and those are rejected too, while the colour at OCR's box is blue.
func TestPlateOCRRejectsNonMainlandText(t *testing.T) {
	nd := testdata.Model(t, "nanodet")
	run := &testRunner{rd: openOCR(t)}
	crops := map[string]gocv.Mat{}
	for _, name := range []string{"car1.jpg", "car2.jpg", "licenseplate_motion.jpg"} {
		img := readImage(t, name)
		found, err := nd.Detect([]gocv.Mat{img})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range found[0] {
			if d.Label != "car" {
				continue
			}
			n++
			r := boxRect(d.Box).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
			crops[name+" vehicle"] = img.Region(r)
		}
		if n == 0 {
			t.Fatalf("%s: no car detected", name)
		}
	}
	lp := readImage(t, "licenseplate_motion.jpg")
	crops["licenseplate_motion.jpg plate"] = lp.Region(image.Rect(200, 210, 380, 310)) // the plate, found by eye
	for name, crop := range crops {
		lines, err := run.ReadText(crop)
		if err != nil {
			t.Fatal(err)
		}
		var read []string
		for _, l := range lines {
			read = append(read, l.Text)
		}
		t.Logf("%s: OCR read %q", name, read)
		if c := PlateCandidates(lines); len(c) != 0 {
			t.Errorf("%s: %+v accepted as a plate", name, c)
		}
		crop.Close()
	}
	img, _ := syntheticPlate(color.RGBA{10, 60, 200, 0}, white, false)
	defer img.Close()
	lines, err := run.ReadText(img)
	if err != nil {
		t.Fatal(err)
	}
	var hit *TextLine
	for i, l := range lines {
		if strings.Contains(NormalizePlate(l.Text), "12345") {
			hit = &lines[i]
		}
	}
	if hit == nil {
		t.Fatalf("OCR did not read the synthetic plate: %+v", lines)
	}
	t.Logf("synthetic blue plate: OCR read %q (%.2f) at %v", hit.Text, hit.Score, hit.Box)
	if c := PlateCandidates(lines); len(c) != 0 {
		t.Errorf("a plate without province accepted: %+v", c)
	}
	if got := PlateColor(img, hit.Box); got != ColorBlue {
		t.Errorf("colour at OCR's box: %q", got)
	}
}

// Body colours of the real cars, on the detector's boxes: car1.jpg is a black sedan,
// car2.jpg a silver sedan with a blue cast (GA/T 1400 has no silver: grey, light),
// licenseplate_motion.jpg a silver-white car seen from behind under warm light.
func TestVehicleColorRealCars(t *testing.T) {
	nd := testdata.Model(t, "nanodet")
	cases := []struct {
		image string
		want  []string
		dark  bool
	}{
		{"car1.jpg", []string{ColorBlack}, true},
		{"car2.jpg", []string{ColorGrey}, false},
		{"licenseplate_motion.jpg", []string{ColorWhite, ColorGrey}, false},
	}
	for _, c := range cases {
		img := readImage(t, c.image)
		found, err := nd.Detect([]gocv.Mat{img})
		if err != nil {
			t.Fatal(err)
		}
		var car *decode.Detection
		for i, d := range found[0] {
			if d.Label == "car" && (car == nil || d.Score > car.Score) {
				car = &found[0][i]
			}
		}
		if car == nil {
			t.Fatalf("%s: no car", c.image)
		}
		name, dark := VehicleColor(img, car.Box)
		t.Logf("%s: car %.2f at %v: %s (dark %v)", c.image, car.Score, car.Box, name, dark)
		ok := false
		for _, w := range c.want {
			ok = ok || name == w
		}
		if !ok || dark != c.dark {
			t.Errorf("%s: %s dark=%v, want one of %v dark=%v", c.image, name, dark, c.want, c.dark)
		}
	}
	red := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(30, 20, 200, 0), 200, 400, gocv.MatTypeCV8UC3) // BGR: a red panel
	defer red.Close()
	if name, dark := VehicleColor(red, decode.Box{X1: 0, Y1: 0, X2: 400, Y2: 200}); name != ColorRed || dark {
		t.Errorf("red panel: %s dark=%v", name, dark)
	}
}

// Vehicle capture on the real car1.jpg seen for 1.6 s, with the real detector and
// OCR: one MotorVehicle capture track (the detector's overlapping car and truck boxes
// are one vehicle), black, no plate (none is visible), a bounded number of reads.
func TestVehicleCaptureRealCar(t *testing.T) {
	nd := testdata.Model(t, "nanodet")
	run := &testRunner{rd: openOCR(t)}
	img := readImage(t, "car1.jpg")
	found, err := nd.Detect([]gocv.Mat{img})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := Lookup("person_vehicle_capture")
	alg, _ := spec.New("task-car", Params{SampleFPS: 5})
	t0 := time.Unix(1_800_000_000, 0)
	var caps []Capture
	for i := 0; i < 8; i++ {
		caps = append(caps, alg.Process(Frame{Time: t0.Add(time.Duration(i) * 200 * time.Millisecond), Mat: img, Run: run}, map[string][]decode.Detection{"nanodet": found[0]}).Captures...)
	}
	caps = append(caps, alg.Close().Captures...)
	keys := map[string]bool{}
	for _, c := range caps {
		keys[c.TrackKey] = true
		c.Frame.Close()
	}
	last := caps[len(caps)-1]
	t.Logf("%d captures, %d tracks, %d OCR reads; final %s %s attributes %v", len(caps), len(keys), run.reads, last.Kind, last.Label, last.Attributes)
	if len(keys) != 1 || last.Kind != "MotorVehicle" || !last.Final {
		t.Fatalf("%d tracks; final %+v", len(keys), last)
	}
	if last.Attributes[AttrVehicleColor] != ColorBlack || last.Attributes[AttrVehicleColorDepth] != "dark" {
		t.Errorf("colour %v", last.Attributes)
	}
	if _, ok := last.Attributes[AttrPlateNo]; ok {
		t.Errorf("a plate where none is visible: %v", last.Attributes)
	}
	if run.reads < 1 || run.reads > maxPlateReads {
		t.Errorf("%d OCR reads", run.reads)
	}
}

// The vote through the capture: a car approaching for 6 s (every frame a better
// shot), OCR (faked) reading the plate right, wrong, as foreign text and in two rows:
// the stored plate is the vote's winner with its reliability, only valid reads count,
// and OCR runs at most maxPlateReads times.
func TestVehicleCapturePlateVote(t *testing.T) {
	reads := map[int][]TextLine{
		1: {{Text: "粤B·12345", Score: 0.9, Box: decode.Box{X1: 40, Y1: 60, X2: 90, Y2: 75}}},
		2: {{Text: "粤B12845", Score: 0.6}},
		3: {{Text: "ABC123", Score: 0.99}, {Text: "TOYOTA", Score: 0.95}},
		4: {{Text: "粤B", Score: 0.85, Box: decode.Box{X1: 50, Y1: 50, X2: 70, Y2: 60}}, {Text: "12345", Score: 0.8, Box: decode.Box{X1: 45, Y1: 62, X2: 80, Y2: 75}}},
	}
	run := &testRunner{text: func(n int, _ gocv.Mat) []TextLine { return reads[n] }}
	mat := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer mat.Close()
	spec, _ := Lookup("person_vehicle_capture")
	alg, _ := spec.New("task-plate", Params{SampleFPS: 5})
	t0 := time.Unix(1_800_000_000, 0)
	var caps []Capture
	for i := 0; i < 30; i++ {
		s := float32(120 + 4*i)
		car := decode.Detection{Label: "car", Score: 0.8, Box: decode.Box{X1: 100, Y1: 100, X2: 100 + s, Y2: 100 + 0.6*s}}
		caps = append(caps, alg.Process(Frame{Time: t0.Add(time.Duration(i) * 200 * time.Millisecond), Mat: mat, Run: run}, map[string][]decode.Detection{"nanodet": {car}}).Captures...)
	}
	caps = append(caps, alg.Close().Captures...)
	for _, c := range caps {
		c.Frame.Close()
	}
	last := caps[len(caps)-1]
	t.Logf("%d captures, %d OCR reads, final attributes %v", len(caps), run.reads, last.Attributes)
	if run.reads > maxPlateReads || run.reads < 4 {
		t.Fatalf("%d OCR reads, want 4..%d", run.reads, maxPlateReads)
	}
	// valid reads: 粤B12345 0.9, 粤B12845 0.6, 粤B12345 0.8 (two rows joined): 100 × 1.7/2.3 × 0.85
	a := last.Attributes
	if a[AttrPlateNo] != "粤B12345" || a[AttrPlateReliability] != "63" || a[AttrPlateReads] != "2/3" {
		t.Fatalf("plate attributes %v", a)
	}
	if a[AttrVehicleColor] != ColorBlack {
		t.Errorf("vehicle colour %v", a)
	}
}
