package workers

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// BenchmarkDiagnoseVisit is what one rotation visit costs on a 1080p camera: open
// the stream, decode until the GOP is measured, then key frames only, diagnose 5 of
// them, store their measures. cpu-s/visit × 80,000 is a round of the city per core.
//
//	go test ./workers -run '^$' -bench DiagnoseVisit -benchtime 5x -cpu 1
func BenchmarkDiagnoseVisit(b *testing.B) {
	testdata.Tool(b, "ffmpeg")
	// a 1080p H.264 camera at 25 fps with a key frame every 2 s, as city cameras send
	clip := filepath.Join(b.TempDir(), "cam1080.mp4")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-i", testdata.Media(b, "vtest.avi"), "-t", "12", "-vf", "scale=1920:1080,fps=25",
		"-an", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", clip)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	r := newTestRecorder(b)
	st := store.Stream{ID: "44150200001320000001", Name: "bench", URL: "file://" + clip, AdminDivision: "441502", OwnerDept: "police"}
	b.ResetTimer()
	cpu := testkit.CPUTime()
	for range b.N {
		d, err := r.Diagnose(context.Background(), st, nil, Visit{Frames: 5, Timeout: time.Minute, Files: true, ImportDirs: []string{filepath.Dir(clip)}})
		if err != nil || !d.Online {
			b.Fatalf("visit: %+v %v", d, err)
		}
	}
	b.ReportMetric((testkit.CPUTime()-cpu).Seconds()/float64(b.N), "cpu-s/visit")
}
