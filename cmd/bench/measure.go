package main

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// usage is the CPU time (user + system, every thread) this process, or its waited-for
// children, used so far.
func usage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// result is one measured phase.
type result struct {
	Name      string
	CPU       time.Duration // process CPU (or children's, for the ffmpeg CLI)
	Wall      time.Duration
	Frames    int   // clip frames the phase went through (per stream)
	Analysed  int64 // task×frame analyses (pipelines)
	ModelRuns int64 // frames the models ran on (each model's run counts)
	Captures  int64 // captures the recorders saved
	Load1     string
	Loads     int64 // ONNX Runtime sessions created during the phase (lazy model loads)
	Note      string
	Min, Max  float64 // range of CPU ms/frame over the rounds
}

func (r result) msPerFrame() float64 {
	if r.Frames == 0 {
		return 0
	}
	return float64(r.CPU) / float64(time.Millisecond) / float64(r.Frames)
}

// measure runs fn between two getrusage calls. The heap is collected first so that
// one phase's garbage is not collected (and paid for) in the next.
func measure(name string, children bool, fn func(r *result) error) (result, error) {
	runtime.GC()
	who := syscall.RUSAGE_SELF
	if children {
		who = syscall.RUSAGE_CHILDREN
	}
	r := result{Name: name}
	loads0 := sessionLoads.Load()
	c0, t0 := usage(who), time.Now()
	err := fn(&r)
	r.CPU, r.Wall = usage(who)-c0, time.Since(t0)
	r.Loads = sessionLoads.Load() - loads0
	r.Load1 = load1()
	return r, err
}

// load1 is the 1-minute load average (other users of the machine included).
func load1() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// sessionLoads counts ONNX Runtime sessions created (models/engine logs
// "execution provider" once per session), to show whether a model was loaded lazily
// inside a measured phase (a second-stage model on its first use, say).
var sessionLoads atomic.Int64

// countingHandler counts session creations and passes records at level or above on.
type countingHandler struct {
	next  slog.Handler
	level slog.Level
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "execution provider" {
		sessionLoads.Add(1)
	}
	if r.Level < h.level {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h countingHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return countingHandler{next: h.next.WithAttrs(a), level: h.level}
}

func (h countingHandler) WithGroup(g string) slog.Handler {
	return countingHandler{next: h.next.WithGroup(g), level: h.level}
}
