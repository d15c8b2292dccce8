// Package source decodes one camera stream (RTSP, RTMP, HTTP MP4/FLV or a
// local file) exactly once and hands BGR frames to a consumer, reconnecting
// with exponential backoff and exposing its state for dashboards.
//
// Demuxing and decoding use FFmpeg through go-astiav; colour conversion to
// BGR24 uses libswscale and the result is copied into a gocv.Mat that owns
// its memory.
package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"
)

// Frame is one decoded picture.
type Frame struct {
	Mat gocv.Mat // BGR 8UC3, owned by the receiver (must Close it)
	// PTS is the presentation time from stream start. It never goes backwards
	// for one Source: a looping file continues after the loop duration and a
	// reconnected network stream continues from the wall time elapsed since
	// Open.
	PTS time.Duration
	// Time is the wall-clock capture time: time of decode for network
	// streams, start time + PTS for files (so looping files behave like live
	// streams).
	Time time.Time
	// Seq is the 1-based index of the decoded frame since Open, monotonically
	// increasing across reconnects and loops. Gaps reveal frames skipped by
	// MaxFPS or dropped for a slow consumer.
	Seq           uint64
	Width, Height int
	// Key is true for a key frame (H.264 IDR or recovery point, H.265 IRAP).
	// While Status.KeyframesOnly is true every frame is one.
	Key bool
}

// State of a Source.
type State string

const (
	StateStarting State = "starting"
	StateOnline   State = "online"
	StateOffline  State = "offline"
	StateError    State = "error"
)

// Status is a snapshot of a Source, safe to serialise.
type Status struct {
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"` // why offline/error (e.g. "open: Connection refused")
	// FPSIn is the rate of decoded frames per second over the last ~2 s
	// (measured over at least 1 s, so it ramps up during the first second).
	// While KeyframesOnly is true it counts every video packet read, decoded
	// or not, so it still shows the stream's frame rate.
	FPSIn     float64   `json:"fps_in"`
	LastFrame time.Time `json:"last_frame"`
	// Frames counts decoded frames (before MaxFPS sampling and drops).
	Frames uint64 `json:"frames"`
	// Undecoded counts video packets never sent to the decoder because
	// KeyframesOnly was in effect: non-key frames, and key frames that MaxFPS
	// would have skipped anyway.
	Undecoded uint64 `json:"undecoded"`
	// Reconnects counts successful re-opens of a network stream after its
	// first successful open (file loops are counted in Loops).
	Reconnects int    `json:"reconnects"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Codec      string `json:"codec"`
	// DecodeCPUMS is what decoding costs this stream per decoded frame: CPU
	// milliseconds of the decoding thread (demux, decode, conversion of the sampled
	// frames), measured over windows of 50 frames; 0 until measured, and while the
	// decoder uses FFmpeg threads, NVDEC or key frames only (not measured then).
	DecodeCPUMS float64 `json:"decode_cpu_ms,omitempty"`

	Delivered uint64 `json:"delivered"` // frames handed to the channel
	Dropped   uint64 `json:"dropped"`   // frames discarded because the consumer was slow
	Skipped   uint64 `json:"skipped"`   // frames not converted because of MaxFPS
	Loops     int    `json:"loops"`     // completed passes over a looping file
	Retries   int    `json:"retries"`   // failed open attempts since the source was last online
	HWAccel   string `json:"hwaccel"`   // "cuda" while NVDEC frames flow, "" for software
	// HWDevice is the device asked for (Options.HWAccel:Options.HWDevice, e.g.
	// "cuda:1"), "" when hardware decoding was not asked for.
	HWDevice string `json:"hw_device,omitempty"`
	// HWFallback says why Options.HWAccel is not used (empty if unused or fine).
	HWFallback string `json:"hw_fallback,omitempty"`

	// GOPSeconds is the last measured interval between two key frames, in
	// stream time (0 until two key frames have been read). It is measured
	// whatever the options, from the packets' key flags.
	GOPSeconds float64 `json:"gop_seconds"`
	// KeyframesOnly is true while only key frames are decoded
	// (Options.KeyframesOnly in effect).
	KeyframesOnly bool `json:"keyframes_only"`
	// KeyframeFallback says why Options.KeyframesOnly is asked for but every
	// frame is decoded: "GOP not measured yet", "GOP 10.0s exceeds MaxGOP
	// 1s", "no key frame for 1.1s, more than MaxGOP 1s", or key frames that
	// do not decode on their own. Empty while KeyframesOnly is true or when
	// it was not asked for.
	KeyframeFallback string `json:"keyframe_fallback,omitempty"`

	URL   string    `json:"url"`   // URL with the password redacted
	Since time.Time `json:"since"` // when State last changed
}

// Options configures a Source.
type Options struct {
	URL string // rtsp://, rtmp://, http(s):// (MP4/FLV), file:///abs/path or a plain path
	// RestrictFiles opens a file input only under ImportDirs (the platform's import
	// folders), links resolved: the API checks at registration, this also refuses a
	// stream registered before the folders were configured or written to the
	// database directly.
	RestrictFiles bool
	ImportDirs    []string
	// Loop restarts file sources at EOF (demo "live" cameras).
	Loop bool
	// Realtime paces file sources at their native fps. Pacing is also on by
	// default for looping files; set NoRealtime to turn it off.
	Realtime bool
	// NoRealtime disables pacing even for looping files (tests, batch jobs).
	NoRealtime bool
	// MaxFPS: 0 = all frames; else decoded frames are sampled (by PTS) down to
	// at most this rate before colour conversion.
	MaxFPS float64
	// ReconnectMin, ReconnectMax bound the exponential backoff with jitter
	// (defaults 1s, 30s).
	ReconnectMin, ReconnectMax time.Duration
	// OpenTimeout bounds opening a network stream and waiting for data
	// (default 10s).
	OpenTimeout time.Duration
	// RTSPTransport is "tcp" (default), "udp", "udp_multicast" or "http".
	RTSPTransport string
	// HWAccel "" or "cuda": try NVDEC and fall back to software with a
	// logged reason. It applies to full decoding only: key frames alone are
	// decoded in software (see KeyframesOnly).
	HWAccel string
	// HWDevice selects the hardware device for HWAccel: the CUDA ordinal ("0",
	// "1", …) of the GPU the planner placed the stream on; "" = FFmpeg's default
	// (device 0). NVDEC is used for H.264 and H.265 only; other codecs decode in
	// software with the reason in Status.HWFallback.
	HWDevice string
	// KeyframesOnly decodes key frames only (H.264 IDR or recovery point,
	// H.265 IRAP), for streams whose consumers need a frame every GOP or
	// less often: the demuxer's packets without the key flag are dropped
	// before the decoder, so they cost no decoding at all (not even the
	// bitstream parsing that AVCodecContext.skip_frame=AVDISCARD_NONKEY
	// still does), and key frames that MaxFPS would skip are dropped too.
	// A key frame resets the decoder's references, so it decodes on its own.
	//
	// It takes effect at a key frame once a GOP (Status.GOPSeconds) of at
	// most MaxGOP has been measured; until then, and whenever the GOP is
	// longer, every frame is decoded and Status.KeyframeFallback says why.
	// If a GOP grows past MaxGOP while only key frames are decoded, no frame
	// is decoded until the next key frame, from which everything is decoded
	// again. With no key packet at all for max(MaxGOP, 10 s), every packet
	// is sent to the decoder at once, as after a reconnect: a stream whose
	// key frames lack the demuxer's key flag still decodes (FFmpeg outputs
	// pictures from its first recovery point).
	// The last measured GOP carries over reconnects and file loops.
	// Streams whose key frames do not decode alone (intra refresh: the
	// "key" picture is a P picture; or no picture at all) are detected and
	// decoded in full for the rest of the Source's life.
	//
	// Key frames are decoded in software by a single-threaded decoder
	// (frame threads would hold each picture back for several GOPs); when
	// the stream has B-frames, the decoder's reordering delay is removed by
	// draining it after each key frame and opening a fresh one for the next.
	// Status.Frames and Frame.Seq count decoded frames; Status.Undecoded
	// counts the packets dropped.
	KeyframesOnly bool
	// MaxGOP is the longest interval between key frames for which
	// KeyframesOnly applies (10% tolerance for timestamp jitter). 0 = the
	// MaxFPS interval (1/MaxFPS: key frames at least as often as frames are
	// wanted), or no limit when MaxFPS is 0; < 0 = no limit.
	MaxGOP time.Duration
	// Buffer is the capacity of the Frames channel (default 4). Live
	// sources (network, or paced files) drop the oldest queued frame when it
	// is full; unpaced files block instead so that no frame is lost.
	Buffer int
	// Logger receives state changes; default slog.Default().
	Logger *slog.Logger
}

// Source decodes one stream in its own goroutine.
type Source struct {
	opts   Options
	kind   sourceKind
	input  string // what is handed to avformat_open_input
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	frames chan Frame
	done   chan struct{}

	closeOnce sync.Once
	pending   atomic.Pointer[rate] // SetRate, taken by the decoding goroutine

	mu  sync.Mutex
	st  Status
	fps fpsMeter

	// interruption of blocking FFmpeg I/O
	intMu    sync.Mutex
	cur      astiav.IOInterrupter
	deadline atomic.Int64 // unix nanos; 0 = none
	timedOut atomic.Bool

	// decode-goroutine state (no locking needed)
	seq          uint64
	everOpened   bool
	ptsOffset    time.Duration // added to session-relative PTS
	lastPTS      time.Duration // last absolute PTS emitted
	frameDur     time.Duration // nominal frame duration
	nextEmit     time.Duration // MaxFPS sampling
	emitPrimed   bool
	anchor       time.Time // files: wall time of PTS 0
	opened       time.Time
	hwDisabled   bool
	hwReasonSeen string
	maxGOP       time.Duration // KeyframesOnly: 0 = no limit
	gop          time.Duration // last measured key frame interval
	kfBroken     string        // why key frames cannot be decoded alone
}

type sourceKind int

const (
	kindFile sourceKind = iota
	kindNetwork
)

var errUnsupportedScheme = errors.New("unsupported scheme")

// Open validates opts and starts decoding in a goroutine. It never blocks on
// the network: failures show up in Status.
func Open(ctx context.Context, opts Options) *Source {
	if opts.ReconnectMin <= 0 {
		opts.ReconnectMin = time.Second
	}
	if opts.ReconnectMax <= 0 {
		opts.ReconnectMax = 30 * time.Second
	}
	if opts.ReconnectMax < opts.ReconnectMin {
		opts.ReconnectMax = opts.ReconnectMin
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = 10 * time.Second
	}
	if opts.RTSPTransport == "" {
		opts.RTSPTransport = "tcp"
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 4
	}
	if opts.MaxFPS < 0 {
		opts.MaxFPS = 0
	}
	maxGOP := maxGOPOf(opts)
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}
	cctx, cancel := context.WithCancel(ctx)
	now := time.Now()
	s := &Source{
		opts:   opts,
		log:    lg.With("component", "source", "url", redact(opts.URL)),
		ctx:    cctx,
		cancel: cancel,
		frames: make(chan Frame, opts.Buffer),
		done:   make(chan struct{}),
		opened: now,
		anchor: now,
		maxGOP: maxGOP,
	}
	s.st = Status{State: StateStarting, URL: redact(opts.URL), Since: now}
	if opts.HWAccel != "" {
		s.st.HWDevice = opts.HWAccel + ":" + cmp.Or(opts.HWDevice, "0")
	}

	kind, input, err := parseInput(opts.URL)
	if err != nil {
		s.setError(err.Error())
		close(s.frames)
		close(s.done)
		return s
	}
	if kind == kindFile && opts.RestrictFiles {
		if _, err := ImportedFile((&url.URL{Scheme: "file", Path: input}).String(), opts.ImportDirs); errors.Is(err, ErrNotImported) {
			s.setError(err.Error())
			close(s.frames)
			close(s.done)
			return s
		}
	}
	s.kind, s.input = kind, input
	// pacing: on when asked, or by default for looping files
	s.opts.Realtime = kind == kindFile && !opts.NoRealtime && (opts.Realtime || opts.Loop)
	go s.watch()
	go s.run()
	return s
}

// Frames returns the channel of decoded frames. It is closed when the
// source is closed, hits a fatal error, or a non-looping file ends. Every
// received Frame's Mat must be closed by the receiver.
func (s *Source) Frames() <-chan Frame { return s.frames }

// Status returns a snapshot; safe from any goroutine.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.FPSIn = s.fps.rate(time.Now())
	return st
}

// Close stops decoding, waits for the goroutine to release every FFmpeg
// object and closes the Mats of frames still queued. Idempotent.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.interrupt()
	})
	<-s.done
	for f := range s.frames {
		f.Mat.Close()
	}
	return nil
}

// Done is closed when the decoding goroutine has exited.
func (s *Source) Done() <-chan struct{} { return s.done }

// ---------------------------------------------------------------- input

func parseInput(raw string) (sourceKind, string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, "", errors.New("empty URL")
	}
	scheme := ""
	if i := strings.Index(raw, "://"); i > 0 {
		scheme = strings.ToLower(raw[:i])
	}
	switch scheme {
	case "":
		p, err := filepath.Abs(raw)
		if err != nil {
			return 0, "", err
		}
		return kindFile, p, nil
	case "file":
		u, err := url.Parse(raw)
		if err != nil {
			return 0, "", fmt.Errorf("invalid file URL: %w", err)
		}
		p := u.Path
		if u.Host != "" && u.Host != "localhost" {
			// file://relative/path is a common mistake; honour it.
			p = u.Host + u.Path
		}
		if p == "" {
			return 0, "", errors.New("invalid file URL: empty path")
		}
		return kindFile, p, nil
	case "rtsp", "rtsps", "rtmp", "rtmps", "rtmpt", "http", "https":
		if _, err := url.Parse(raw); err != nil {
			return 0, "", fmt.Errorf("invalid URL: %w", err)
		}
		return kindNetwork, raw, nil
	default:
		return 0, "", fmt.Errorf("%w %q (want rtsp, rtmp, http(s), file or a path)", errUnsupportedScheme, scheme)
	}
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// ---------------------------------------------------------------- run loop

type sessionResult struct {
	err       error // reason the session ended (nil on clean EOF)
	eof       bool  // input ended normally
	fatal     bool  // do not retry
	gotFrames bool  // at least one frame decoded
	retryNow  bool  // retry without backoff (e.g. HW fallback)
}

func (s *Source) run() {
	defer close(s.done)
	defer close(s.frames)
	runtime.LockOSThread() // the decode cost is measured in this thread's CPU time
	defer runtime.UnlockOSThread()

	backoff := s.opts.ReconnectMin
	for {
		if s.ctx.Err() != nil {
			s.setOffline("closed", false)
			return
		}
		res := s.session()
		if s.ctx.Err() != nil {
			s.setOffline("closed", false)
			return
		}
		if res.fatal {
			s.setError(reasonOf(res.err))
			return
		}
		if res.retryNow { // hardware decoding given up: same input, software
			if s.kind == kindFile && res.gotFrames {
				s.ptsOffset = s.lastPTS + s.frameDur // the file restarts: keep PTS monotonic
			}
			continue
		}
		if s.kind == kindFile {
			if res.eof || (s.opts.Loop && res.gotFrames) {
				if !s.opts.Loop {
					s.setOffline("end of file", false)
					return
				}
				if !res.gotFrames {
					s.setError("no frames decoded from file")
					return
				}
				if res.err != nil {
					s.log.Warn("file read error, looping", "err", res.err)
				}
				s.mu.Lock()
				s.st.Loops++
				s.mu.Unlock()
				s.ptsOffset = s.lastPTS + s.frameDur
				continue
			}
			s.setError(reasonOf(res.err))
			return
		}

		// network: always retry
		if res.gotFrames {
			backoff = s.opts.ReconnectMin
		}
		reason := "stream ended (EOF)"
		if res.err != nil {
			reason = reasonOf(res.err)
		}
		s.setOffline(reason, !res.gotFrames)
		d := jitter(backoff, s.opts.ReconnectMin, s.opts.ReconnectMax)
		s.log.Info("reconnecting", "in", d.Round(time.Millisecond), "reason", reason)
		t := time.NewTimer(d)
		select {
		case <-s.ctx.Done():
			t.Stop()
			s.setOffline("closed", false)
			return
		case <-t.C:
		}
		backoff *= 2
		if backoff > s.opts.ReconnectMax {
			backoff = s.opts.ReconnectMax
		}
	}
}

// jitter returns d ±20%, clamped to [lo, hi].
func jitter(d, lo, hi time.Duration) time.Duration {
	j := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(max(j, lo), hi)
}

// watch interrupts blocking FFmpeg I/O when the context ends or a network
// deadline passes.
func (s *Source) watch() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.ctx.Done():
			s.interrupt()
			return
		case now := <-t.C:
			// CompareAndSwap: a deadline re-armed meanwhile wins.
			if dl := s.deadline.Load(); dl != 0 && now.UnixNano() > dl && s.deadline.CompareAndSwap(dl, 0) {
				s.timedOut.Store(true)
				s.interrupt()
			}
		}
	}
}

func (s *Source) interrupt() {
	s.intMu.Lock()
	defer s.intMu.Unlock()
	if s.cur != nil {
		s.cur.Interrupt()
	}
}

// setInterrupter installs the interrupter of the current format context
// (nil when it is freed). A source that is closing interrupts at once.
func (s *Source) setInterrupter(i astiav.IOInterrupter) {
	s.intMu.Lock()
	defer s.intMu.Unlock()
	s.cur = i
	if i != nil && s.ctx.Err() != nil {
		i.Interrupt()
	}
}

// probeBudget bounds avformat_find_stream_info on network streams. It is
// passed to FFmpeg as analyzeduration (default 5s, 90s for FLV): live FLV
// (RTMP) probing always runs the full duration, so this is the start-up
// latency of an RTMP source. Codec parameters come from the RTMP/RTSP
// sequence headers, so a short probe is enough.
const probeBudget = 3 * time.Second

// armDeadline (network only) interrupts I/O if the next step does not
// complete within OpenTimeout (+extra).
func (s *Source) armDeadline(extra ...time.Duration) {
	if s.kind == kindNetwork {
		d := s.opts.OpenTimeout
		for _, e := range extra {
			d += e
		}
		s.deadline.Store(time.Now().Add(d).UnixNano())
	}
}

func (s *Source) disarmDeadline() { s.deadline.Store(0) }

// ---------------------------------------------------------------- status

func reasonOf(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (s *Source) setState(st State, reason string) {
	if s.st.State != st || s.st.Reason != reason {
		s.st.Since = time.Now()
	}
	s.st.State, s.st.Reason = st, reason
}

func (s *Source) setError(reason string) {
	s.mu.Lock()
	s.setState(StateError, reason)
	s.mu.Unlock()
	s.log.Error("source error", "reason", reason)
}

// setKeyframes records whether only key frames are decoded and, if not,
// why (reason is ignored when on). Changes are logged.
func (s *Source) setKeyframes(on bool, reason string) {
	if on {
		reason = ""
	}
	s.mu.Lock()
	changed := s.st.KeyframesOnly != on || s.st.KeyframeFallback != reason
	s.st.KeyframesOnly, s.st.KeyframeFallback = on, reason
	s.mu.Unlock()
	if changed && s.opts.KeyframesOnly {
		if on {
			s.log.Info("decoding key frames only", "gop", s.gop)
		} else {
			s.log.Info("decoding all frames", "reason", reason)
		}
	}
}

// gopOK reports whether a GOP is short enough for KeyframesOnly.
func (s *Source) gopOK(gop time.Duration) bool {
	return s.maxGOP == 0 || gop <= s.maxGOP+s.maxGOP/10
}

// wantKeyframes decides, at a key frame, whether to decode key frames only,
// and records the decision in Status.
func (s *Source) wantKeyframes() bool {
	if !s.opts.KeyframesOnly {
		s.setKeyframes(false, "")
		return false
	}
	var reason string
	switch {
	case s.kfBroken != "":
		reason = s.kfBroken
	case s.maxGOP == 0:
	case s.gop == 0:
		reason = "GOP not measured yet"
	case !s.gopOK(s.gop):
		reason = fmt.Sprintf("GOP %.1fs exceeds MaxGOP %s", s.gop.Seconds(), s.maxGOP)
	}
	s.setKeyframes(reason == "", reason)
	return reason == ""
}

// setOffline records an offline state; failedAttempt counts a retry.
func (s *Source) setOffline(reason string, failedAttempt bool) {
	s.mu.Lock()
	if s.st.State == StateError && reason == "closed" {
		s.mu.Unlock()
		return
	}
	changed := s.st.State != StateOffline || s.st.Reason != reason
	s.setState(StateOffline, reason)
	if failedAttempt {
		s.st.Retries++
	}
	s.st.HWAccel = ""
	s.mu.Unlock()
	if changed {
		s.log.Warn("source offline", "reason", reason)
	}
}

// ---------------------------------------------------------------- fps

// fpsMeter keeps the decode times of recent frames.
type fpsMeter struct {
	ts   [256]int64 // unix nanos, ring
	n    int        // valid entries
	head int        // next write
}

const fpsWindow = 2 * time.Second

func (m *fpsMeter) add(t time.Time) {
	m.ts[m.head] = t.UnixNano()
	m.head = (m.head + 1) % len(m.ts)
	if m.n < len(m.ts) {
		m.n++
	}
}

func (m *fpsMeter) rate(now time.Time) float64 {
	if m.n < 2 {
		return 0
	}
	newest := m.ts[(m.head-1+len(m.ts))%len(m.ts)]
	cut := now.UnixNano() - int64(fpsWindow)
	if newest < cut {
		return 0 // stalled
	}
	count := 0
	oldest := newest
	for i := 1; i <= m.n; i++ {
		t := m.ts[(m.head-i+len(m.ts))%len(m.ts)]
		if t < cut {
			break
		}
		oldest = t
		count++
	}
	if count < 2 {
		return 0
	}
	// A span of at least 1s keeps the burst of buffered frames decoded
	// right after connecting (the demuxer's probe data) from showing as
	// thousands of fps.
	span := max(time.Duration(newest-oldest), time.Second)
	return float64(count-1) / span.Seconds()
}

// fileExists reports a clear error for a missing or unreadable file.
func checkFile(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("file not found: %s", p)
		}
		return fmt.Errorf("file not readable: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("not a file: %s", p)
	}
	return nil
}
