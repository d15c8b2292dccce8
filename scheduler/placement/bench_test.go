package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"
)

// Per-frame costs used by the benchmarks and the capacity question. Measured on this
// repository's CPU machine (one core, ONNX Runtime): nanodet 110–170 ms, blazeface 28
// ms, PP-OCR per vehicle best shot 150 ms, decode 4 ms per 720p frame. mobilefacenet,
// the fire model and colour are assumptions (not measured), as is every GPU number.
const (
	nanodetMS   = 140.0 // mid of the measured 110–170
	blazefaceMS = 28.0
	ocrMS       = 150.0
	decode720MS = 4.0
	embedMS     = 10.0 // assumption
	fireMS      = 60.0 // assumption
	colorMS     = 5.0  // assumption
)

var pix720 = 1280 * 720

// cpuDevice is a whole CPU of `cores` cores, assuming throughput scales with cores.
func cpuDevice(cores int, nanodet float64) Device {
	c := float64(cores)
	return Device{ID: "cpu", Kind: "cpu",
		DecodeFPS: c * 1000 / decode720MS * float64(pix720) / refPixels, // 1080p-equivalent
		ModelFPS: map[string]float64{
			"nanodet": c * 1000 / nanodet, "blazeface-back": c * 1000 / blazefaceMS, "ppocr": c * 1000 / ocrMS,
			"mobilefacenet": c * 1000 / embedMS, "fire": c * 1000 / fireMS, "color": c * 1000 / colorMS,
		}}
}

// t4 is an ASSUMED NVIDIA T4 (nothing was measured on a GPU): NVDEC about 1,100
// 1080p H.264 frames/s (NVIDIA quotes ~38 1080p30 streams), TensorRT/ORT-CUDA
// throughputs at batch 8 in the range published for models of this size.
func t4() Device {
	return Device{ID: "cuda:0", Kind: "cuda", DecodeFPS: 1100, ModelFPS: map[string]float64{
		"nanodet": 1000, "blazeface-back": 3000, "ppocr": 400, "mobilefacenet": 4000, "fire": 1000, "color": 5000,
	}}
}

// benchWorld: nw workers with a 16-core CPU, every 10th also a T4; ns 720p 25 fps
// cameras (every 7th 1080p) with 5 tasks each drawn from typical pipelines, some
// sharing a model at different rates, priorities 0–2.
func benchWorld(nw, ns int, seed uint64) ([]Node, []Stream) {
	var workers []Node
	for i := range nw {
		w := Node{ID: fmt.Sprintf("w%03d", i), Healthy: true, Devices: []Device{cpuDevice(16, nanodetMS)}}
		if i%10 == 0 {
			w.Devices = append(w.Devices, t4())
		}
		workers = append(workers, w)
	}
	type tpl struct {
		model       string
		fps, minFPS float64
		prio        int
	}
	menu := []tpl{
		{"blazeface-back", 5, 2, 1}, {"mobilefacenet", 1, 0.5, 1}, {"nanodet", 3, 1, 1}, {"ppocr", 0.2, 0.2, 1},
		{"nanodet", 1, 0.5, 0}, {"fire", 1, 1, 2}, {"color", 1, 0.5, 0}, {"blazeface-back", 2, 1, 0}, {"nanodet", 5, 1, 0},
	}
	r := rand.New(rand.NewPCG(seed, 42))
	var streams []Stream
	for i := range ns {
		s := Stream{ID: fmt.Sprintf("cam%05d", i), Pixels: pix720, FPS: 25}
		if i%7 == 0 {
			s.Pixels = refPixels
		}
		for j := range 5 {
			m := menu[r.IntN(len(menu))]
			s.Tasks = append(s.Tasks, Task{ID: fmt.Sprintf("%s.%d", s.ID, j), Model: m.model, FPS: m.fps, MinFPS: m.minFPS, Priority: m.prio})
		}
		streams = append(streams, s)
	}
	return workers, streams
}

// report adds wall ms/op, its ratio to the target and the process CPU time per op
// (started before the loop: cpu0); the machine these ran on is shared, so wall time
// includes waiting for a core.
func report(b *testing.B, target time.Duration, cpu0 time.Duration) {
	per := float64(b.Elapsed()) / float64(b.N)
	b.ReportMetric(per/1e6, "ms/op")
	b.ReportMetric(per/float64(target), "x_target")
	if c := testkit.CPUTime(); c > 0 {
		b.ReportMetric(float64(c-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// BenchmarkPlace10kTasks: a full placement from nothing of 10,000 tasks on 2,000
// streams over 100 workers (10 with a GPU). Target ≤ 50 ms.
func BenchmarkPlace10kTasks(b *testing.B) {
	workers, streams := benchWorld(100, 2000, 1)
	var p Plan
	cpu0 := testkit.CPUTime()
	for b.Loop() {
		p = Place(Config{}, workers, streams, nil)
	}
	report(b, 50*time.Millisecond, cpu0)
	b.ReportMetric(float64(len(p.Assign)), "placed")
}

// allLow makes every task priority 0, so every stream may be time-shared.
func allLow(streams []Stream) []Stream {
	for i := range streams {
		for j := range streams[i].Tasks {
			streams[i].Tasks[j].Priority = 0
		}
	}
	return streams
}

// BenchmarkPlace10kTasksOverloaded: the same streams on fewer workers, so the
// degradation ladder is searched. For information; the target is the one above.
// mixed-priority: 50 workers (5 GPUs), about twice what fits at requested rates;
// all-rotatable: 20 workers (2 GPUs), every task priority 0, so low-priority
// streams are time-shared at scale.
func BenchmarkPlace10kTasksOverloaded(b *testing.B) {
	for _, c := range []struct {
		name    string
		workers int
		low     bool
	}{{"mixed-priority", 50, false}, {"all-rotatable", 20, true}} {
		b.Run(c.name, func(b *testing.B) {
			workers, streams := benchWorld(c.workers, 2000, 1)
			if c.low {
				allLow(streams)
			}
			var p Plan
			cpu0 := testkit.CPUTime()
			for b.Loop() {
				p = Place(Config{}, workers, streams, nil)
			}
			report(b, 50*time.Millisecond, cpu0)
			n := map[State]int{}
			for _, g := range p.Grants {
				n[g.State]++
			}
			b.ReportMetric(float64(n[Degraded]), "degraded")
			b.ReportMetric(float64(n[Rotated]), "rotated")
			b.ReportMetric(float64(n[Unplaced]), "unplaced")
			checkNoOverload(b, Config{}.withDefaults(), p)
		})
	}
}

// BenchmarkReplanLostWorker: one worker of 100 lost after a full placement; its
// streams are placed again, the others stay. Target ≤ 10 ms. overloaded-rotating (for
// information): one of the 20 workers of the all-rotatable world above is lost, so
// the ladder is searched again and slots grow.
func BenchmarkReplanLostWorker(b *testing.B) {
	for _, c := range []struct {
		name           string
		workers, lost  int
		overloadedRota bool
	}{{"cpu-worker", 100, 1, false}, {"gpu-worker", 100, 0, false}, {"overloaded-rotating/cpu-worker", 20, 1, true}} {
		b.Run(c.name, func(b *testing.B) {
			workers, streams := benchWorld(c.workers, 2000, 1)
			if c.overloadedRota {
				allLow(streams)
			}
			lost := c.lost
			prev := Place(Config{}, workers, streams, nil)
			moved := 0
			for _, a := range prev.Assign {
				if a.Worker == workers[lost].ID {
					moved++
				}
			}
			workers[lost].Healthy = false
			var p Plan
			cpu0 := testkit.CPUTime()
			for b.Loop() {
				p = Place(Config{}, workers, streams, &prev)
			}
			report(b, 10*time.Millisecond, cpu0)
			b.ReportMetric(float64(moved), "moved")
			stayed := 0
			for id, a := range p.Assign {
				if q, ok := prev.Assign[id]; ok && q.Worker == a.Worker && q.Device == a.Device {
					stayed++
				}
			}
			if !c.overloadedRota && stayed != len(prev.Assign)-moved {
				b.Fatalf("%d streams stayed, want %d", stayed, len(prev.Assign)-moved)
			}
		})
	}
}
