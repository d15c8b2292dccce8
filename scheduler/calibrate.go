package scheduler

import (
	"time"

	"github.com/cityeye/cityeye/workers/plan"
)

// What a worker's CPU does is planned from per-frame costs measured in isolation
// (its CPU benchmark, its streams' decode costs). A live frame costs more: ONNX
// Runtime's thread pool, the algorithms, second-stage models, the recorder. The
// cluster measures that from the worker's heartbeats — the process CPU time it
// spent against what the frames it ran would cost at the planned rates — and sizes
// the worker's CPU by the ratio (Member.CPUFactor): the planner then keeps the
// measured CPU, not only the modelled one, under its target.

const (
	calibrateWindow = 10 * time.Second // shortest window a factor is measured over
	calibrateMinUse = 0.1              // cores the modelled work must keep busy to measure
)

// calibration is what the last window started from.
type calibration struct {
	at      time.Time
	cpu     float64          // the worker's process CPU seconds
	frames  map[string]int64 // model → frames its batchers ran
	decoded map[string]uint64
	rates   map[string]float64 // model → per-core frames/s the last placement used
}

// calibrate takes a heartbeat's CPU time and counters into m.CPUFactor (the measured
// CPU over the modelled one, smoothed) and reports whether it moved by more than a
// tenth since the last placement.
func (c *Cluster) calibrate(m *Member, hb plan.Heartbeat) bool {
	if hb.CPUSeconds <= 0 {
		return false
	}
	now := c.now()
	frames := map[string]int64{}
	for _, b := range hb.Batchers {
		if b.Device == "" || b.Device == "cpu" {
			frames[b.Model] += b.Frames
		}
	}
	decoded := map[string]uint64{}
	for id, st := range hb.Status {
		decoded[id] = st.Source.Frames
	}
	prev := m.cal
	if prev.at.IsZero() || hb.CPUSeconds < prev.cpu {
		m.cal = calibration{at: now, cpu: hb.CPUSeconds, frames: frames, decoded: decoded, rates: prev.rates}
		return false
	}
	window := now.Sub(prev.at).Seconds()
	if window < calibrateWindow.Seconds() {
		return false
	}
	modelled := 0.0 // core-seconds the window's frames cost at the planned rates
	for model, n := range frames {
		if d := n - prev.frames[model]; d > 0 {
			r := prev.rates[model]
			if r <= 0 {
				r = c.tableRate(model)
			}
			modelled += float64(d) / r
		}
	}
	for id, st := range hb.Status {
		d := int64(st.Source.Frames) - int64(prev.decoded[id])
		if d <= 0 {
			continue
		}
		if st.Source.DecodeCPUMS > 0 {
			modelled += float64(d) * st.Source.DecodeCPUMS / 1000
		} else if px := st.Source.Width * st.Source.Height; px > 0 {
			modelled += float64(d) * float64(px) / (1920 * 1080) / c.Costs.DecodeFPS
		}
	}
	actual := hb.CPUSeconds - prev.cpu
	m.cal = calibration{at: now, cpu: hb.CPUSeconds, frames: frames, decoded: decoded, rates: prev.rates}
	if modelled < calibrateMinUse*window {
		return false // too little work to tell
	}
	k := min(max(actual/modelled, 0.5), 4)
	if m.CPUFactor > 0 {
		k = (m.CPUFactor + k) / 2
	}
	m.CPUFactor = k
	placed := m.placedFactor
	if placed <= 0 {
		placed = 1
	}
	return k > placed*1.1 || k < placed/1.1
}

// tableRate is a model's (a model key's) per-core frames/s in the cost table.
func (c *Cluster) tableRate(model string) float64 {
	if r, ok := c.Costs.ModelFPS[rateName(model)]; ok && r > 0 {
		return r
	}
	return c.Costs.DefaultModelFPS
}
