package source

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"
)

// benchClip is a 15 s 1920x1080 25 fps H.264 clip with a 2 s GOP, made once
// into $CITYEYE_HOME/bench (default ~/.cache/cityeye/bench): testsrc2 with
// temporal noise (a camera sensor's), libx264 veryfast at 4 Mb/s CBR-like,
// B-frames (x264 default), no scene-cut key frames. Encoding takes ~40 s
// on two shared cores.
func benchClip(b *testing.B) (string, time.Duration) {
	b.Helper()
	home := os.Getenv("CITYEYE_HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			b.Fatal(err)
		}
		home = filepath.Join(h, ".cache", "cityeye")
	}
	const seconds = 15
	p := filepath.Join(home, "bench", "kf-1080p25-gop2-4M-15s.mp4")
	if _, err := os.Stat(p); err != nil {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		b.Logf("encoding %s with the ffmpeg CLI (once)", p)
		tmp := p + ".tmp.mp4"
		out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
			"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25,noise=alls=6:allf=t", "-t", fmt.Sprint(seconds),
			"-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-maxrate", "4M", "-bufsize", "8M",
			"-g", "50", "-keyint_min", "50", "-sc_threshold", "0", tmp).CombinedOutput()
		if err != nil {
			b.Fatalf("ffmpeg: %v: %s", err, out)
		}
		if err := os.Rename(tmp, p); err != nil {
			b.Fatal(err)
		}
	}
	return p, seconds * time.Second
}

// BenchmarkKeyframeDecode decodes the same clip, unpaced, in full and with
// KeyframesOnly, side by side in each iteration (alternating which goes
// first), and reports the process CPU time (getrusage: all threads) per
// second of video for each, and their ratio. Every mode delivers the same
// frames: MaxFPS 0.5 = one BGR frame per 2 s GOP, the key frame.
//
//   - full: what a stream costs today (every frame decoded with frame
//     threads, sampled down to 0.5 fps before colour conversion);
//   - keyframes: KeyframesOnly in steady state (MaxGOP -1: key frames only
//     from the first packet);
//   - keyframes+measure: KeyframesOnly with the default MaxGOP (1/MaxFPS =
//     2 s), so the first GOP of the 15 s is decoded in full while the GOP is
//     measured, as after a worker starts a stream.
func BenchmarkKeyframeDecode(b *testing.B) {
	path, dur := benchClip(b)
	modes := []struct {
		name string
		opts Options
	}{
		{"full", Options{MaxFPS: 0.5}},
		{"keyframes", Options{MaxFPS: 0.5, KeyframesOnly: true, MaxGOP: -1}},
		{"keyframes+measure", Options{MaxFPS: 0.5, KeyframesOnly: true}},
	}
	cpu := make([][]time.Duration, len(modes))
	wall := make([][]time.Duration, len(modes))
	run := func(i int) {
		o := modes[i].opts
		o.URL, o.NoRealtime, o.Logger = path, true, quietLogger()
		w0, c0 := time.Now(), testkit.CPUTime()
		src := Open(context.Background(), o)
		n := 0
		for f := range src.Frames() {
			f.Mat.Close()
			n++
		}
		c, w := testkit.CPUTime()-c0, time.Since(w0)
		st := src.Status()
		src.Close()
		if n != int(dur/(2*time.Second))+1 || st.State != StateOffline {
			b.Fatalf("%s: %d frames delivered, status %+v", modes[i].name, n, st)
		}
		cpu[i], wall[i] = append(cpu[i], c), append(wall[i], w)
	}
	run(0) // warm up: page cache, FFmpeg's static tables
	cpu[0], wall[0] = nil, nil
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for k := range modes {
			run((k + it) % len(modes)) // rotate the order
		}
	}
	b.StopTimer()
	perSec := func(d time.Duration) float64 { return float64(d) / 1e6 / dur.Seconds() }
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	full := med(cpu[0])
	for i, m := range modes {
		c, w := med(cpu[i]), med(wall[i])
		b.ReportMetric(perSec(c), m.name+"-cpu-ms/s")
		if i > 0 {
			b.ReportMetric(float64(full)/float64(c), "full/"+m.name)
		}
		var ratios []float64
		for it := range cpu[i] {
			ratios = append(ratios, float64(cpu[0][it])/float64(cpu[i][it]))
		}
		b.Logf("%-18s CPU %6.1f ms per s of video (median of %d; min %.1f max %.1f), wall %6.1f ms/s; full/this per iteration %.2f",
			m.name, perSec(c), len(cpu[i]), perSec(slices.Min(cpu[i])), perSec(slices.Max(cpu[i])), perSec(w), ratios)
	}
}
