package source

import (
	"context"
	"testing"
)

// Decoding vtest.avi (MS-MPEG4, which FFmpeg decodes on the calling thread) reports
// what a decoded frame costs in CPU time; the planner sizes decoding with it.
func TestDecodeCostMeasured(t *testing.T) {
	src := Open(context.Background(), Options{URL: media(t, "vtest.avi"), NoRealtime: true, MaxFPS: 5})
	defer src.Close()
	n := 0
	for f := range src.Frames() {
		f.Mat.Close()
		if n++; n == 60 {
			break
		}
	}
	st := src.Status()
	t.Logf("%s %dx%d: %.3f ms of CPU per decoded frame (%d decoded)", st.Codec, st.Width, st.Height, st.DecodeCPUMS, st.Frames)
	if st.DecodeCPUMS <= 0.05 || st.DecodeCPUMS > 50 {
		t.Fatalf("decode cost %.3f ms per 768x576 frame after %d frames", st.DecodeCPUMS, st.Frames)
	}
}
