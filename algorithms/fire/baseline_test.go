package fire_test

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/fire"
	"github.com/cityeye/cityeye/testdata"
)

var (
	orange = color.RGBA{R: 240, G: 120, B: 30, A: 255}
	yellow = color.RGBA{R: 255, G: 220, B: 120, A: 255}
)

// scene is a static 1280×720 hillside: grey sky, dark green and brown ground, a few
// rocks.
func scene() gocv.Mat {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(150, 140, 130, 0), 720, 1280, gocv.MatTypeCV8UC3)
	gocv.Rectangle(&m, image.Rect(0, 300, 1280, 720), color.RGBA{R: 40, G: 70, B: 35, A: 255}, -1)
	gocv.Rectangle(&m, image.Rect(0, 560, 1280, 720), color.RGBA{R: 90, G: 70, B: 50, A: 255}, -1)
	for i, x := range []int{100, 380, 900, 1100} {
		gocv.Circle(&m, image.Pt(x, 420+40*i), 30+10*i, color.RGBA{R: 110, G: 110, B: 105, A: 255}, -1)
	}
	return m
}

// flame draws a flame at (cx, base): an orange body with a yellow core and tongues,
// its size and shape jittered by rng (nil: the same every frame).
func flame(m *gocv.Mat, rng *rand.Rand, cx, base int) {
	j := func(v int) int {
		if rng == nil {
			return 0
		}
		return rng.IntN(2*v+1) - v
	}
	w, h := 70+j(25), 110+j(40)
	gocv.Ellipse(m, image.Pt(cx+j(8), base-h/2), image.Pt(w/2, h/2), 0, 0, 360, orange, -1)
	for k := 0; k < 3; k++ {
		tx := cx - w/3 + k*w/3 + j(10)
		top := base - h - 30 - j(35)
		pts := gocv.NewPointsVectorFromPoints([][]image.Point{{{tx - 14, base - h/2}, {tx + 14, base - h/2}, {tx + j(12), top}}})
		gocv.FillPoly(m, pts, orange)
		pts.Close()
	}
	gocv.Ellipse(m, image.Pt(cx+j(5), base-h/3), image.Pt(w/4, h/4+j(8)), 0, 0, 360, yellow, -1)
}

// noise is a table of uniform offsets in [-6, 6]; noisy reads it from a random start.
var noise = func() []int8 {
	rng := rand.New(rand.NewPCG(7, 8))
	n := make([]int8, 1<<22)
	for i := range n {
		n[i] = int8(rng.IntN(13) - 6)
	}
	return n
}()

// noisy adds sensor noise (uniform ±amp, amp ≤ 6) to a copy of img.
func noisy(img gocv.Mat, rng *rand.Rand, amp int) gocv.Mat {
	out := img.Clone()
	pix, _ := out.DataPtrUint8()
	off := rng.IntN(len(noise))
	for i := range pix {
		d := int(noise[(off+i)&(len(noise)-1)]) * amp / 6
		pix[i] = uint8(min(255, max(0, int(pix[i])+d)))
	}
	return out
}

type baselineRun struct {
	t      testing.TB
	a      algorithms.Algorithm
	i      int
	alerts []algorithms.Alert
	at     []int
}

func newBaselineRun(t testing.TB) *baselineRun {
	return &baselineRun{t: t, a: newAlg(t, `{"options":{"detector":"baseline"}}`)}
}

// feed processes img as the next 5 fps frame (img is closed).
func (r *baselineRun) feed(img gocv.Mat) {
	out := r.a.Process(algorithms.Frame{Time: t0.Add(time.Duration(r.i) * 200 * time.Millisecond), Mat: img}, nil)
	img.Close()
	for _, al := range out.Alerts {
		r.alerts = append(r.alerts, al)
		r.at = append(r.at, r.i)
	}
	r.i++
}

func (r *baselineRun) close() {
	for _, a := range r.alerts {
		a.Frame.Close()
	}
}

// TestBaselineFlickeringFlame: a flickering orange flame on a hillside raises
// fire.fire within a few seconds, boxed around the flame and labelled as the
// baseline; nothing before the flicker history (8 frames) exists.
func TestBaselineFlickeringFlame(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bg := scene()
	defer bg.Close()
	r := newBaselineRun(t)
	defer r.close()
	for i := 0; i < 25; i++ {
		f := noisy(bg, rng, 3)
		flame(&f, rng, 700, 520)
		r.feed(f)
	}
	if len(r.alerts) != 1 {
		t.Fatalf("%d alerts at frames %v, want one", len(r.alerts), r.at)
	}
	al := r.alerts[0]
	// flicker needs 8 frames of history (first sighting: frame 7), then the baseline's
	// persistence, 11 of 15 frames at 5 fps: frame 17 at the earliest
	if r.at[0] < 17 || r.at[0] > 20 {
		t.Fatalf("alert at frame %d, want 17–20", r.at[0])
	}
	if al.Kind != fire.KindFire || al.Level != 3 || al.Details["detector"] != "baseline" || al.Details["rule"] != fire.BaselineRule {
		t.Fatalf("%s level %d details %v", al.Kind, al.Level, al.Details)
	}
	if fl, _ := al.Details["flicker"].(float64); fl < 0.1 {
		t.Fatalf("flicker %v", al.Details["flicker"])
	}
	if len(al.Boxes) == 0 {
		t.Fatal("no box")
	}
	for _, b := range al.Boxes {
		// the flame spans about x 640–760, y 330–520 (tongues up to ~260)
		if b.Box.X1 < 600 || b.Box.X2 > 800 || b.Box.Y1 < 200 || b.Box.Y2 > 540 || b.Box.W() < 40 || b.Box.H() < 60 {
			t.Fatalf("box %+v is not around the flame", b.Box)
		}
	}
}

// TestBaselineNoFalseAlarms: flame-coloured but static (an orange sign, with sensor
// noise), moving but blue/grey, and real images and video do not alarm.
func TestBaselineNoFalseAlarms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(name string, r *baselineRun) {
		t.Helper()
		defer r.close()
		if len(r.alerts) > 0 {
			t.Errorf("%s: %d false alarms (first at frame %d, boxes %+v)", name, len(r.alerts), r.at[0], r.alerts[0].Boxes)
		}
	}
	bg := scene()
	defer bg.Close()

	static := bg.Clone()
	flame(&static, nil, 700, 520)
	gocv.Rectangle(&static, image.Rect(200, 380, 420, 470), orange, -1)
	r := newBaselineRun(t)
	for i := 0; i < 40; i++ {
		r.feed(noisy(static, rng, 4))
	}
	static.Close()
	check("static orange", r)

	r = newBaselineRun(t)
	for i := 0; i < 40; i++ {
		f := noisy(bg, rng, 3)
		for k := 0; k < 3; k++ { // blue and grey blobs jumping about
			c := color.RGBA{R: 40, G: 80, B: 200, A: 255}
			if k == 2 {
				c = color.RGBA{R: 180, G: 180, B: 180, A: 255}
			}
			gocv.Ellipse(&f, image.Pt(300+k*300+rng.IntN(60), 400+rng.IntN(60)), image.Pt(30+rng.IntN(40), 50+rng.IntN(40)), 0, 0, 360, c, -1)
		}
		r.feed(f)
	}
	check("blue/grey motion", r)

	for _, name := range []string{"dog.jpg", "scenetext01.jpg", "horses.jpg"} {
		img := gocv.IMRead(testdata.Media(t, name), gocv.IMReadColor)
		if img.Empty() {
			t.Fatalf("cannot read %s", name)
		}
		r = newBaselineRun(t)
		for i := 0; i < 30; i++ {
			r.feed(noisy(img, rng, 4))
		}
		img.Close()
		check(name, r)
	}

	// a real street video (OpenCV's vtest.avi, people walking): 80 s at 5 fps
	vc, err := gocv.VideoCaptureFile(testdata.Media(t, "vtest.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	r = newBaselineRun(t)
	m := gocv.NewMat()
	defer m.Close()
	for vc.Read(&m) && !m.Empty() {
		r.feed(m.Clone())
		vc.Grab(1) // 10 fps → 5 fps
	}
	if r.i < 300 {
		t.Fatalf("read only %d frames of vtest.avi", r.i)
	}
	check("vtest.avi", r)
}

// BenchmarkFireBaseline: the baseline on a 1280×720 frame with a flickering flame,
// on one core (it runs no model: this is its real cost).
func BenchmarkFireBaseline(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	bg := scene()
	defer bg.Close()
	frames := make([]gocv.Mat, 16)
	for i := range frames {
		frames[i] = noisy(bg, rng, 3)
		flame(&frames[i], rng, 700, 520)
		defer frames[i].Close()
	}
	a := newAlg(b, `{"options":{"detector":"baseline"}}`)
	for i := 0; b.Loop(); i++ {
		closeAll(a.Process(algorithms.Frame{Time: frameAt(i), Mat: frames[i%len(frames)]}, nil).Alerts)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
