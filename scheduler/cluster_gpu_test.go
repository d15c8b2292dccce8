package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// Fake inventories: an H100 (7 NVDEC) whose nanodet runs at 1000 frames/s there.
// A 1080p25 H.264 stream with nanodet at 5 fps costs on that GPU decode 25/(7×500)
// = 0.00714 and inference 5/1000 = 0.005, so a GPU holds ⌊0.85/0.00714⌋ = 119 such
// streams (decode-bound); on a 16-core CPU it costs 25/4000 + 5/144 = 0.0410 (20
// fit), on a 4-core one 0.164 (5 fit).
var h100 = plan.GPU{Index: 0, Model: "NVIDIA H100 80GB HBM3", NVDEC: 7, MemoryMB: 81559}

func gpuBench(fps float64) []plan.DeviceBench {
	return []plan.DeviceBench{{Device: h100.Model, Model: "nanodet", Version: "1", Provider: "cuda", BatchSize: 8, FPS: fps}}
}

func nanodetStreams(n int, prefix string) []plan.StreamPlan {
	out := make([]plan.StreamPlan, n)
	for i := range out {
		id := fmt.Sprintf("%s%03d", prefix, i)
		out[i] = plan.StreamPlan{Stream: store.Stream{ID: id}, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t" + id, Algorithm: "person_vehicle_capture"}, FPS: 5}}}
	}
	return out
}

// where counts the streams on each worker/device and checks every lease names the
// device the plan put its stream on.
func where(t *testing.T, c *Cluster, leases ...plan.Lease) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, l := range leases {
		for _, p := range l.Plans {
			a := c.prevPlan.Assign[p.Stream.ID]
			if p.Device != a.Device || a.Worker != l.WorkerID {
				t.Fatalf("stream %s leased to %s on %q, planned on %s/%s", p.Stream.ID, l.WorkerID, p.Device, a.Worker, a.Device)
			}
			n[l.WorkerID+"/"+p.Device]++
		}
	}
	return n
}

// Mixed CPU and GPU workers: streams go to the GPU while both its budgets hold (here
// decode is the binding one), then overflow to the CPUs; nothing goes to a GPU
// before its model has been measured on that class of card.
func TestClusterPlacesOnGPUs(t *testing.T) {
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return time.Unix(1000, 0) }
	gpuBeat := func(bench []plan.DeviceBench) plan.Lease {
		return c.Heartbeat(plan.Heartbeat{ID: "gpu1", Cores: 16, GPUs: []plan.GPU{h100}, Bench: bench})
	}
	cpuBeat := func() plan.Lease { return c.Heartbeat(plan.Heartbeat{ID: "cpu1", Cores: 4, GPUs: []plan.GPU{}}) }
	gpuBeat(nil)
	cpuBeat()
	c.Apply(nanodetStreams(10, "a"))
	if n := where(t, c, gpuBeat(nil), cpuBeat()); n["gpu1/cuda:0"] != 0 || n["gpu1/cpu"]+n["cpu1/cpu"] != 10 {
		t.Fatalf("nanodet unmeasured on the H100, yet %v", n)
	}

	// the benchmark arrives: new streams fill the GPU to its decode budget, the
	// rest overflow to the CPUs; the first ten stay where they decode already
	before := map[string]placement.Assignment{}
	for k, v := range c.prevPlan.Assign {
		before[k] = v
	}
	gpuBeat(gpuBench(1000))
	c.Apply(append(nanodetStreams(10, "a"), nanodetStreams(125, "b")...))
	n := where(t, c, gpuBeat(gpuBench(1000)), cpuBeat())
	if n["gpu1/cuda:0"] != 119 || n["gpu1/cpu"]+n["cpu1/cpu"] != 135-119 {
		t.Fatalf("placed %v, want 119 on the GPU (decode-bound) and 16 on the CPUs", n)
	}
	for id, a := range before {
		if b := c.prevPlan.Assign[id]; b.Worker != a.Worker || b.Device != a.Device {
			t.Errorf("%s moved from %s/%s to %s/%s", id, a.Worker, a.Device, b.Worker, b.Device)
		}
	}
	if u := c.prevPlan.Util["gpu1/cuda:0"]; u < 0.84 || u > 0.85 {
		t.Errorf("GPU planned at %.3f", u)
	}
	for id, g := range c.Grants() {
		if g.State != placement.OK {
			t.Errorf("task %s: %+v", id, g)
		}
	}

	// a second H100 worker joins: nothing moves (stickiness), new streams go to it
	c.Heartbeat(plan.Heartbeat{ID: "gpu2", Cores: 16, GPUs: []plan.GPU{h100}})
	placed := map[string]placement.Assignment{}
	for k, v := range c.prevPlan.Assign {
		placed[k] = v
	}
	c.Apply(append(append(nanodetStreams(10, "a"), nanodetStreams(125, "b")...), nanodetStreams(20, "c")...))
	n = where(t, c, gpuBeat(nil), cpuBeat(), c.Heartbeat(plan.Heartbeat{ID: "gpu2", Cores: 16, GPUs: []plan.GPU{h100}}))
	if n["gpu2/cuda:0"] != 20 {
		t.Errorf("new streams: %v, want all 20 on gpu2's GPU", n)
	}
	for id, a := range placed {
		if b := c.prevPlan.Assign[id]; b.Worker != a.Worker || b.Device != a.Device {
			t.Errorf("%s moved from %s/%s to %s/%s", id, a.Worker, a.Device, b.Worker, b.Device)
		}
	}
}

// Inference can be the binding budget, a codec NVDEC is not used for stays on the
// CPU, and H.265 takes the h265 rate.
func TestClusterGPUBudgets(t *testing.T) {
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return time.Unix(1000, 0) }
	c.Costs.NVDECFPS = map[string]float64{"h264": 500, "h265": 250}
	c.Heartbeat(plan.Heartbeat{ID: "g", Cores: 4, GPUs: []plan.GPU{h100}, Bench: gpuBench(100)})
	// inference-bound: 0.85 / (5/100) = 17 streams; 3 more on the CPU (0.164 each)
	c.Apply(nanodetStreams(20, "s"))
	l := c.Heartbeat(plan.Heartbeat{ID: "g", Cores: 4, GPUs: []plan.GPU{h100}})
	if n := where(t, c, l); n["g/cuda:0"] != 17 || n["g/cpu"] != 3 {
		t.Fatalf("inference-bound GPU: %v, want 17 on cuda:0", n)
	}
	// the sources report their codecs: an MPEG-4 stream leaves the GPU, HEVC
	// streams cost twice the decode of H.264 (still within budget here)
	status := map[string]plan.StreamStatus{}
	for i := range 20 {
		id := fmt.Sprintf("s%03d", i)
		codec := "hevc"
		if i == 0 {
			codec = "mpeg4"
		}
		status[id] = plan.StreamStatus{StreamID: id, Source: source.Status{Codec: codec, Width: 1920, Height: 1080}}
	}
	c.Heartbeat(plan.Heartbeat{ID: "g", Cores: 4, GPUs: []plan.GPU{h100}, Status: status})
	if a := c.prevPlan.Assign["s000"]; a.Device != "cpu" {
		t.Errorf("an MPEG-4 stream on %s", a.Device)
	}
	// the MPEG-4 stream left the GPU; the CPU streams stay where they decode
	if n := where(t, c, c.Heartbeat(plan.Heartbeat{ID: "g", Cores: 4, GPUs: []plan.GPU{h100}})); n["g/cuda:0"] != 16 || n["g/cpu"] != 4 {
		t.Errorf("after the codecs: %v", n)
	}
	if got, want := c.prevPlan.Util["g/cuda:0"], 0.85; got > want+1e-9 {
		t.Errorf("GPU over target: %v", got)
	}
	for id, a := range c.prevPlan.Assign {
		if a.Device == "cuda:0" && (a.Cost < 0.05-1e-9 || a.Cost > 0.05+1e-9) {
			t.Errorf("%s on the GPU costs %v, want max(decode 25/1750, inference 0.05) = 0.05", id, a.Cost)
		}
	}
}
