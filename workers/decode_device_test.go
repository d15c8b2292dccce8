package workers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata/testkit"
	"github.com/cityeye/cityeye/workers/plan"
)

// A stream the planner put on a GPU decodes with NVDEC on that GPU; where the
// session cannot be created (here: no driver) it decodes in software and the
// stream's status says why.
func TestStreamOnGPUDecodeFallbackVisible(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "cam.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
		"-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	w := New(context.Background(), Config{Repo: models.Repository{Root: t.TempDir()}, Engine: engine.Options{Provider: engine.ProviderCPU}, ModelCheck: -1, LoopFiles: true}, nil)
	defer w.Close()
	w.Apply([]plan.StreamPlan{{Stream: store.Stream{ID: "cam1", URL: clip}, Device: "cuda:0",
		Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t1", Algorithm: "face_capture"}, FPS: 5}}}})
	var st plan.StreamStatus
	testkit.WaitFor(t, 10*time.Second, "the stream online", func() bool {
		st = w.Status()["cam1"]
		return st.Source.Frames > 0
	})
	if st.Device != "cuda:0" { // a new scheduler leader keeps the stream there
		t.Fatalf("status reports the stream on %q, want its plan's cuda:0", st.Device)
	}
	src := st.Source
	if src.HWDevice != "cuda:0" {
		t.Fatalf("decode device %q, want cuda:0", src.HWDevice)
	}
	if _, err := os.Stat("/proc/driver/nvidia"); err == nil {
		if src.HWAccel != "cuda" {
			t.Fatalf("driver present but NVDEC not used: %q", src.HWFallback)
		}
		return
	}
	if src.HWAccel != "" || !strings.Contains(src.HWFallback, "creating cuda device 0 failed") {
		t.Fatalf("hwaccel %q, fallback %q", src.HWAccel, src.HWFallback)
	}
}
