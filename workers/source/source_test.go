package source

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/rtsp"
	"github.com/cityeye/cityeye/testdata/testkit"

	"gocv.io/x/gocv"
)

// ---------------------------------------------------------------- helpers

var (
	clipDir  string
	clipOnce sync.Once
	clipErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if clipDir != "" {
		os.RemoveAll(clipDir)
	}
	if kfDir != "" {
		os.RemoveAll(kfDir)
	}
	os.Exit(code)
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// media returns a file from $CITYEYE_HOME/media (default ~/.cache/cityeye).
func media(t *testing.T, name string) string {
	t.Helper()
	home := os.Getenv("CITYEYE_HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("no home directory: %v", err)
		}
		home = filepath.Join(h, ".cache", "cityeye")
	}
	p := filepath.Join(home, "media", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test media %s missing (%v): run make setup", p, err)
	}
	return p
}

// clips makes the synthetic test clips once with the ffmpeg CLI.
func clip(t *testing.T, name string) string {
	t.Helper()
	clipOnce.Do(func() {
		if clipDir, clipErr = os.MkdirTemp("", "cityeye-source-test-"); clipErr != nil {
			return
		}
		for _, c := range []struct {
			name string
			dur  string
		}{{"clip1s.mp4", "1"}, {"clip2s.mp4", "2"}} {
			out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
				"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", c.dur,
				"-c:v", "libx264", "-g", "5", "-bf", "0", "-pix_fmt", "yuv420p",
				filepath.Join(clipDir, c.name)).CombinedOutput()
			if err != nil {
				clipErr = fmt.Errorf("ffmpeg making %s: %v: %s", c.name, err, out)
				return
			}
		}
	})
	if clipErr != nil {
		t.Fatalf("making test clips (is the ffmpeg CLI installed? run make setup): %v", clipErr)
	}
	return filepath.Join(clipDir, name)
}

// ffprobeFrames counts decoded video frames with ffprobe -count_frames.
func ffprobeFrames(t *testing.T, path string) (frames, width, height int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,width,height", "-of", "default=nw=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v (run make setup)", path, err)
	}
	kv := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("ffprobe %s: bad %q", path, l)
		}
		kv[k] = n
	}
	return kv["nb_read_frames"], kv["width"], kv["height"]
}

// consume reads frames in the background, closing their Mats.
type consumer struct {
	n       atomic.Int64
	lastSeq atomic.Uint64
	bad     atomic.Value // string
	done    chan struct{}
}

func consume(src *Source) *consumer {
	c := &consumer{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for f := range src.Frames() {
			if f.Seq <= c.lastSeq.Load() {
				c.bad.Store(fmt.Sprintf("Seq went from %d to %d", c.lastSeq.Load(), f.Seq))
			}
			if f.Mat.Empty() {
				c.bad.Store("empty Mat")
			}
			c.lastSeq.Store(f.Seq)
			f.Mat.Close()
			c.n.Add(1)
		}
	}()
	return c
}

func (c *consumer) check(t *testing.T) {
	t.Helper()
	if v, ok := c.bad.Load().(string); ok {
		t.Fatal(v)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func closeWithin(t *testing.T, src *Source, d time.Duration) {
	t.Helper()
	start := time.Now()
	ch := make(chan struct{})
	go func() { src.Close(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("Close did not return within %s", d)
	}
	t.Logf("Close returned in %s", time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------- tests

func TestDecodeFilesMatchFFprobe(t *testing.T) {
	for _, name := range []string{"vtest.avi", "Megamind.avi"} {
		t.Run(name, func(t *testing.T) {
			path := media(t, name)
			want, w, h := ffprobeFrames(t, path)
			if want == 0 {
				t.Fatalf("ffprobe counted no frames in %s", path)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			src := Open(ctx, Options{URL: path, Logger: quietLogger()})
			defer src.Close()

			var n int
			var lastSeq uint64
			var lastPTS time.Duration = -1
			var nonBlack int
			for f := range src.Frames() {
				n++
				if f.Mat.Empty() || f.Mat.Rows() != h || f.Mat.Cols() != w || f.Mat.Type() != gocv.MatTypeCV8UC3 {
					t.Fatalf("frame %d: mat %dx%d type %v empty=%v, want %dx%d CV8UC3",
						n, f.Mat.Cols(), f.Mat.Rows(), f.Mat.Type(), f.Mat.Empty(), w, h)
				}
				if f.Width != w || f.Height != h {
					t.Fatalf("frame %d: Width/Height %dx%d, want %dx%d", n, f.Width, f.Height, w, h)
				}
				if f.Seq <= lastSeq {
					t.Fatalf("frame %d: Seq %d after %d", n, f.Seq, lastSeq)
				}
				if f.PTS <= lastPTS {
					t.Fatalf("frame %d: PTS %s after %s", n, f.PTS, lastPTS)
				}
				if !f.Time.Equal(start.Add(f.PTS)) && f.Time.Sub(start.Add(f.PTS)).Abs() > time.Second {
					t.Fatalf("frame %d: Time %s is not start+PTS", n, f.Time)
				}
				if n%50 == 1 {
					m := f.Mat.Mean()
					if m.Val1+m.Val2+m.Val3 > 1 {
						nonBlack++
					}
				}
				lastSeq, lastPTS = f.Seq, f.PTS
				f.Mat.Close()
			}
			elapsed := time.Since(start)
			st := src.Status()
			t.Logf("%s: %d frames (ffprobe %d) %dx%d codec=%s last PTS %s in %s (%.0f fps); status %+v",
				name, n, want, w, h, st.Codec, lastPTS, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), st)
			if n != want {
				t.Fatalf("decoded %d frames, ffprobe nb_read_frames=%d", n, want)
			}
			if nonBlack == 0 {
				t.Fatal("all sampled frames are black")
			}
			if st.State != StateOffline || st.Reason != "end of file" {
				t.Fatalf("state after EOF = %s %q, want offline \"end of file\"", st.State, st.Reason)
			}
			if st.Frames != uint64(want) || st.Delivered != uint64(want) || st.Dropped != 0 {
				t.Fatalf("status counters %+v", st)
			}
			if st.Width != w || st.Height != h || st.Codec == "" {
				t.Fatalf("status geometry %dx%d codec %q", st.Width, st.Height, st.Codec)
			}
		})
	}
}

func TestVtestPixelsAndPTS(t *testing.T) {
	// vtest.avi is 10 fps: the 11th frame is at PTS 1s, and the image is a
	// grey street scene, not black.
	path := media(t, "vtest.avi")
	src := Open(context.Background(), Options{URL: path, Logger: quietLogger()})
	defer src.Close()
	for f := range src.Frames() {
		if f.Seq == 11 {
			if f.PTS != time.Second {
				t.Errorf("frame 11 PTS = %s, want 1s", f.PTS)
			}
			gray := gocv.NewMat()
			gocv.CvtColor(f.Mat, &gray, gocv.ColorBGRToGray)
			nz := gocv.CountNonZero(gray)
			mean := f.Mat.Mean()
			gray.Close()
			t.Logf("frame 11: mean BGR %.1f/%.1f/%.1f, non-zero %d of %d", mean.Val1, mean.Val2, mean.Val3, nz, f.Width*f.Height)
			if nz < f.Width*f.Height/2 || mean.Val1 < 20 {
				t.Errorf("frame content looks wrong: non-zero %d, mean %v", nz, mean)
			}
			f.Mat.Close()
			break
		}
		f.Mat.Close()
	}
	closeWithin(t, src, 2*time.Second)
}

func TestLoopRealtime(t *testing.T) {
	path := clip(t, "clip1s.mp4") // 25 frames, 25 fps
	start := time.Now()
	src := Open(context.Background(), Options{URL: "file://" + path, Loop: true, Logger: quietLogger()})
	defer src.Close()

	var n int
	var lastSeq uint64
	var lastPTS time.Duration = -1
	timeout := time.After(15 * time.Second)
	for n < 40 { // 1.6 loops
		select {
		case f, ok := <-src.Frames():
			if !ok {
				t.Fatalf("frames channel closed after %d frames: %+v", n, src.Status())
			}
			n++
			if f.Seq <= lastSeq || f.PTS <= lastPTS {
				t.Fatalf("frame %d: Seq %d PTS %s after Seq %d PTS %s", n, f.Seq, f.PTS, lastSeq, lastPTS)
			}
			if lag := time.Since(f.Time); lag > 300*time.Millisecond || lag < -300*time.Millisecond {
				t.Fatalf("frame %d: Time is %s away from now; want live-like timestamps", n, lag)
			}
			lastSeq, lastPTS = f.Seq, f.PTS
			f.Mat.Close()
		case <-timeout:
			t.Fatalf("only %d frames in 15s: %+v", n, src.Status())
		}
	}
	elapsed := time.Since(start)
	st := src.Status()
	t.Logf("40 frames in %s, last Seq %d PTS %s, status %+v", elapsed.Round(time.Millisecond), lastSeq, lastPTS, st)
	if st.Loops < 1 {
		t.Fatalf("Loops = %d, want >= 1", st.Loops)
	}
	if lastSeq < 40 || lastPTS < 1500*time.Millisecond {
		t.Fatalf("last Seq %d PTS %s: did not continue across the loop", lastSeq, lastPTS)
	}
	if elapsed < 1400*time.Millisecond || elapsed > 3*time.Second {
		t.Fatalf("40 frames took %s; want ~1.6s of real-time pacing", elapsed)
	}
	if st.FPSIn < 20 || st.FPSIn > 30 {
		t.Fatalf("FPSIn = %.1f, want 25 ±20%%", st.FPSIn)
	}
	if st.State != StateOnline {
		t.Fatalf("State = %s, want online", st.State)
	}
	closeWithin(t, src, 2*time.Second)
}

func TestMaxFPS(t *testing.T) {
	path := clip(t, "clip2s.mp4") // 50 frames at 25 fps
	src := Open(context.Background(), Options{URL: path, MaxFPS: 5, Logger: quietLogger()})
	defer src.Close()
	var got []uint64
	var pts []time.Duration
	for f := range src.Frames() {
		got = append(got, f.Seq)
		pts = append(pts, f.PTS)
		f.Mat.Close()
	}
	st := src.Status()
	t.Logf("received %d of %d decoded, Seq %v PTS %v, skipped %d", len(got), st.Frames, got, pts, st.Skipped)
	if st.Frames != 50 {
		t.Fatalf("decoded %d frames, want 50", st.Frames)
	}
	if want := int(st.Frames) / 5; len(got) < want-1 || len(got) > want+1 {
		t.Fatalf("received %d frames with MaxFPS 5 of %d decoded at 25 fps, want ~%d", len(got), st.Frames, want)
	}
	if st.Skipped+uint64(len(got)) != st.Frames {
		t.Fatalf("skipped %d + received %d != decoded %d", st.Skipped, len(got), st.Frames)
	}
}

func TestSlowConsumerDoesNotStallDecoding(t *testing.T) {
	path := clip(t, "clip1s.mp4")
	src := Open(context.Background(), Options{URL: path, Loop: true, Buffer: 2, Logger: quietLogger()})
	defer src.Close()
	time.Sleep(1500 * time.Millisecond) // nobody reads
	st := src.Status()
	t.Logf("after 1.5s without a reader: %+v", st)
	if st.Frames < 30 {
		t.Fatalf("decoding stalled: %d frames decoded", st.Frames)
	}
	if st.Dropped < st.Frames-3 {
		t.Fatalf("Dropped = %d of %d frames with a buffer of 2", st.Dropped, st.Frames)
	}
	// the frames still queued are the newest ones
	f := <-src.Frames()
	defer f.Mat.Close()
	if f.Seq+3 < st.Frames {
		t.Fatalf("oldest queued frame Seq %d, decoded %d: should have dropped the oldest", f.Seq, st.Frames)
	}
	closeWithin(t, src, 2*time.Second)
}

func TestRTSPReconnect(t *testing.T) {
	clipPath := clip(t, "clip1s.mp4")
	addr := freeAddr(t)
	url := "rtsp://" + addr + "/live"

	srv := rtsp.Start(t, addr, clipPath)
	t0 := time.Now()
	src := Open(context.Background(), Options{
		URL: url, ReconnectMin: 200 * time.Millisecond, ReconnectMax: time.Second,
		OpenTimeout: 3 * time.Second, Logger: quietLogger(),
	})
	defer closeWithin(t, src, 3*time.Second)
	c := consume(src)

	testkit.WaitFor(t, 10*time.Second, "frames from RTSP and state online", func() bool {
		return c.n.Load() >= 10 && src.Status().State == StateOnline
	})
	st := src.Status()
	t.Logf("online after %s: %+v", time.Since(t0).Round(time.Millisecond), st)
	if st.Width != 320 || st.Height != 240 || st.Codec != "h264" {
		t.Fatalf("status geometry %dx%d codec %q, want 320x240 h264", st.Width, st.Height, st.Codec)
	}

	srv.Stop()
	t1 := time.Now()
	testkit.WaitFor(t, 5*time.Second, "state offline with a reason after the server died", func() bool {
		st := src.Status()
		return st.State == StateOffline && st.Reason != ""
	})
	t.Logf("offline after %s: %q", time.Since(t1).Round(time.Millisecond), src.Status().Reason)
	// the server stays down: reconnect attempts fail with a reason
	testkit.WaitFor(t, 5*time.Second, "a failed reconnect attempt", func() bool {
		return src.Status().Retries >= 1
	})
	st = src.Status()
	t.Logf("while down: %+v", st)
	if st.State != StateOffline || !strings.Contains(strings.ToLower(st.Reason), "refused") {
		t.Fatalf("while the server is down: state %s reason %q, want offline + connection refused", st.State, st.Reason)
	}
	n0 := c.n.Load()

	rtsp.Start(t, addr, clipPath)
	t2 := time.Now()
	testkit.WaitFor(t, 15*time.Second, "frames to resume after the server restarted", func() bool {
		return c.n.Load() >= n0+10 && src.Status().State == StateOnline
	})
	st = src.Status()
	t.Logf("resumed after %s: %+v", time.Since(t2).Round(time.Millisecond), st)
	if st.Reconnects < 1 {
		t.Fatalf("Reconnects = %d, want >= 1", st.Reconnects)
	}
	// The demuxer's probe buffer is decoded in a burst right after
	// connecting; once that leaves the 2 s window FPSIn settles at 25.
	testkit.WaitFor(t, 6*time.Second, "FPSIn to settle at 25 ±20%", func() bool {
		f := src.Status().FPSIn
		return f >= 20 && f <= 30
	})
	t.Logf("settled: FPSIn %.1f", src.Status().FPSIn)
	c.check(t)
}

func TestRTSPStallTimesOut(t *testing.T) {
	// The server keeps the connection open but sends nothing: the read
	// watchdog (OpenTimeout) must take the source offline, and it must
	// recover once data flows again.
	clipPath := clip(t, "clip1s.mp4")
	addr := freeAddr(t)
	srv := rtsp.Start(t, addr, clipPath)
	src := Open(context.Background(), Options{URL: "rtsp://" + addr + "/live", OpenTimeout: time.Second,
		ReconnectMin: 100 * time.Millisecond, ReconnectMax: 500 * time.Millisecond, Logger: quietLogger()})
	defer closeWithin(t, src, 3*time.Second)
	c := consume(src)
	testkit.WaitFor(t, 10*time.Second, "online", func() bool { return c.n.Load() >= 5 && src.Status().State == StateOnline })
	srv.Pause()
	t0 := time.Now()
	testkit.WaitFor(t, 5*time.Second, "offline after the stall", func() bool { return src.Status().State == StateOffline })
	st := src.Status()
	t.Logf("offline %s after the stall: %q", time.Since(t0).Round(time.Millisecond), st.Reason)
	if !strings.Contains(st.Reason, "timeout") {
		t.Fatalf("reason %q, want a timeout", st.Reason)
	}
	srv.Resume()
	n0 := c.n.Load()
	testkit.WaitFor(t, 10*time.Second, "frames again", func() bool { return c.n.Load() >= n0+10 && src.Status().State == StateOnline })
	t.Logf("recovered: %+v", src.Status())
	c.check(t)
}

func TestRTMPListenServer(t *testing.T) {
	// ffmpeg's RTMP protocol can act as a one-client server (-listen 1).
	clipPath := clip(t, "clip1s.mp4")
	addr := freeAddr(t)
	url := "rtmp://" + addr + "/live/cam"
	startServer := func() *exec.Cmd {
		cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "fatal", "-re", "-stream_loop", "-1",
			"-i", clipPath, "-c", "copy", "-f", "flv", "-listen", "1", url)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting ffmpeg RTMP server: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	// The source starts first and retries until ffmpeg listens.
	src := Open(context.Background(), Options{URL: url, ReconnectMin: 200 * time.Millisecond, ReconnectMax: time.Second,
		OpenTimeout: 3 * time.Second, Logger: quietLogger()})
	defer closeWithin(t, src, 3*time.Second)
	time.Sleep(300 * time.Millisecond)
	cmd := startServer()
	c := consume(src)
	t0 := time.Now()
	testkit.WaitFor(t, 15*time.Second, "frames over RTMP", func() bool { return c.n.Load() >= 10 && src.Status().State == StateOnline })
	st := src.Status()
	t.Logf("online %s after the server started: %+v", time.Since(t0).Round(time.Millisecond), st)
	if st.Codec != "h264" || st.Width != 320 || st.Height != 240 {
		t.Fatalf("codec %q %dx%d", st.Codec, st.Width, st.Height)
	}
	cmd.Process.Kill()
	testkit.WaitFor(t, 5*time.Second, "offline after the RTMP server died", func() bool {
		st := src.Status()
		return st.State == StateOffline && st.Reason != ""
	})
	t.Logf("offline: %q", src.Status().Reason)
	n0 := c.n.Load()
	startServer()
	testkit.WaitFor(t, 15*time.Second, "frames after the RTMP server restarted", func() bool {
		return c.n.Load() >= n0+10 && src.Status().Reconnects >= 1
	})
	t.Logf("resumed: %+v", src.Status())
	c.check(t)
}

func TestHTTPFileAndReconnectAtEOF(t *testing.T) {
	// An MP4 served over HTTP is a network source: its EOF triggers a
	// reconnect (and a replay), counted in Reconnects.
	clipPath := clip(t, "clip1s.mp4")
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cam.mp4" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		http.ServeFile(w, r, clipPath)
	}))
	defer srv.Close()

	src := Open(context.Background(), Options{URL: srv.URL + "/cam.mp4", ReconnectMin: 100 * time.Millisecond,
		ReconnectMax: 200 * time.Millisecond, Logger: quietLogger()})
	c := consume(src)
	testkit.WaitFor(t, 10*time.Second, "two passes over the HTTP clip", func() bool {
		return c.n.Load() >= 50 && src.Status().Reconnects >= 1
	})
	st := src.Status()
	t.Logf("status: %+v, %d HTTP requests", st, hits.Load())
	if st.Width != 320 || st.Height != 240 {
		t.Fatalf("geometry %dx%d", st.Width, st.Height)
	}
	closeWithin(t, src, 2*time.Second)
	<-c.done
	c.check(t)

	// 404: offline with the HTTP status as the reason
	src = Open(context.Background(), Options{URL: srv.URL + "/missing.mp4", ReconnectMin: 100 * time.Millisecond, Logger: quietLogger()})
	testkit.WaitFor(t, 5*time.Second, "offline with reason 404", func() bool {
		st := src.Status()
		return st.State == StateOffline && strings.Contains(st.Reason, "404")
	})
	t.Logf("404: %q", src.Status().Reason)
	closeWithin(t, src, 2*time.Second)
}

func TestUnreachableRTSP(t *testing.T) {
	src := Open(context.Background(), Options{
		URL: "rtsp://127.0.0.1:1/none", ReconnectMin: 100 * time.Millisecond, ReconnectMax: 500 * time.Millisecond,
		OpenTimeout: 2 * time.Second, Logger: quietLogger(),
	})
	c := consume(src)
	testkit.WaitFor(t, 5*time.Second, "state offline with a reason", func() bool {
		st := src.Status()
		return st.State == StateOffline && st.Reason != "" && st.Retries >= 2
	})
	st := src.Status()
	t.Logf("status: %+v", st)
	if !strings.Contains(strings.ToLower(st.Reason), "refused") {
		t.Errorf("reason %q does not mention the refused connection", st.Reason)
	}
	closeWithin(t, src, 2*time.Second)
	<-c.done
	if c.n.Load() != 0 || st.Frames != 0 {
		t.Fatalf("got %d frames from an unreachable URL", c.n.Load())
	}
	if st := src.Status(); st.State != StateOffline || st.Reason != "closed" {
		t.Fatalf("after Close: %s %q", st.State, st.Reason)
	}
}

func TestOpenTimeoutOnSilentServer(t *testing.T) {
	// A TCP server that accepts and never answers: only the timeout/interrupt
	// can get the source out of avformat_open_input.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	src := Open(context.Background(), Options{
		URL: "rtsp://" + ln.Addr().String() + "/silent", OpenTimeout: 1 * time.Second,
		ReconnectMin: 100 * time.Millisecond, Logger: quietLogger(),
	})
	testkit.WaitFor(t, 5*time.Second, "offline after the open timeout", func() bool {
		return src.Status().State == StateOffline
	})
	st := src.Status()
	t.Logf("after %s: %+v", time.Since(start).Round(time.Millisecond), st)
	if st.Reason == "" {
		t.Fatal("empty reason")
	}
	if !strings.Contains(st.Reason, "timeout") {
		t.Errorf("reason %q does not mention the timeout", st.Reason)
	}
	closeWithin(t, src, 2*time.Second)

	// Close while avformat_open_input is blocked (long OpenTimeout) must
	// return promptly: the interrupt callback aborts the open.
	src = Open(context.Background(), Options{URL: "rtsp://" + ln.Addr().String() + "/silent", OpenTimeout: 30 * time.Second,
		Logger: quietLogger()})
	time.Sleep(300 * time.Millisecond)
	if st := src.Status(); st.State != StateStarting {
		t.Fatalf("state %s before the open finished, want starting", st.State)
	}
	closeWithin(t, src, time.Second)
}

func TestMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.mp4")
	src := Open(context.Background(), Options{URL: p, Loop: true, Logger: quietLogger()})
	select {
	case _, ok := <-src.Frames():
		if ok {
			t.Fatal("got a frame from a missing file")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("frames channel not closed for a missing file")
	}
	st := src.Status()
	t.Logf("status: %+v", st)
	if st.State != StateError || !strings.Contains(st.Reason, "not found") {
		t.Fatalf("state %s reason %q, want error + not found", st.State, st.Reason)
	}
	closeWithin(t, src, time.Second)
	if st := src.Status(); st.State != StateError {
		t.Fatalf("Close overwrote the error state: %+v", st)
	}
}

func TestUnsupportedScheme(t *testing.T) {
	src := Open(context.Background(), Options{URL: "ftp://x", Logger: quietLogger()})
	st := src.Status() // synchronous: no retries, no goroutine
	t.Logf("status: %+v", st)
	if st.State != StateError || !strings.Contains(st.Reason, "unsupported scheme") {
		t.Fatalf("state %s reason %q, want error + unsupported scheme", st.State, st.Reason)
	}
	if _, ok := <-src.Frames(); ok {
		t.Fatal("got a frame")
	}
	closeWithin(t, src, time.Second)
	if st := src.Status(); st.Retries != 0 || st.State != StateError {
		t.Fatalf("after Close: %+v", st)
	}
}

func TestCloseIsIdempotentAndContextCancels(t *testing.T) {
	path := clip(t, "clip1s.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	src := Open(ctx, Options{URL: path, Loop: true, Logger: quietLogger()})
	c := consume(src)
	testkit.WaitFor(t, 5*time.Second, "frames", func() bool { return c.n.Load() > 3 })
	cancel()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		t.Fatal("frames channel not closed after the context was cancelled")
	}
	closeWithin(t, src, time.Second)
	closeWithin(t, src, time.Second)
	if st := src.Status(); st.State != StateOffline || st.Reason != "closed" {
		t.Fatalf("after cancel: %+v", st)
	}
}

// rssMB reads the resident set size of this process.
func rssMB(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func TestNoLeakAcrossLoops(t *testing.T) {
	// Every loop reopens the input: format context, codec context (with
	// its frame threads), swscale context, packets and frames. A leak of
	// any of these per loop shows up as RSS growth over hundreds of loops.
	path := clip(t, "clip1s.mp4")
	src := Open(context.Background(), Options{URL: path, Loop: true, NoRealtime: true, Logger: quietLogger()})
	defer src.Close()
	loopsAt := func(n int) float64 {
		testkit.WaitFor(t, 60*time.Second, fmt.Sprintf("%d loops", n), func() bool { return src.Status().Loops >= n })
		return rssMB(t)
	}
	c := consume(src)
	start := time.Now()
	base := loopsAt(50)
	end := loopsAt(400)
	st := src.Status()
	t.Logf("RSS after 50 loops %.1f MB, after %d loops %.1f MB (%d frames in %s)", base, st.Loops, end, st.Frames, time.Since(start).Round(time.Millisecond))
	if end-base > 40 {
		t.Fatalf("RSS grew %.1f MB over 350 loops: FFmpeg objects leak", end-base)
	}
	closeWithin(t, src, 2*time.Second)
	c.check(t)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// nvidiaDriver reports whether this host has the NVIDIA driver loaded: hardware
// decoding tests then expect NVDEC frames instead of the fallback.
func nvidiaDriver() bool {
	_, err := os.Stat("/proc/driver/nvidia")
	return err == nil
}

// decodeAll reads every frame of a hardware-decoded file source and returns the
// frame count, the final status and the log.
func decodeAll(t *testing.T, opts Options) (int, Status, string) {
	t.Helper()
	var logs syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	src := Open(context.Background(), opts)
	defer src.Close()
	n := 0
	for f := range src.Frames() {
		if f.Width != 320 || f.Height != 240 || f.Mat.Empty() {
			t.Fatalf("bad frame %dx%d", f.Width, f.Height)
		}
		f.Mat.Close()
		n++
	}
	st := src.Status()
	t.Logf("decoded %d frames; status %+v", n, st)
	t.Logf("log: %s", strings.TrimSpace(logs.String()))
	return n, st, logs.String()
}

func TestHWAccelCUDAFallsBackToSoftware(t *testing.T) {
	// Without an NVIDIA driver (this machine's FFmpeg has the cuda hwaccel
	// compiled in): creating the CUDA device fails, the reason is in the status
	// and the log, and decoding continues in software with identical output.
	n, st, logs := decodeAll(t, Options{URL: clip(t, "clip2s.mp4"), HWAccel: "cuda", HWDevice: "1"})
	if st.HWDevice != "cuda:1" {
		t.Errorf("HWDevice = %q", st.HWDevice)
	}
	if nvidiaDriver() {
		// a GPU host: NVDEC must work for H.264 (a second GPU may not exist)
		if n != 50 || st.HWAccel != "cuda" && !strings.Contains(st.HWFallback, "device 1") {
			t.Fatalf("NVDEC on a driver host: %d frames, hwaccel %q, fallback %q", n, st.HWAccel, st.HWFallback)
		}
		return
	}
	if n != 50 || st.HWAccel != "" {
		t.Fatalf("got %d frames, HWAccel %q; want 50 software frames", n, st.HWAccel)
	}
	if !strings.Contains(st.HWFallback, "creating cuda device 1 failed") || !strings.HasSuffix(st.HWFallback, "(no NVIDIA driver)") {
		t.Fatalf("HWFallback = %q, want the device creation failure", st.HWFallback)
	}
	if !strings.Contains(logs, "hardware decoding unavailable") {
		t.Fatal("the fallback reason was not logged")
	}
}

// NVDEC is used for H.264 and H.265 only: another codec decodes in software with
// the reason visible before any device is created (so on any host).
func TestHWAccelOtherCodecInSoftware(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mpeg4.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
		"-i", "testsrc=size=320x240:rate=25", "-t", "1", "-c:v", "mpeg4", path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	n, st, _ := decodeAll(t, Options{URL: path, HWAccel: "cuda"})
	if n != 25 || st.HWAccel != "" || st.HWFallback != "codec mpeg4 is not decoded on cuda (NVDEC is used for h264 and hevc only)" {
		t.Fatalf("%d frames, hwaccel %q, fallback %q", n, st.HWAccel, st.HWFallback)
	}
}

// With the driver: NVDEC decodes H.264 and H.265 and only the sampled frames are
// downloaded. Skipped here, naming what is missing.
func TestHWAccelNVDEC(t *testing.T) {
	if !nvidiaDriver() {
		t.Skip("no NVIDIA driver (/proc/driver/nvidia): NVDEC decoding is untested on this host")
	}
	for _, codec := range []string{"libx264", "libx265"} {
		path := filepath.Join(t.TempDir(), codec+".mp4")
		if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
			"-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v", codec, "-pix_fmt", "yuv420p", path).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v: %s", codec, err, out)
		}
		n, st, _ := decodeAll(t, Options{URL: path, HWAccel: "cuda", HWDevice: "0", MaxFPS: 5})
		if st.HWAccel != "cuda" || st.HWFallback != "" || st.Frames != 50 || n < 9 || n > 11 || st.Skipped == 0 {
			t.Errorf("%s: %d delivered of %d decoded, hwaccel %q, fallback %q", codec, n, st.Frames, st.HWAccel, st.HWFallback)
		}
	}
}
