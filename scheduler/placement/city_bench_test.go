package placement

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"
)

// cityWorld: nw workers with a 16-core CPU, every 10th also a T4 (so CPU and GPU
// devices); ns 720p 25 fps cameras (every 7th 1080p) carrying nt tasks in all: one
// each, and one more on every (ns / (nt-ns))-th camera, drawn from typical pipelines
// (as benchWorld), priorities 0–2.
func cityWorld(nw, ns, nt int, seed uint64) ([]Node, []Stream) {
	workers, _ := benchWorld(nw, 0, seed)
	type tpl struct {
		model       string
		fps, minFPS float64
		prio        int
	}
	menu := []tpl{
		{"blazeface-back", 5, 2, 1}, {"mobilefacenet", 1, 0.5, 1}, {"nanodet", 3, 1, 1}, {"ppocr", 0.2, 0.2, 1},
		{"nanodet", 1, 0.5, 0}, {"fire", 1, 1, 2}, {"color", 1, 0.5, 0}, {"blazeface-back", 2, 1, 0}, {"nanodet", 5, 1, 0},
	}
	r := rand.New(rand.NewPCG(seed, 7))
	extraEvery := max(1, ns/max(1, nt-ns))
	streams := make([]Stream, 0, ns)
	for i := range ns {
		s := Stream{ID: fmt.Sprintf("cam%05d", i), Pixels: pix720, FPS: 25}
		if i%7 == 0 {
			s.Pixels = refPixels
		}
		n := 1
		if i%extraEvery == 0 && ns+i/extraEvery < nt {
			n = 2
		}
		for j := range n {
			m := menu[r.IntN(len(menu))]
			s.Tasks = append(s.Tasks, Task{ID: fmt.Sprintf("%s.%d", s.ID, j), Model: m.model, FPS: m.fps, MinFPS: m.minFPS, Priority: m.prio})
		}
		streams = append(streams, s)
	}
	return workers, streams
}

const (
	cityWorkers, cityCameras, cityTasks = 1000, 80_000, 100_000
)

// heapAfter is the live heap once the collector has run: what a plan in force keeps.
func heapAfter() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCityScale: 80,000 cameras, 100,000 tasks, 1,000 workers (100 with a GPU).
// full: a placement from nothing, target ≤ 1 s; it reports the bytes allocated per
// placement (B/op with -benchmem) and the live heap the plan keeps (plan-MB).
// worker-leaves / worker-joins: Place with the previous plan after one CPU worker is
// lost or a new one joins; moved-% is the share of the streams that did not have to
// move (every stream but the lost worker's) that moved anyway, target ≤ 1 %.
func BenchmarkCityScale(b *testing.B) {
	workers, streams := cityWorld(cityWorkers, cityCameras, cityTasks, 1)
	tasks := 0
	for _, s := range streams {
		tasks += len(s.Tasks)
	}
	if len(streams) != cityCameras || tasks != cityTasks {
		b.Fatalf("world has %d cameras and %d tasks", len(streams), tasks)
	}
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		var p Plan
		h0 := heapAfter()
		cpu0 := testkit.CPUTime()
		for b.Loop() {
			p = Place(Config{}, workers, streams, nil)
		}
		report(b, time.Second, cpu0)
		b.ReportMetric(float64(heapAfter()-h0)/1e6, "plan-MB")
		n := map[State]int{}
		for _, g := range p.Grants {
			n[g.State]++
		}
		b.ReportMetric(float64(len(p.Assign)), "placed")
		b.ReportMetric(float64(n[Degraded]), "degraded")
		b.ReportMetric(float64(n[Rotated]), "rotated")
		b.ReportMetric(float64(n[Unplaced]), "unplaced")
		checkNoOverload(b, Config{}.withDefaults(), p)
		runtime.KeepAlive(p)
	})
	prev := Place(Config{}, workers, streams, nil)
	for _, c := range []struct {
		name  string
		nodes func() ([]Node, string)
	}{
		{"worker-leaves", func() ([]Node, string) {
			ws := append([]Node(nil), workers...)
			ws[1].Healthy = false // a CPU-only worker
			return ws, ws[1].ID
		}},
		{"worker-joins", func() ([]Node, string) {
			return append(append([]Node(nil), workers...), Node{ID: "w-new", Healthy: true, Devices: []Device{cpuDevice(16, nanodetMS)}}), ""
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ws, lost := c.nodes()
			var p Plan
			cpu0 := testkit.CPUTime()
			for b.Loop() {
				p = Place(Config{}, ws, streams, &prev)
			}
			report(b, time.Second, cpu0)
			free, moved := 0, 0
			for id, a := range prev.Assign {
				if a.Worker == lost {
					continue // had to move
				}
				free++
				if q, ok := p.Assign[id]; !ok || q.Worker != a.Worker || q.Device != a.Device {
					moved++
				}
			}
			pct := 100 * float64(moved) / float64(free)
			b.ReportMetric(pct, "moved-%")
			b.ReportMetric(float64(free), "needless-to-move")
			if pct > 1 {
				b.Fatalf("%d of %d streams that did not have to move moved (%.2f %%)", moved, free, pct)
			}
		})
	}
}
