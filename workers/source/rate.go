package source

import "time"

// rate is a MaxFPS / KeyframesOnly change waiting for the decoding goroutine.
type rate struct {
	maxFPS    float64
	keyframes bool
}

// SetRate changes Options.MaxFPS and Options.KeyframesOnly of a running source without
// reopening it: the decoding goroutine takes the change at its next packet. A switch
// between key-frame-only and full decoding happens at the next key frame, as it does
// when the GOP changes (leaving key-frame mode, the packets before that key frame are
// not decoded: they depend on pictures that were never decoded).
func (s *Source) SetRate(maxFPS float64, keyframesOnly bool) {
	s.pending.Store(&rate{maxFPS: max(maxFPS, 0), keyframes: keyframesOnly})
}

// takeRate applies a pending SetRate; decoding goroutine only.
func (s *Source) takeRate() {
	r := s.pending.Swap(nil)
	if r == nil {
		return
	}
	s.opts.MaxFPS, s.opts.KeyframesOnly = r.maxFPS, r.keyframes
	s.maxGOP = maxGOPOf(s.opts)
	s.log.Info("rate changed", "max_fps", r.maxFPS, "keyframes_only", r.keyframes)
}

// maxGOPOf is the longest GOP for which key-frame-only decoding applies (Options.MaxGOP).
func maxGOPOf(opts Options) time.Duration {
	maxGOP := opts.MaxGOP
	if maxGOP == 0 && opts.MaxFPS > 0 {
		maxGOP = time.Duration(float64(time.Second) / opts.MaxFPS)
	}
	return max(maxGOP, 0)
}
