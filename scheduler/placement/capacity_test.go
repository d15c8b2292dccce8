package placement

import (
	"fmt"
	"strings"
	"testing"
)

// TestSeedCapacity answers the seeds' question with the planner itself: how many
// workers do 600 face-capture and 500 vehicle-capture channels need, every task at its
// requested rate, no device above the 0.85 target.
//
// Inputs (stated, per frame on one core of this repository's CPU machine): decode 4
// ms per 720p frame, blazeface 28 ms, nanodet 110 ms (best) to 170 ms (worst), PP-OCR
// 150 ms per vehicle best shot. Channels are 720p H.264 at 25 fps, decoded in full
// (their tasks need more than 1 fps). A face-capture channel runs blazeface at 5 fps
// (the face embedding of emitted faces is left out: not measured); a vehicle-capture
// channel runs nanodet at 3 fps and one OCR read per vehicle, at an assumed 0.2
// vehicles/s (720 an hour). A CPU worker has 16 cores and throughput is assumed to
// scale with cores. GPU numbers are ASSUMPTIONS (no GPU was measured): the T4 of
// bench_test.go, NVDEC ~1,100 1080p frames/s, nanodet 1,000, blazeface 3,000, OCR 400
// per second.
func TestSeedCapacity(t *testing.T) {
	channel := func(kind string, i int) Stream {
		s := Stream{ID: fmt.Sprintf("%s%03d", kind, i), Pixels: pix720, FPS: 25}
		if kind == "face" {
			s.Tasks = []Task{{ID: s.ID + ".face", Model: "blazeface-back", FPS: 5}}
		} else {
			s.Tasks = []Task{{ID: s.ID + ".det", Model: "nanodet", FPS: 3}, {ID: s.ID + ".ocr", Model: "ppocr", FPS: 0.2}}
		}
		return s
	}
	mix := func(face, vehicle int) []Stream {
		var out []Stream
		for i := range face {
			out = append(out, channel("face", i))
		}
		for i := range vehicle {
			out = append(out, channel("vehicle", i))
		}
		return out
	}
	kinds := []struct {
		name string
		devs func() []Device
	}{
		{"CPU 16 cores, nanodet 110 ms", func() []Device { return []Device{cpuDevice(16, 110)} }},
		{"CPU 16 cores, nanodet 170 ms", func() []Device { return []Device{cpuDevice(16, 170)} }},
		{"T4 (assumed), GPU only", func() []Device { return []Device{t4()} }},
		{"T4 (assumed) + its 16 cores, 110 ms", func() []Device { return []Device{cpuDevice(16, 110), t4()} }},
		{"T4 (assumed) + its 16 cores, 170 ms", func() []Device { return []Device{cpuDevice(16, 170), t4()} }},
	}
	loads := []struct {
		name          string
		face, vehicle int
	}{{"600 face @5 fps", 600, 0}, {"500 vehicle @3 fps", 0, 500}, {"both (1,100 channels)", 600, 500}}
	want := [][]int{ // workers: rows = loads, columns = kinds
		{11, 11, 8, 5, 5},
		{18, 24, 6, 5, 5},
		{28, 35, 14, 8, 8},
	}
	for _, kind := range []string{"face", "vehicle"} {
		for _, n := range []float64{110, 170} {
			t.Logf("%s channel, nanodet %v ms: %s", kind, n, channelCost([]Device{cpuDevice(16, n), t4()}, channel(kind, 0)))
		}
	}
	var table strings.Builder
	table.WriteString("| channels | " + strings.Join(func() []string {
		var h []string
		for _, k := range kinds {
			h = append(h, k.name)
		}
		return h
	}(), " | ") + " |\n|---" + strings.Repeat("|---", len(kinds)) + "|\n")
	for r, l := range loads {
		streams := mix(l.face, l.vehicle)
		table.WriteString("| " + l.name)
		for c, k := range kinds {
			n, p := workersNeeded(k.devs, streams)
			table.WriteString(fmt.Sprintf(" | %d (%s)", n, avgUtil(p)))
			if n != want[r][c] {
				t.Errorf("%s on %s: %d workers, want %d", l.name, k.name, n, want[r][c])
			}
		}
		table.WriteString(" |\n")
	}
	t.Logf("workers needed (every task at its requested rate, devices ≤ 85%%):\n%s", table.String())
}

// workersNeeded is the smallest number of identical workers on which every task runs
// at its requested rate.
func workersNeeded(devs func() []Device, streams []Stream) (int, Plan) {
	try := func(n int) (Plan, bool) {
		workers := make([]Node, n)
		for i := range workers {
			workers[i] = Node{ID: fmt.Sprintf("w%03d", i), Devices: devs(), Healthy: true}
		}
		p := Place(Config{}, workers, streams, nil)
		for _, g := range p.Grants {
			if g.State != OK {
				return p, false
			}
		}
		return p, true
	}
	lo, hi := 1, 1
	for {
		if _, ok := try(hi); ok {
			break
		}
		lo, hi = hi+1, hi*2
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if _, ok := try(mid); ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	p, _ := try(hi)
	return hi, p
}

// avgUtil is the mean planned utilisation over all devices.
func avgUtil(p Plan) string {
	var sum float64
	for _, u := range p.Util {
		sum += u
	}
	return fmt.Sprintf("avg %.0f%%", 100*sum/float64(len(p.Util)))
}

// channelCost is one channel's decode and inference share of each device kind.
func channelCost(devs []Device, s Stream) string {
	p := newPlanner(Config{}.withDefaults(), []Node{{ID: "w", Devices: devs, Healthy: true}}, []Stream{s}, nil)
	var out []string
	for d := range p.devs {
		c := p.ci(0, int32(d))
		w := weight(p.devs[d].cuda, p.dec[c], p.inf[c])
		out = append(out, fmt.Sprintf("%s: decode %.4f + inference %.4f → %.4f, %d per device", p.devs[d].id, p.dec[c], p.inf[c], w, int(0.85/w+1e-9)))
	}
	return strings.Join(out, "; ")
}
