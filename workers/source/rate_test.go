package source

import (
	"context"
	"testing"
	"time"
)

// TestSetRateSwitchesAtKeyFrames: a paced 1 s-GOP clip decoded in full is switched to
// key frames only and back while it plays, without a reopen: from the next key frame
// on only key frames come, and after the switch back every frame comes from the key
// frame after it (the ones before it cannot be decoded without their references).
func TestSetRateSwitchesAtKeyFrames(t *testing.T) {
	path := kfClip(t, "gop1-nob.mp4", 5, "-c:v", "libx264", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-bf", "0")
	src := Open(context.Background(), Options{URL: path, Realtime: true, MaxGOP: -1, Logger: quietLogger()})
	defer src.Close()
	var got []kfFrame
	toKeys, toFull := false, false
	for f := range src.Frames() {
		f.Mat.Close()
		got = append(got, kfFrame{pts: f.PTS, key: f.Key})
		if !toKeys && f.PTS >= 400*time.Millisecond {
			src.SetRate(0, true)
			toKeys = true
		}
		if !toFull && f.PTS >= 2*time.Second {
			if !src.Status().KeyframesOnly {
				t.Fatalf("at %s key-frame-only decoding is not on: %+v", f.PTS, src.Status())
			}
			src.SetRate(0, false)
			toFull = true
		}
	}
	st := src.Status()
	t.Logf("%s; status %+v", ptsList(got), st)
	after := 0
	for _, f := range got {
		switch {
		case f.pts >= time.Second && f.pts <= 2*time.Second && !f.key:
			t.Fatalf("frame %s is not a key frame, while key frames only were asked for", f.pts)
		case f.pts > 2*time.Second && f.pts < 3*time.Second:
			t.Fatalf("frame %s decoded between the switch back and the next key frame", f.pts)
		case f.pts >= 3*time.Second:
			after++
		}
	}
	if after != 50 {
		t.Fatalf("%d frames from the key frame at 3 s on, want all 50", after)
	}
	if st.Loops != 0 || st.Reconnects != 0 || st.KeyframesOnly || st.Frames+st.Undecoded != 125 {
		t.Fatalf("status after the switches: %+v", st)
	}
}
