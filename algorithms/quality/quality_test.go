package quality_test

import (
	"fmt"
	"image"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/internal/algtest"
	"github.com/cityeye/cityeye/algorithms/quality"
	"github.com/cityeye/cityeye/testdata"
)

// clip is real footage, untouched or degraded by an FFmpeg filter the way a camera
// fails, and the one defect the diagnosis must raise ("" for none).
type clip struct {
	name, filter, want string
}

var clips = []clip{
	{"original", "", ""},
	{"black", "eq=brightness=-0.9", quality.Black},
	{"overexposed", "eq=brightness=0.8:contrast=0.5", quality.Overexposed},
	{"frozen", "trim=start_frame=5:end_frame=6,loop=loop=200:size=1:start=0,setpts=N/10/TB", quality.Frozen},
	{"blurred", "gblur=sigma=6", quality.Blurred},
	{"covered", "drawbox=x=0:y=0:w=iw:h=ih*0.7:color=0x303030@1:t=fill", quality.Covered},
	{"colour_cast", "colorchannelmixer=rr=1:gg=0.4:bb=0.3", quality.ColourCast},
	{"noisy", "noise=alls=40:allf=t", quality.Noisy},
}

// makeClip encodes 8 s of src at 384×288, 10 fps, through filter, as H.264.
func makeClip(t *testing.T, dir, src, name, filter string, start float64) string {
	t.Helper()
	out := filepath.Join(dir, name+".mp4")
	vf := "scale=384:288,fps=10"
	if filter != "" {
		vf += "," + filter
	}
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-ss", fmt.Sprint(start), "-i", src, "-t", "8", "-vf", vf,
		"-an", "-c:v", "libx264", "-preset", "veryfast", "-g", "20", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", name, err, b)
	}
	return out
}

// diagnose runs video_quality over a clip at 5 fps and returns the defects it
// raised (alert kinds without the "quality." prefix) and its measures.
func diagnose(t *testing.T, path string) ([]string, []algorithms.Measure) {
	t.Helper()
	a := algtest.NewAlgorithm(t, quality.Name, `{"sample_fps": 5}`)
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	var raised []string
	var measures []algorithms.Measure
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for n := 0; vc.Read(&img); n++ {
		if n%2 != 0 {
			continue // 10 fps clip, 5 fps sampling
		}
		out := a.Process(algorithms.Frame{StreamID: "cam", Seq: uint64(n), Time: t0.Add(time.Duration(n) * 100 * time.Millisecond), Mat: img}, nil)
		for _, al := range out.Alerts {
			if al.Kind != "quality."+quality.Recovered {
				raised = append(raised, strings.TrimPrefix(al.Kind, "quality."))
			}
			al.Frame.Close()
		}
		measures = append(measures, out.Measures...)
	}
	sort.Strings(raised)
	return raised, measures
}

// Every defect class is detected on real footage degraded by FFmpeg, and nothing is
// raised on untouched originals (two parts of vtest.avi's street) nor on the
// degraded clips beyond their own defect. The scene change cuts the street to
// Megamind's cartoon.
func TestDiagnosisAccuracy(t *testing.T) {
	testdata.Tool(t, "ffmpeg")
	street, cartoon := testdata.Media(t, "vtest.avi"), testdata.Media(t, "Megamind.avi")
	dir := t.TempDir()
	for _, c := range clips {
		t.Run(c.name, func(t *testing.T) {
			got, _ := diagnose(t, makeClip(t, dir, street, c.name, c.filter, 0))
			var want []string
			if c.want != "" {
				want = []string{c.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("raised %v, want %v", got, want)
			}
		})
	}
	t.Run("later original", func(t *testing.T) {
		if got, _ := diagnose(t, makeClip(t, dir, street, "later", "", 45)); len(got) != 0 {
			t.Errorf("raised %v on an untouched clip", got)
		}
	})
	// the camera was turned: 4 s of the street, then another scene
	t.Run("scene changed", func(t *testing.T) {
		a := makeClip(t, dir, street, "before", "trim=duration=4", 0)
		b := makeClip(t, dir, cartoon, "after", "trim=duration=4", 2)
		list := filepath.Join(dir, "cut.txt")
		if err := exec.Command("sh", "-c", fmt.Sprintf("printf 'file %s\\nfile %s\\n' > %s", a, b, list)).Run(); err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(dir, "cut.mp4")
		if b, err := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", cut).CombinedOutput(); err != nil {
			t.Fatalf("concat: %v\n%s", err, b)
		}
		if got, _ := diagnose(t, cut); !slices.Equal(got, []string{quality.SceneChanged}) {
			t.Errorf("raised %v, want [scene_changed]", got)
		}
	})
}

// A defect that clears is reported as recovered once, after persist clean frames.
func TestDefectClears(t *testing.T) {
	a := algtest.NewAlgorithm(t, quality.Name, `{"options": {"persist": 2}}`)
	dark := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(2, 2, 2, 0), 288, 384, gocv.MatTypeCV8UC3)
	defer dark.Close()
	street := gocv.IMRead(testdata.Media(t, "dog.jpg"), gocv.IMReadColor)
	defer street.Close()
	var kinds []string
	t0 := time.Now()
	for i, img := range []gocv.Mat{dark, dark, dark, street, street, street} {
		out := a.Process(algorithms.Frame{Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Second), Mat: img}, nil)
		for _, al := range out.Alerts {
			kinds = append(kinds, al.Kind+":"+al.Details["defect"].(string))
			al.Frame.Close()
		}
	}
	want := []string{"quality.black:black", "quality.recovered:black"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("alerts %v, want %v", kinds, want)
	}
}

// Options are validated with the field named.
func TestOptionsRefused(t *testing.T) {
	for raw, field := range map[string]string{
		`{"noise_sigma": -1}`:   "params.options.noise_sigma",
		`{"flat_cells": 2}`:     "params.options",
		`{"persist": 1000}`:     "params.options.persist",
		`{"unknown_option": 1}`: "params.options",
	} {
		_, err := quality.ParseOptions([]byte(raw))
		fe, ok := err.(*algorithms.FieldError)
		if !ok || fe.Field != field {
			t.Errorf("%s: %v, want a field error on %s", raw, err, field)
		}
	}
}

// BenchmarkDiagnose1080p is one key frame's diagnosis (decode not included) at
// 1920×1080: what a camera costs per visit of the rotation.
func BenchmarkDiagnose1080p(b *testing.B) {
	src := gocv.IMRead(testdata.Media(b, "dog.jpg"), gocv.IMReadColor)
	defer src.Close()
	img := gocv.NewMat()
	defer img.Close()
	gocv.Resize(src, &img, image.Pt(1920, 1080), 0, 0, gocv.InterpolationLinear)
	a := algtest.NewAlgorithm(b, quality.Name, `{}`)
	t0 := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Process(algorithms.Frame{Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Second), Mat: img}, nil)
	}
	b.StopTimer()
	perFrame := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perFrame.Microseconds())/1000, "ms/frame")
	// a full round of 80,000 cameras, one key frame each, on one core (diagnosis only)
	b.ReportMetric((80000 * perFrame).Minutes(), "min/80k-round/core")
}
