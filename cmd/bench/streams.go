package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/gpu"
	"github.com/cityeye/cityeye/workers/plan"
)

// streamsBench is the capacity mode (-streams N): N cameras of one generated clip
// (looped, paced at its native rate like live cameras) through the real pipeline —
// source (NVDEC with -hwaccel cuda) → sampler → batcher → nanodet (CUDA with
// -provider cuda) → capture → recorder — each analysed at -analysis-fps, on one
// worker whose streams are all placed on one device. It finds the largest N that
// holds real time, starting at N and doubling until a run falls behind, then
// bisecting.
type streamsBench struct {
	b        *bench
	clip     string
	device   string // the plan's device: "cpu" or "cuda:0"
	fps      float64
	warm     time.Duration
	window   time.Duration
	gpus     *gpu.Inventory
	maxN     int
	analysis float64
}

// trial is one run at N streams.
type trial struct {
	N                     int
	Holds                 bool
	DecodeFPS, AnalysedFS float64 // frames decoded, task analyses per second
	InferFPS, MeanBatch   float64
	Dropped               float64 // frames dropped per second (analysis behind)
	GPUUtil, DecUtil      float64 // mean %, -1 without a GPU
	CPUPerStream          float64 // cores
	Why                   string
}

// runStreams is the -streams mode's main.
func runStreams(b *bench, n, maxN int, size, hwaccel string, analysis float64, warm, window time.Duration) error {
	inv := gpu.New()
	defer inv.Close()
	device := "cpu"
	if hwaccel == "cuda" || b.eng.Provider == engine.ProviderCUDA {
		if hwaccel != "cuda" || b.eng.Provider != engine.ProviderCUDA {
			return errors.New("-provider cuda and -hwaccel cuda go together: the planner puts a stream's decode and inference on one device")
		}
		if gs := inv.List(); len(gs) == 0 {
			return fmt.Errorf("cuda mode needs an NVIDIA GPU and this host has none (%s); run without -provider/-hwaccel cuda for the CPU mode", inv.Reason())
		}
		if missing := engine.CUDAMissing(); missing != "" {
			return fmt.Errorf("cuda mode needs the ONNX Runtime CUDA provider: %s", missing)
		}
		device = "cuda:0"
	}
	if n < 1 || maxN < n || analysis <= 0 {
		return errors.New("-streams must be ≥ 1, -max-streams ≥ -streams and -analysis-fps > 0")
	}
	clip := filepath.Join(b.tmp, "camera.mp4")
	if err := makeClip(clip, size); err != nil {
		return err
	}
	sb := &streamsBench{b: b, clip: clip, device: device, fps: 25, warm: warm, window: window, gpus: inv, maxN: maxN, analysis: analysis}
	fmt.Printf("capacity: %s H.264 at 25 fps, nanodet (person_vehicle_capture) at %g fps per stream, device %s, provider %s; warm-up %s, window %s\n",
		size, analysis, device, b.eng.Provider, warm, window)
	fmt.Printf("%6s %5s %10s %10s %10s %6s %8s %6s %6s %9s  %s\n", "N", "holds", "decode/s", "analysed/s", "infer/s", "batch", "dropped/s", "gpu%", "nvdec%", "cpu/strm", "")
	best, lo, hi := 0, 0, 0 // largest N that held, smallest that failed (0: none yet)
	for cur := n; cur > 0; {
		t, err := sb.run(cur)
		if err != nil {
			return err
		}
		printTrial(t)
		if t.Holds {
			best, lo = max(best, cur), cur
		} else {
			hi = cur
		}
		switch {
		case hi == 0 && cur >= maxN:
			cur = 0
		case hi == 0:
			cur = min(2*cur, maxN)
		case hi-lo > 1:
			cur = (lo + hi) / 2
		default:
			cur = 0
		}
	}
	if best == 0 {
		fmt.Printf("\nno N ≥ %d holds real time on %s\n", n, device)
	} else {
		fmt.Printf("\nlargest N holding real time on %s: %d streams (%s, %g fps analysis)\n", device, best, size, analysis)
	}
	return nil
}

func printTrial(t trial) {
	pct := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", v)
	}
	hold := "yes"
	if !t.Holds {
		hold = "no"
	}
	fmt.Printf("%6d %5s %10.1f %10.1f %10.1f %6.2f %8.1f %6s %6s %9.3f  %s\n", t.N, hold, t.DecodeFPS, t.AnalysedFS, t.InferFPS, t.MeanBatch,
		t.Dropped, pct(t.GPUUtil), pct(t.DecUtil), t.CPUPerStream, t.Why)
}

// makeClip encodes 20 s of a 25 fps H.264 camera at size: opencv's street scene
// (people and cars, so the capture path does real work) when setup installed it,
// else a synthetic pattern.
func makeClip(dst, size string) error {
	in := []string{"-stream_loop", "-1", "-i", filepath.Join(engine.Home(), "media", "vtest.avi")}
	if _, err := os.Stat(in[3]); err != nil {
		in = []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25"}
	}
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, in...)
	args = append(args, "-t", "20", "-vf", "scale="+size+",fps=25", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", dst)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg making the %s clip: %v: %s", size, err, out)
	}
	return nil
}

// run starts n streams on a fresh worker, lets them warm up, and measures a window.
func (sb *streamsBench) run(n int) (trial, error) {
	t := trial{N: n, GPUUtil: -1, DecUtil: -1}
	bw, err := sb.b.newWorker()
	if err != nil {
		return t, err
	}
	defer bw.close()
	bw.w.Apply(nil)
	plans := make([]plan.StreamPlan, n)
	params, _ := json.Marshal(map[string]any{"sample_fps": sb.analysis})
	p, err := algorithms.ParseParams(params)
	if err != nil {
		return t, err
	}
	for i := range plans {
		id := fmt.Sprintf("4415020000131%07d", i)
		task := store.Task{ID: fmt.Sprintf("pv-%d", i), StreamID: id, Algorithm: "person_vehicle_capture", Params: params, Enabled: true}
		plans[i] = plan.StreamPlan{Stream: store.Stream{ID: id, Name: id, URL: sb.clip}, Device: sb.device,
			Tasks: []plan.TaskPlan{{Task: task, Params: p, FPS: sb.analysis * 1.001}}} // a hair above: timestamp rounding never skips a frame
	}
	bw.w.Apply(plans)
	defer bw.w.Apply(nil)
	time.Sleep(sb.warm)
	s0, c0, t0 := snapshot(bw), usage(syscall.RUSAGE_SELF), time.Now()
	var gpuSum, decSum float64
	samples := 0
	for end := t0.Add(sb.window); time.Now().Before(end); time.Sleep(time.Second) {
		if gs := sb.gpus.List(); len(gs) > 0 {
			gpuSum += float64(gs[0].UtilGPU)
			decSum += float64(gs[0].UtilDecoder)
			samples++
		}
	}
	s1, c1, el := snapshot(bw), usage(syscall.RUSAGE_SELF), time.Since(t0).Seconds()
	t.DecodeFPS = float64(s1.decoded-s0.decoded) / el
	t.AnalysedFS = float64(s1.analysed-s0.analysed) / el
	t.InferFPS = float64(s1.inferred-s0.inferred) / el
	t.Dropped = float64(s1.dropped-s0.dropped) / el
	if nb := s1.batches - s0.batches; nb > 0 {
		t.MeanBatch = float64(s1.inferred-s0.inferred) / float64(nb)
	}
	if samples > 0 {
		t.GPUUtil, t.DecUtil = gpuSum/float64(samples), decSum/float64(samples)
	}
	t.CPUPerStream = (c1 - c0).Seconds() / el / float64(n)
	// real time: every stream decoded at its native rate and analysed at the
	// asked rate (5% tolerance for the window's edges), nothing dropped for lack
	// of analysis, and no stream offline
	wantDec, wantAn := sb.fps*float64(n), sb.analysis*float64(n)
	switch {
	case s1.online < n:
		t.Why = fmt.Sprintf("%d of %d streams online", s1.online, n)
	case t.DecodeFPS < 0.95*wantDec:
		t.Why = fmt.Sprintf("decode %.0f/s < %.0f/s", t.DecodeFPS, wantDec)
	case t.AnalysedFS < 0.95*wantAn:
		t.Why = fmt.Sprintf("analysed %.0f/s < %.0f/s", t.AnalysedFS, wantAn)
	case t.Dropped > 0.05*wantAn:
		t.Why = fmt.Sprintf("%.1f frames/s dropped", t.Dropped)
	default:
		t.Holds = true
	}
	if s1.hwFallback != "" && sb.device != "cpu" {
		t.Why += " [NVDEC fallback: " + s1.hwFallback + "]"
	}
	return t, nil
}

// counters are the worker's totals at one moment.
type counters struct {
	decoded, analysed, inferred, batches, dropped int64
	online                                        int
	hwFallback                                    string
}

func snapshot(bw *benchWorker) counters {
	var c counters
	for _, st := range bw.w.Status() {
		c.decoded += int64(st.Source.Frames)
		c.dropped += int64(st.Source.Dropped)
		if st.Source.State == "online" {
			c.online++
		}
		if st.Source.HWFallback != "" {
			c.hwFallback = st.Source.HWFallback
		}
		for _, t := range st.Tasks {
			c.analysed += t.Frames
		}
	}
	for _, b := range bw.w.Batchers() {
		c.inferred += b.Frames
		c.batches += b.Batches
	}
	return c
}
