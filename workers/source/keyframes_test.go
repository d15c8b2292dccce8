package source

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/rtsp"
)

// Clips with known key frame positions, made once with the ffmpeg CLI.
var (
	kfDir  string
	kfMu   sync.Mutex
	kfMade = map[string]error{}
)

// kfClip returns a 320x240 25 fps testsrc2 clip encoded with args.
func kfClip(t *testing.T, name string, seconds int, args ...string) string {
	t.Helper()
	kfMu.Lock()
	defer kfMu.Unlock()
	if kfDir == "" {
		d, err := os.MkdirTemp("", "cityeye-keyframes-test-")
		if err != nil {
			t.Fatal(err)
		}
		kfDir = d
	}
	p := filepath.Join(kfDir, name)
	err, done := kfMade[name]
	if !done {
		cmd := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
			"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", fmt.Sprint(seconds), "-pix_fmt", "yuv420p"}, args...)
		out, e := exec.Command("ffmpeg", append(cmd, p)...).CombinedOutput()
		if e != nil {
			err = fmt.Errorf("ffmpeg making %s: %v: %s", name, e, out)
		}
		kfMade[name] = err
	}
	if err != nil {
		t.Fatalf("making test clip (is the ffmpeg CLI installed? run make setup): %v", err)
	}
	return p
}

// x264 with a fixed 2 s GOP (50 frames at 25 fps), no scene-cut key frames.
// The default settings use B-frames: the decoder reorders (has_b_frames 2).
func gop2Clip(t *testing.T, bframes bool) string {
	args := []string{"-c:v", "libx264", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0"}
	name := "gop2.mp4"
	if !bframes {
		args = append(args, "-bf", "0")
		name = "gop2-nob.mp4"
	}
	return kfClip(t, name, 10, args...)
}

type kfFrame struct {
	pts  time.Duration
	seq  uint64
	key  bool
	wall time.Time
}

func collect(t *testing.T, src *Source) []kfFrame {
	t.Helper()
	var got []kfFrame
	timeout := time.After(30 * time.Second)
	for {
		select {
		case f, ok := <-src.Frames():
			if !ok {
				return got
			}
			if f.Mat.Empty() || f.Width != 320 || f.Height != 240 {
				t.Errorf("frame %d: bad Mat %dx%d", f.Seq, f.Width, f.Height)
			}
			f.Mat.Close()
			got = append(got, kfFrame{pts: f.PTS, seq: f.Seq, key: f.Key, wall: time.Now()})
		case <-timeout:
			t.Fatalf("frames channel not closed after 30s: %+v", src.Status())
		}
	}
}

func ptsList(fs []kfFrame) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(' ')
		}
		k := ""
		if f.key {
			k = "K"
		}
		fmt.Fprintf(&b, "%.2f%s", f.pts.Seconds(), k)
	}
	return b.String()
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestKeyframesOnlyDecodesKeyFramesOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(t *testing.T) string
	}{
		{"h264-bframes", func(t *testing.T) string { return gop2Clip(t, true) }},
		{"h264-no-bframes", func(t *testing.T) string { return gop2Clip(t, false) }},
		// x265 defaults: open GOP (CRA key frames with leading pictures), B-frames
		{"h265", func(t *testing.T) string {
			return kfClip(t, "gop2.h265.mp4", 6, "-c:v", "libx265", "-x265-params", "keyint=50:min-keyint=50:scenecut=0:log-level=error")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			total, _, _ := ffprobeFrames(t, path)
			dur := time.Duration(total) * 40 * time.Millisecond
			// MaxGOP < 0: no limit, key frames only from the first packet
			src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxGOP: -1, Logger: quietLogger()})
			defer src.Close()
			got := collect(t, src)
			st := src.Status()
			t.Logf("%d of %d frames: %s; status %+v", len(got), total, ptsList(got), st)
			want := int(dur / (2 * time.Second))
			if len(got) < want-1 || len(got) > want+1 {
				t.Fatalf("%d frames delivered, want %s / 2s = %d ±1", len(got), dur, want)
			}
			for i, f := range got {
				if !f.key || f.pts != time.Duration(i)*2*time.Second {
					t.Fatalf("frame %d: PTS %s key %v, want the key frame at %s", i, f.pts, f.key, time.Duration(i)*2*time.Second)
				}
			}
			if !near(st.GOPSeconds, 2, 0.05) {
				t.Fatalf("GOPSeconds = %.3f, want 2", st.GOPSeconds)
			}
			if !st.KeyframesOnly || st.KeyframeFallback != "" {
				t.Fatalf("KeyframesOnly %v fallback %q", st.KeyframesOnly, st.KeyframeFallback)
			}
			if st.Frames != uint64(len(got)) || st.Frames+st.Undecoded != uint64(total) {
				t.Fatalf("Frames %d + Undecoded %d, want %d decoded of %d packets", st.Frames, st.Undecoded, len(got), total)
			}
		})
	}
}

func TestFullDecodeMeasuresGOP(t *testing.T) {
	path := gop2Clip(t, true)
	src := Open(context.Background(), Options{URL: path, Logger: quietLogger()})
	defer src.Close()
	got := collect(t, src)
	st := src.Status()
	keys := 0
	for _, f := range got {
		if f.key {
			keys++
		}
	}
	t.Logf("%d frames, %d key; GOPSeconds %.2f", len(got), keys, st.GOPSeconds)
	if len(got) != 250 || keys != 5 {
		t.Fatalf("%d frames (%d key), want all 250 (5 key)", len(got), keys)
	}
	if !near(st.GOPSeconds, 2, 0.05) || st.KeyframesOnly || st.KeyframeFallback != "" || st.Undecoded != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestKeyframesOnlyWaitsForAMeasuredGOP(t *testing.T) {
	// MaxFPS 0.5 makes MaxGOP 2s: the first GOP is decoded in full (and
	// sampled), key frames only from the second key frame on. Looping
	// keeps the measured GOP: later loops start with key frames only.
	path := gop2Clip(t, true)
	src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxFPS: 0.5, Loop: true, NoRealtime: true, Logger: quietLogger()})
	defer src.Close()
	var got []kfFrame
	for f := range src.Frames() {
		f.Mat.Close()
		got = append(got, kfFrame{pts: f.PTS, seq: f.Seq, key: f.Key})
		if len(got) == 15 { // three passes
			break
		}
	}
	st := src.Status()
	t.Logf("frames %s; status %+v", ptsList(got), st)
	for i, f := range got {
		if !f.key || f.pts != time.Duration(i)*2*time.Second {
			t.Fatalf("frame %d: PTS %s key %v, want the key frame at %s", i, f.pts, f.key, time.Duration(i)*2*time.Second)
		}
	}
	// decoded: the first GOP in full (50 frames), then one key frame per
	// GOP: 50 + 4 + 5 + 1 (the third pass's first); the rest undecoded
	// (+ up to 5 more decoded into the channel's buffer before Status)
	if st.Frames < 59 || st.Frames > 66 || st.Undecoded < 500 {
		t.Fatalf("decoded %d frames (undecoded %d), want 60-66 (>= 500)", st.Frames, st.Undecoded)
	}
	if !st.KeyframesOnly || st.Loops < 2 {
		t.Fatalf("status %+v", st)
	}
	closeWithin(t, src, 2*time.Second)
}

func TestKeyframesOnlyLongGOPFallsBack(t *testing.T) {
	// Key frames 10 s apart while MaxFPS 1 asks for one a second: every
	// frame is decoded and the reason is in Status.
	path := kfClip(t, "gop10.mp4", 12, "-c:v", "libx264", "-g", "250", "-keyint_min", "250", "-sc_threshold", "0")
	src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxFPS: 1, Logger: quietLogger()})
	defer src.Close()
	var reasons []string
	var got []kfFrame
	for f := range src.Frames() {
		f.Mat.Close()
		got = append(got, kfFrame{pts: f.PTS, key: f.Key})
		if r := src.Status().KeyframeFallback; len(reasons) == 0 || reasons[len(reasons)-1] != r {
			reasons = append(reasons, r)
		}
	}
	st := src.Status()
	t.Logf("delivered %s; reasons %q; status %+v", ptsList(got), reasons, st)
	if st.Frames != 300 || st.Undecoded != 0 || len(got) != 12 {
		t.Fatalf("decoded %d (undecoded %d), delivered %d: want all 300 decoded, 12 delivered at 1 fps", st.Frames, st.Undecoded, len(got))
	}
	if st.KeyframesOnly || st.KeyframeFallback != "GOP 10.0s exceeds MaxGOP 1s" || !near(st.GOPSeconds, 10, 0.05) {
		t.Fatalf("KeyframesOnly %v, fallback %q, GOP %.2f", st.KeyframesOnly, st.KeyframeFallback, st.GOPSeconds)
	}
}

func TestKeyframesOnlyGOPGrows(t *testing.T) {
	// Key frames every second, then none from 4 s to 10 s. MaxFPS 1: key
	// frames only from 1 s; at ~5.1 s the source says the GOP grew; from
	// the key frame at 10 s on every frame is decoded again.
	path := kfClip(t, "gop-grows.mp4", 12, "-c:v", "libx264", "-g", "1000", "-sc_threshold", "0", "-bf", "0",
		"-force_key_frames", "0,1,2,3,4,10")
	src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxFPS: 1, Logger: quietLogger()})
	defer src.Close()
	got := collect(t, src)
	st := src.Status()
	t.Logf("delivered %s; status %+v", ptsList(got), st)
	var want []time.Duration
	for _, s := range []int{0, 1, 2, 3, 4, 10, 11} {
		want = append(want, time.Duration(s)*time.Second)
	}
	if len(got) != len(want) {
		t.Fatalf("delivered %d frames, want PTS %v", len(got), want)
	}
	for i := range want {
		if got[i].pts != want[i] {
			t.Fatalf("frame %d PTS %s, want %s", i, got[i].pts, want[i])
		}
	}
	// decoded: 25 (first GOP, full) + 4 key frames + 50 (10-12 s)
	if st.Frames != 79 || st.Undecoded != 300-79 {
		t.Fatalf("decoded %d undecoded %d, want 79 and 221", st.Frames, st.Undecoded)
	}
	if st.KeyframesOnly || st.KeyframeFallback != "GOP 6.0s exceeds MaxGOP 1s" {
		t.Fatalf("KeyframesOnly %v, fallback %q", st.KeyframesOnly, st.KeyframeFallback)
	}
}

func TestKeyframesOnlyIntraRefreshFallsBack(t *testing.T) {
	// x264 intra refresh: one IDR, then "key" packets (recovery points,
	// every 2 s) that are P pictures. Decoded alone they yield a P picture
	// (kept decoder, no B-frames) or no picture (fresh decoder after a
	// drain, B-frames): nothing is delivered from them, and from the next
	// key packet on every frame is decoded.
	for _, tc := range []struct{ name, params, reason string }{
		{"bframes", "intra-refresh=1:keyint=50", "no picture"},
		{"no-bframes", "intra-refresh=1:keyint=50:bframes=0", "not intra-coded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := kfClip(t, "intra-refresh-"+tc.name+".mp4", 10, "-c:v", "libx264", "-x264-params", tc.params)
			src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxGOP: -1, Logger: quietLogger()})
			defer src.Close()
			got := collect(t, src)
			st := src.Status()
			t.Logf("delivered %d frames: %s; status %+v", len(got), ptsList(got[:min(5, len(got))]), st)
			if st.KeyframesOnly || !strings.Contains(st.KeyframeFallback, tc.reason) {
				t.Fatalf("KeyframesOnly %v, fallback %q, want %q", st.KeyframesOnly, st.KeyframeFallback, tc.reason)
			}
			// the IDR, then full-rate frames once the decoder has recovered
			if len(got) < 30 || got[0].pts != 0 || got[1].pts < 4*time.Second {
				t.Fatalf("delivered %d frames, want the IDR then full decoding from a later key packet", len(got))
			}
			for i := 2; i < len(got); i++ {
				if got[i].pts-got[i-1].pts != 40*time.Millisecond {
					t.Fatalf("frame %d at %s after %s: not full rate", i, got[i].pts, got[i-1].pts)
				}
			}
		})
	}
}

func TestKeyframesOnlyNoReorderDelay(t *testing.T) {
	// A decoder that reorders B-frames would hold each key frame back until
	// two more arrive (two GOPs); paced like a live stream, every key frame
	// must come out when its time comes.
	path := kfClip(t, "gop1.mp4", 3, "-c:v", "libx264", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0")
	start := time.Now()
	src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxGOP: -1, Realtime: true, Logger: quietLogger()})
	defer src.Close()
	got := collect(t, src)
	st := src.Status()
	t.Logf("delivered %s; status %+v", ptsList(got), st)
	if len(got) != 3 {
		t.Fatalf("delivered %d frames, want 3", len(got))
	}
	for _, f := range got {
		if lag := f.wall.Sub(start) - f.pts; lag > 500*time.Millisecond {
			t.Fatalf("key frame at %s delivered %s late", f.pts, lag.Round(time.Millisecond))
		}
	}
}

func TestKeyframesOnlyRTSP(t *testing.T) {
	// Over RTSP the key flags come from FFmpeg's H.264 parser. A 1 s GOP
	// with B-frames, MaxFPS 1: after the first GOP, key frames only, one a
	// second, while FPSIn still shows the camera's 25 fps.
	path := kfClip(t, "gop1.mp4", 3, "-c:v", "libx264", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0")
	addr := freeAddr(t)
	rtsp.Start(t, addr, path)
	src := Open(context.Background(), Options{URL: "rtsp://" + addr + "/live", KeyframesOnly: true, MaxFPS: 1,
		ReconnectMin: 200 * time.Millisecond, OpenTimeout: 3 * time.Second, Logger: quietLogger()})
	defer closeWithin(t, src, 3*time.Second)
	var keys []time.Time
	timeout := time.After(20 * time.Second)
	for len(keys) < 4 {
		select {
		case f, ok := <-src.Frames():
			if !ok {
				t.Fatalf("frames channel closed: %+v", src.Status())
			}
			f.Mat.Close()
			if src.Status().KeyframesOnly {
				if !f.Key {
					t.Fatalf("non-key frame (PTS %s) while KeyframesOnly", f.PTS)
				}
				keys = append(keys, f.Time)
			}
		case <-timeout:
			t.Fatalf("only %d key frames in key-frame mode in 20s: %+v", len(keys), src.Status())
		}
	}
	st := src.Status()
	t.Logf("status %+v", st)
	if !near(st.GOPSeconds, 1, 0.05) || st.Undecoded < 24 {
		t.Fatalf("GOPSeconds %.2f, Undecoded %d", st.GOPSeconds, st.Undecoded)
	}
	if st.FPSIn < 20 || st.FPSIn > 30 {
		t.Fatalf("FPSIn %.1f, want the stream's 25 fps", st.FPSIn)
	}
	// decoded (and received) as they come: one a second, not in bursts
	for i := 2; i < len(keys); i++ {
		if d := keys[i].Sub(keys[i-1]); d < 700*time.Millisecond || d > 1300*time.Millisecond {
			t.Fatalf("key frames %s apart, want ~1s", d)
		}
	}
}

func TestKeyframesOnlyNoKeyFrameStall(t *testing.T) {
	// One key frame, then none for 14 s, with no MaxGOP limit: after 10 s
	// without a key frame every packet goes to the decoder again (a stream
	// whose key frames lack the key flag would decode from there; this one
	// has no other key frame, so FFmpeg outputs nothing more).
	path := kfClip(t, "one-key.mp4", 14, "-c:v", "libx264", "-g", "1000", "-sc_threshold", "0", "-bf", "0")
	src := Open(context.Background(), Options{URL: path, KeyframesOnly: true, MaxGOP: -1, Logger: quietLogger()})
	defer src.Close()
	got := collect(t, src)
	st := src.Status()
	t.Logf("delivered %s; status %+v", ptsList(got), st)
	if st.KeyframesOnly || !strings.HasPrefix(st.KeyframeFallback, "no key frame for 10.0") {
		t.Fatalf("KeyframesOnly %v, fallback %q", st.KeyframesOnly, st.KeyframeFallback)
	}
	// 350 packets: the key frame, 250 dropped (0.04-10.0 s), then sent
	if len(got) < 1 || got[0].pts != 0 || st.Undecoded != 250 {
		t.Fatalf("delivered %d frames, undecoded %d: want the key frame and 250", len(got), st.Undecoded)
	}
}
