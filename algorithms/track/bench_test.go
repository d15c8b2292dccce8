package track

import (
	"math/rand"
	"syscall"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models/decode"
)

// BenchmarkUpdate30 is one Update with 30 people walking in a 1920×1080 frame, with
// detection jitter, 10 % missed detections and 10 % low-score ones, each with a
// 56-bin appearance feature as capture gives (gating and re-identification run):
// the budget is 0.2 ms per frame on one core (go test -cpu 1).
func BenchmarkUpdate30(b *testing.B) {
	rng := rand.New(rand.NewSource(3))
	objs := make([]walker, 30)
	for i := range objs {
		objs[i] = walker{x: rng.Float32() * 1800, y: rng.Float32() * 900, vx: rng.Float32()*16 - 8, vy: rng.Float32()*8 - 4, w: 40, h: 100}
	}
	looks := make([][]float32, len(objs))
	for i := range looks {
		looks[i] = make([]float32, 56)
		for j := range looks[i] {
			looks[i][j] = rng.Float32() / 28 // sums to about 1
		}
	}
	const frames = 512
	seq := make([][]decode.Detection, frames)
	feats := make([][][]float32, frames)
	for f := range seq {
		for oi, o := range objs {
			if rng.Float32() < 0.1 {
				continue
			}
			d := o.at(f % 64) // objects wrap around every 64 frames
			j := func() float32 { return float32(rng.NormFloat64()) * 2 }
			d.Box = decode.Box{X1: d.Box.X1 + j(), Y1: d.Box.Y1 + j(), X2: d.Box.X2 + j(), Y2: d.Box.Y2 + j()}
			if rng.Float32() < 0.1 {
				d.Score = 0.3
			}
			seq[f] = append(seq[f], d)
			feats[f] = append(feats[f], looks[oi])
		}
	}
	tr := New(Config{FPS: 5})
	t0 := time.Unix(0, 0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		tr.Update(t0.Add(time.Duration(i)*200*time.Millisecond), seq[i%frames], feats[i%frames])
	}
	b.StopTimer()
	// the process's CPU time per frame: on a shared machine wall time also counts
	// the time other processes held the core
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if b.N >= 100 && tr.Live() < 25 {
		b.Fatalf("%d live tracks for 30 objects", tr.Live())
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
