package scheduler

import (
	"strings"

	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/workers/plan"
)

// cpuDevice is a worker's CPU as one device: Cores × the per-core rate of each
// model, each capped at the worker's capacity_fps when it reports one; a model the
// worker has not installed has no rate, so the planner puts nothing that needs it
// there. The rate is the worker's own CPU benchmark (its heartbeat's Device "cpu"
// results) at the batch size the model's streams can fill — the largest measured
// size not above its streams per live worker (streams send one frame at a time, so
// that is the most a batch holds) — else Costs.ModelFPS, the cost table; decoding is
// sized from its streams' measured decode costs. All of it is divided by the
// worker's measured CPUFactor (what a live frame costs over those figures).
func (c *Cluster) cpuDevice(m *Member, models map[string]int, workers int) placement.Device {
	cores := float64(max(m.Cores, 1))
	k := 1.0 // measured CPU over modelled (calibrate.go)
	if m.CPUFactor > 0 {
		k = m.CPUFactor
	}
	m.placedFactor = k
	d := placement.Device{ID: "cpu", Kind: "cpu", DecodeFPS: cores * c.Costs.DecodeFPS / k, ModelFPS: map[string]float64{}}
	for codec, r := range measuredDecode(m.Status) {
		if codec == "" {
			d.DecodeFPS = cores * r / k
		} else {
			if d.CodecFPS == nil {
				d.CodecFPS = map[string]float64{}
			}
			d.CodecFPS[codec] = cores * r / k
		}
	}
	rates := map[string]float64{}
	for name, streams := range models {
		if !m.has(name) {
			continue // not installed there yet: nothing that needs it goes there
		}
		r := measuredCPU(m.CPUBench, name, max(streams/max(workers, 1), 1))
		if r <= 0 {
			r = c.tableRate(name)
		}
		rates[name] = r
		f := cores * r / k
		if m.CapacityFPS > 0 {
			f = min(f, m.CapacityFPS)
		}
		d.ModelFPS[name] = f
	}
	m.cal.rates = rates
	return d
}

// measuredDecode is a worker's full-decode rate on one core by codec (the
// planner's names: "" for H.264, "h265", else FFmpeg's), in 1080p frames/s: the
// mean over its streams of that codec of their measured cost per decoded frame
// (source Status DecodeCPUMS), scaled by their pixels to 1080p.
func measuredDecode(status map[string]plan.StreamStatus) map[string]float64 {
	sum, n := map[string]float64{}, map[string]int{}
	for _, st := range status {
		src := st.Source
		if px := src.Width * src.Height; src.DecodeCPUMS > 0 && px > 0 {
			c := planCodec(src.Codec)
			sum[c] += 1000 / src.DecodeCPUMS * float64(px) / (1920 * 1080)
			n[c]++
		}
	}
	for c := range sum {
		sum[c] /= float64(n[c])
	}
	return sum
}

// decodeMoved reports whether a measured decode rate appeared, went or changed by
// more than a fifth: worth placing again.
func decodeMoved(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return true
	}
	for c, r := range a {
		if o, ok := b[c]; !ok || o > r*1.2 || o < r/1.2 {
			return true
		}
	}
	return false
}

// planCodec is the placement planner's name of a codec a source reports.
func planCodec(c string) string {
	switch c = strings.ToLower(c); c {
	case "h264", "avc":
		return ""
	case "hevc":
		return "h265"
	}
	return c
}

// measuredCPU is model's per-core frames/s from a worker's CPU benchmark at the
// largest measured batch size ≤ batch (0: not measured).
func measuredCPU(bench []plan.DeviceBench, model string, batch int) float64 {
	fps, size := 0.0, 0
	for _, b := range bench {
		if b.Model == model && b.FPS > 0 && b.BatchSize <= batch && b.BatchSize > size {
			fps, size = b.FPS, b.BatchSize
		}
	}
	return fps
}

// cpuBench is the part of a heartbeat's benchmark results measured on the CPU.
func cpuBench(bs []plan.DeviceBench) []plan.DeviceBench {
	var out []plan.DeviceBench
	for _, b := range bs {
		if b.Device == "cpu" && b.Provider == "cpu" && b.FPS > 0 {
			out = append(out, b)
		}
	}
	return out
}

// SetModelFPS updates a model's per-core frames/s (from the warehouse benchmark of
// its published version) and re-places if it changed.
func (c *Cluster) SetModelFPS(model string, perCore float64) {
	if perCore <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Costs.ModelFPS[model] == perCore {
		return
	}
	m := make(map[string]float64, len(c.Costs.ModelFPS)+1)
	for k, v := range c.Costs.ModelFPS {
		m[k] = v
	}
	m[model] = perCore
	c.Costs.ModelFPS = m
	c.placeLocked()
}

// gpuDevices are a worker's GPUs, one "cuda" device each with two budgets that the
// planner holds under the target separately: decode on the NVDEC engines (engines ×
// Costs.NVDECFPS per codec; codecs NVDEC is not used for cannot go there) and
// inference on the SMs (the models measured on that model of card, at their
// measured batch size). A GPU with no measured model still decodes nothing on its
// own: a stream goes where all its models run.
func (c *Cluster) gpuDevices(m *Member, models map[string]int) []placement.Device {
	var out []placement.Device
	for _, g := range m.GPUs {
		rates := c.Costs.GPUModelFPS[g.Model]
		d := placement.Device{ID: g.DeviceID(), Kind: "cuda", DecodeFPS: float64(g.NVDEC) * c.Costs.NVDECFPS["h264"],
			CodecFPS: map[string]float64{"h265": float64(g.NVDEC) * c.Costs.NVDECFPS["h265"]}, ModelFPS: map[string]float64{}}
		for _, cd := range c.codecs {
			if n := gpuCodec(cd); n != "h264" && n != "h265" {
				d.CodecFPS[n] = 0 // decoded in software only: not on a GPU device
			}
		}
		for name := range models {
			if r := rates[rateName(name)]; r > 0 && m.has(name) {
				d.ModelFPS[name] = r
			}
		}
		out = append(out, d)
	}
	return out
}

// gpuCodec is the GPU device's name of a codec a source reports ("h264" where the
// planner says "").
func gpuCodec(c string) string {
	if p := planCodec(c); p != "" {
		return p
	}
	return "h264"
}

// learnGPUBench takes a heartbeat's GPU benchmark results into Costs.GPUModelFPS
// and reports whether a figure changed. Only runs that really ran on CUDA count.
func (c *Cluster) learnGPUBench(bs []plan.DeviceBench) bool {
	changed := false
	for _, b := range bs {
		if b.Provider == "cuda" && b.FPS > 0 && b.Device != "" && c.setGPUModelFPS(b.Device, b.Model, b.FPS) {
			changed = true
		}
	}
	return changed
}

// setGPUModelFPS records a model's frames/s on a class of GPU (copy on write: the
// map may be shared with a caller's Costs) and reports whether it changed.
func (c *Cluster) setGPUModelFPS(class, model string, fps float64) bool {
	if c.Costs.GPUModelFPS[class][model] == fps {
		return false
	}
	all := make(map[string]map[string]float64, len(c.Costs.GPUModelFPS)+1)
	for k, v := range c.Costs.GPUModelFPS {
		all[k] = v
	}
	one := make(map[string]float64, len(all[class])+1)
	for k, v := range all[class] {
		one[k] = v
	}
	one[model] = fps
	all[class] = one
	c.Costs.GPUModelFPS = all
	return true
}

// SetGPUModelFPS records a model's frames/s on one GPU of a class (the warehouse
// benchmark of its published version run on that class) and re-places if it changed.
func (c *Cluster) SetGPUModelFPS(class, model string, fps float64) {
	if fps <= 0 || class == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.setGPUModelFPS(class, model, fps) {
		c.placeLocked()
	}
}

// sameGPUs compares what sizes the devices (which GPUs, their model and engines),
// not the utilisation and memory use every heartbeat carries anew.
func sameGPUs(a, b []plan.GPU) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Index != b[i].Index || a[i].Model != b[i].Model || a[i].NVDEC != b[i].NVDEC {
			return false
		}
	}
	return true
}
