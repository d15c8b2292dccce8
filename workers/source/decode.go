package source

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"
)

// session opens the input once and decodes until EOF, an error or Close.
// Every FFmpeg object allocated here is freed before it returns.
func (s *Source) session() (res sessionResult) {
	if s.kind == kindFile {
		if err := checkFile(s.input); err != nil {
			return sessionResult{err: err, fatal: true}
		}
	}

	fc := astiav.AllocFormatContext()
	if fc == nil {
		return sessionResult{err: errors.New("allocating format context failed"), fatal: true}
	}
	s.timedOut.Store(false)
	s.setInterrupter(fc.SetInterruptCallback())
	inputOpen := false
	defer func() {
		s.disarmDeadline()
		if inputOpen {
			fc.CloseInput() // also frees the context
		}
		fc.Free() // no-op on a closed/failed context
		s.setInterrupter(nil)
	}()

	dict := s.inputOptions()
	input := s.input
	if s.kind == kindFile {
		input = "file:" + input // a path containing ':' must not be taken for a protocol
	}
	s.armDeadline()
	err := fc.OpenInput(input, nil, dict)
	dict.Free()
	if err != nil {
		// avformat_open_input freed the context on failure
		return s.ioResult("open", err)
	}
	inputOpen = true
	// Probing reads live data for up to probeBudget; a silent peer is
	// caught sooner by FFmpeg's own socket timeout.
	s.armDeadline(probeBudget)
	if err := fc.FindStreamInfo(nil); err != nil {
		return s.ioResult("probe", err)
	}

	var vs *astiav.Stream
	for _, st := range fc.Streams() {
		if st.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			vs = st
			break
		}
	}
	if vs == nil {
		return s.fatalForFile(errors.New("no video stream"))
	}
	cp := vs.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return s.fatalForFile(fmt.Errorf("no decoder for codec %s", cp.CodecID()))
	}
	d := &decoder{
		s:       s,
		fc:      fc,
		codec:   codec,
		cp:      cp,
		stream:  vs,
		tb:      vs.TimeBase(),
		basePTS: astiav.NoPtsValue,
	}
	defer d.free()
	// A session starts decoding key frames only if the GOP measured before
	// (previous session) allows it; otherwise the first key frames decide.
	if err := d.openCodec(s.wantKeyframes()); err != nil {
		return s.fatalForFile(err)
	}

	if s.everOpened && s.kind == kindNetwork {
		s.mu.Lock()
		s.st.Reconnects++
		s.mu.Unlock()
	}
	s.everOpened = true
	s.mu.Lock()
	s.st.Width, s.st.Height, s.st.Codec = cp.Width(), cp.Height(), codec.Name()
	s.mu.Unlock()

	if st := vs.StartTime(); s.kind == kindFile && st != astiav.NoPtsValue {
		d.basePTS = st
	}
	s.frameDur = frameDuration(vs)
	if s.kind == kindNetwork {
		// keep PTS monotonic across reconnects, roughly aligned to wall time
		s.ptsOffset = max(time.Since(s.opened), s.lastPTS+s.frameDur)
		if s.seq == 0 {
			s.ptsOffset = 0
		}
	}
	s.emitPrimed = false
	return d.loop()
}

// inputOptions are the demuxer/protocol options for the URL's scheme.
func (s *Source) inputOptions() *astiav.Dictionary {
	d := astiav.NewDictionary()
	// FFmpeg's own socket timeouts are a backstop one second behind the
	// watchdog (see Source.watch), whose interrupt yields a clearer reason.
	us := strconv.FormatInt((s.opts.OpenTimeout + time.Second).Microseconds(), 10)
	set := func(k, v string) {
		if err := d.Set(k, v, 0); err != nil {
			s.log.Warn("setting ffmpeg option failed", "key", k, "err", err)
		}
	}
	scheme := ""
	if i := strings.Index(s.input, "://"); i > 0 {
		scheme = strings.ToLower(s.input[:i])
	}
	if s.kind == kindNetwork {
		set("analyzeduration", strconv.FormatInt(probeBudget.Microseconds(), 10))
	}
	// Only the protocols the scheme needs: a playlist or SDP behind the URL cannot
	// send FFmpeg to file:, other hosts' protocols or anything else.
	if wl := protocolWhitelist(scheme, s.kind); wl != "" {
		if strings.HasPrefix(scheme, "rtsp") && s.opts.RTSPTransport == "http" {
			wl += ",http" // RTSP tunnelled in HTTP
		}
		set("protocol_whitelist", wl)
	}
	switch scheme {
	case "rtsp", "rtsps":
		// FFmpeg 5.x: "timeout" is the RTSP socket I/O timeout in µs
		// ("stimeout" was removed in 5.0).
		set("rtsp_transport", s.opts.RTSPTransport)
		set("timeout", us)
		set("allowed_media_types", "video")
	case "rtmp", "rtmps", "rtmpt":
		// NB: for rtmp "timeout" means *listen* timeout; use rw_timeout.
		set("rw_timeout", us)
	case "http", "https":
		set("rw_timeout", us)
		set("timeout", us)
	}
	return d
}

// protocolWhitelist is FFmpeg's protocol_whitelist for an input: what the scheme
// itself needs and nothing more.
func protocolWhitelist(scheme string, kind sourceKind) string {
	if kind == kindFile {
		return "file"
	}
	switch scheme {
	case "rtsp":
		return "rtsp,rtp,udp,tcp"
	case "rtsps":
		return "rtsps,rtsp,rtp,udp,tcp,tls"
	case "rtmp":
		return "rtmp,tcp"
	case "rtmps":
		return "rtmps,rtmp,tcp,tls"
	case "rtmpt":
		return "rtmpt,rtmp,http,tcp"
	case "http", "https":
		return "http,https,tcp,tls"
	}
	return ""
}

// ioResult classifies an open/probe/read error.
func (s *Source) ioResult(op string, err error) sessionResult {
	if s.timedOut.Load() && s.ctx.Err() == nil {
		// the watchdog interrupted the I/O; FFmpeg reports that as
		// "Immediate exit requested" or, for RTSP, "Invalid data".
		err = fmt.Errorf("%s: timeout: no data within %s", op, s.opts.OpenTimeout)
	} else {
		err = fmt.Errorf("%s: %w", op, err)
	}
	r := sessionResult{err: err}
	if s.kind == kindFile && op != "read" {
		r.fatal = true
	}
	return r
}

func (s *Source) fatalForFile(err error) sessionResult {
	return sessionResult{err: err, fatal: s.kind == kindFile}
}

// setupHW prepares NVDEC (or another hwaccel named by Options.HWAccel) via a
// hardware device context; on error the caller decodes in software.
func (s *Source) setupHW(codec *astiav.Codec, cc *astiav.CodecContext) (astiav.PixelFormat, error) {
	t := astiav.FindHardwareDeviceTypeByName(s.opts.HWAccel)
	if t == astiav.HardwareDeviceTypeNone {
		return astiav.PixelFormatNone, fmt.Errorf("unknown hwaccel %q", s.opts.HWAccel)
	}
	if s.opts.HWAccel == "cuda" && !nvdecCodec(codec.ID()) {
		// NVDEC decodes more (VP9, AV1 on recent cards) but CityEye plans and
		// tests NVDEC for the camera codecs only
		return astiav.PixelFormatNone, fmt.Errorf("codec %s is not decoded on cuda (NVDEC is used for h264 and hevc only)", codec.Name())
	}
	hwFmt := astiav.PixelFormatNone
	for _, c := range codec.HardwareConfigs() {
		if c.MethodFlags().Has(astiav.CodecHardwareConfigMethodFlagHwDeviceCtx) && c.HardwareDeviceType() == t {
			hwFmt = c.PixelFormat()
			break
		}
	}
	if hwFmt == astiav.PixelFormatNone {
		return astiav.PixelFormatNone, fmt.Errorf("decoder %s does not support %s", codec.Name(), t)
	}
	hdc, err := astiav.CreateHardwareDeviceContext(t, s.opts.HWDevice, nil)
	if err != nil {
		dev := s.opts.HWDevice
		if dev == "" {
			dev = "0"
		}
		if _, derr := os.Stat("/proc/driver/nvidia"); derr != nil && s.opts.HWAccel == "cuda" {
			return astiav.PixelFormatNone, fmt.Errorf("creating %s device %s failed: %w (no NVIDIA driver)", t, dev, err)
		}
		return astiav.PixelFormatNone, fmt.Errorf("creating %s device %s failed: %w", t, dev, err)
	}
	// cc takes ownership: CodecContext.Free unrefs both references.
	cc.SetHardwareDeviceContext(hdc)
	cc.SetPixelFormatCallback(func(pfs []astiav.PixelFormat) astiav.PixelFormat {
		for _, pf := range pfs {
			if pf == hwFmt {
				return pf
			}
		}
		// The software format is the last entry of get_format's list.
		if len(pfs) > 0 {
			return pfs[len(pfs)-1]
		}
		return astiav.PixelFormatNone
	})
	return hwFmt, nil
}

// nvdecCodec reports whether NVDEC is used for a codec: the camera codecs.
func nvdecCodec(id astiav.CodecID) bool {
	return id == astiav.CodecIDH264 || id == astiav.CodecIDHevc
}

func (s *Source) hwFallback(reason string) {
	s.mu.Lock()
	s.st.HWFallback = reason
	s.mu.Unlock()
	if reason != s.hwReasonSeen {
		s.log.Warn("hardware decoding unavailable, using software", "hwaccel", s.opts.HWAccel, "reason", reason)
		s.hwReasonSeen = reason
	}
}

func frameDuration(st *astiav.Stream) time.Duration {
	for _, r := range []astiav.Rational{st.AvgFrameRate(), st.RFrameRate()} {
		if r.Num() > 0 && r.Den() > 0 {
			if d := time.Duration(float64(time.Second) * float64(r.Den()) / float64(r.Num())); d > 0 && d < 10*time.Second {
				return d
			}
		}
	}
	return 40 * time.Millisecond
}

// ---------------------------------------------------------------- decoder

type decoder struct {
	s      *Source
	fc     *astiav.FormatContext
	codec  *astiav.Codec
	cp     *astiav.CodecParameters
	cc     *astiav.CodecContext // nil between closeCodec and openCodec
	stream *astiav.Stream
	tb     astiav.Rational
	hwFmt  astiav.PixelFormat

	pkt   *astiav.Packet
	frame *astiav.Frame // decoder output
	sw    *astiav.Frame // hw → system memory transfer target
	bgr   *astiav.Frame // sws output, reused
	sws   *astiav.SoftwareScaleContext

	swsW, swsH int
	swsFmt     astiav.PixelFormat

	basePTS    int64
	gotFrames  bool
	decodeErrs int
	hwReported bool
	decoded    uint64 // frames the decoder returned this session

	// decode cost: CPU time of this (locked) thread per decoded frame, measured only
	// while the decoder runs on this thread alone (no FFmpeg frame/slice threads)
	oneThread bool
	cpuMark   time.Duration // ThreadCPU at the window's start
	cpuFrames int           // frames decoded in the window

	// KeyframesOnly
	keyMode   bool          // only key packets are sent to cc
	drained   bool          // cc was drained (EOF sent): reopen before sending
	lastKey   time.Duration // stream time of the last key packet
	haveKey   bool          // lastKey is set
	lateNoted bool          // "no key frame for …" already reported for lastKey
	firstTS   time.Duration // stream time of the session's first packet
	haveFirst bool
	keyNoPic  int // key packets in a row that yielded no picture
}

// openCodec (re)opens the decoder for full or key-frame-only decoding,
// freeing the previous one. Key frames alone are decoded in software by
// one thread: frame threads would delay each picture by several packets,
// that is several GOPs here.
func (d *decoder) openCodec(keyframes bool) error {
	s := d.s
	d.closeCodec()
	cc := astiav.AllocCodecContext(d.codec)
	if cc == nil {
		return errors.New("allocating codec context failed")
	}
	if err := d.cp.ToCodecContext(cc); err != nil {
		cc.Free()
		return fmt.Errorf("codec parameters: %w", err)
	}
	hwFmt := astiav.PixelFormatNone
	if keyframes {
		cc.SetThreadCount(1)
	} else {
		cc.SetThreadCount(0) // auto
		if s.opts.HWAccel != "" && !s.hwDisabled {
			var herr error
			if hwFmt, herr = s.setupHW(d.codec, cc); herr != nil {
				// no driver/device or codec unsupported: not worth retrying
				// on every reconnect or loop
				s.hwDisabled = true
				s.hwFallback(herr.Error())
				hwFmt = astiav.PixelFormatNone
			}
		}
	}
	if err := cc.Open(d.codec, nil); err != nil {
		cc.SetPixelFormatCallback(nil)
		cc.Free() // also releases the hw device context
		if hwFmt != astiav.PixelFormatNone {
			s.hwDisabled = true
			s.hwFallback("opening decoder with cuda failed: " + err.Error())
			return d.openCodec(keyframes) // in software
		}
		return fmt.Errorf("open decoder %s: %w", d.codec.Name(), err)
	}
	d.cc, d.hwFmt, d.keyMode, d.drained = cc, hwFmt, keyframes, false
	d.oneThread, d.cpuMark, d.cpuFrames = cc.ThreadCount() == 1 && hwFmt == astiav.PixelFormatNone && !keyframes, ThreadCPU(), 0
	if hwFmt == astiav.PixelFormatNone && d.hwReported {
		s.mu.Lock()
		s.st.HWAccel = ""
		s.mu.Unlock()
	}
	d.hwReported = false
	return nil
}

func (d *decoder) closeCodec() {
	if d.cc != nil {
		d.cc.SetPixelFormatCallback(nil) // drop go-astiav's registry entry
		d.cc.Free()                      // also releases the hw device context
		d.cc = nil
	}
}

func (d *decoder) free() {
	d.closeCodec()
	if d.sws != nil {
		d.sws.Free()
		d.sws = nil
	}
	for _, f := range []**astiav.Frame{&d.frame, &d.sw, &d.bgr} {
		if *f != nil {
			(*f).Free()
			*f = nil
		}
	}
	if d.pkt != nil {
		d.pkt.Free()
		d.pkt = nil
	}
}

func (d *decoder) loop() sessionResult {
	s := d.s
	d.pkt = astiav.AllocPacket()
	d.frame = astiav.AllocFrame()
	d.sw = astiav.AllocFrame()
	d.bgr = astiav.AllocFrame()
	if d.pkt == nil || d.frame == nil || d.sw == nil || d.bgr == nil {
		return sessionResult{err: errors.New("allocating packet/frame failed"), fatal: true}
	}
	vidx := d.stream.Index()
	s.armDeadline()
	for {
		if s.ctx.Err() != nil {
			return d.result(nil, false)
		}
		if err := d.fc.ReadFrame(d.pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				// flush frames held by the decoder (B-frames, frame threads)
				if err := d.decode(nil); err != nil {
					return d.result(err, false)
				}
				return d.result(nil, true)
			}
			r := s.ioResult("read", err)
			r.gotFrames = d.gotFrames
			return r
		}
		s.armDeadline()
		if d.pkt.StreamIndex() != vidx {
			d.pkt.Unref()
			continue
		}
		err := d.packet(d.pkt)
		d.pkt.Unref()
		if err != nil {
			return d.result(err, false)
		}
	}
}

// packet measures the GOP on key packets, switches between full and
// key-frame-only decoding at key packets (Options.KeyframesOnly) and sends
// pkt to the decoder unless key-frame-only decoding drops it.
func (d *decoder) packet(pkt *astiav.Packet) error {
	s := d.s
	s.takeRate()
	key := pkt.Flags().Has(astiav.PacketFlagKey)
	ts := pkt.Pts()
	if ts == astiav.NoPtsValue {
		ts = pkt.Dts()
	}
	hasTS := ts != astiav.NoPtsValue
	var t time.Duration // stream time
	if hasTS {
		t = time.Duration(astiav.RescaleQ(ts, d.tb, astiav.NewRational(1, int(time.Second))))
	}
	if key && hasTS {
		if d.haveKey && t > d.lastKey && t-d.lastKey < time.Hour {
			s.gop = t - d.lastKey
			s.mu.Lock()
			s.st.GOPSeconds = s.gop.Seconds()
			s.mu.Unlock()
		}
		d.lastKey, d.haveKey, d.lateNoted = t, true, false
	}
	if !s.opts.KeyframesOnly && !d.keyMode {
		return d.decode(pkt)
	}

	if key { // a mode change (the GOP, or SetRate) takes effect here
		if want := s.wantKeyframes(); want != d.keyMode {
			if err := d.switchMode(want); err != nil {
				return err
			}
		}
	} else if hasTS && d.haveKey && !d.lateNoted && (d.keyMode || s.gop == 0) && !s.gopOK(t-d.lastKey) {
		// The GOP grew past MaxGOP (or the first one is longer): say so
		// now. In key-frame mode nothing is decoded until the next key
		// frame, where full decoding starts.
		d.lateNoted = true
		s.setKeyframes(false, fmt.Sprintf("no key frame for %.1fs, more than MaxGOP %s", (t-d.lastKey).Seconds(), s.maxGOP))
	}
	if hasTS && !d.haveFirst {
		d.firstTS, d.haveFirst = t, true
	}
	if d.keyMode && !key && hasTS {
		// No key frame at all for a long while (none since the session
		// started, or the camera stopped sending them): decode everything
		// at once, joining mid-GOP as after a reconnect, rather than
		// deliver nothing.
		ref := d.firstTS
		if d.haveKey {
			ref = d.lastKey
		}
		if since := t - ref; since > max(s.maxGOP+s.maxGOP/10, keyStall) {
			s.setKeyframes(false, fmt.Sprintf("no key frame for %.1fs", since.Seconds()))
			if err := d.switchMode(false); err != nil {
				return err
			}
		}
	}
	if !d.keyMode {
		return d.decode(pkt)
	}

	if key && (s.opts.MaxFPS <= 0 || !hasTS || d.wouldSample(ts)) {
		return d.decodeKey(pkt)
	}
	// Dropped. Its PTS still moves the stream on (a looping file or a
	// reconnect continues after it), paced files keep in step, and FPSIn
	// shows the stream's rate.
	if hasTS {
		if abs, ok := d.peekPTS(ts); ok {
			s.lastPTS = max(s.lastPTS, abs)
			if s.kind == kindFile && s.opts.Realtime {
				d.pace(abs)
			}
		}
	}
	s.mu.Lock()
	s.st.Undecoded++
	s.fps.add(time.Now())
	s.mu.Unlock()
	return nil
}

// keyStall: in key-frame-only mode, with no key frame for this long (or
// MaxGOP if longer) every frame is decoded at once.
const keyStall = 10 * time.Second

// decodeKey decodes one key packet in key-frame-only mode. A decoder that
// reorders (B-frames: has_b_frames > 0) holds each picture back until more
// pictures arrive, which would be GOPs later: it is drained at once and a
// fresh one opened for the next key frame (go-astiav v0.16.0 has no
// avcodec_flush_buffers). Without B-frames the picture comes out at once
// and the decoder is kept.
func (d *decoder) decodeKey(pkt *astiav.Packet) error {
	s := d.s
	if d.drained {
		if err := d.openCodec(true); err != nil {
			return err
		}
	}
	n := d.decoded
	if err := d.decode(pkt); err != nil {
		return err
	}
	if d.decoded == n {
		if err := d.decode(nil); err != nil {
			return err
		}
		d.drained = true
	}
	if d.decoded > n {
		d.keyNoPic = 0
		return nil
	}
	if d.keyNoPic++; d.keyNoPic >= 2 && s.kfBroken == "" {
		s.kfBroken = "key frames decode to no picture on their own"
		s.setKeyframes(false, s.kfBroken)
	}
	return nil
}

// switchMode drains the current decoder (its held-back pictures precede
// the key packet being handled) and opens one for the other mode.
func (d *decoder) switchMode(keyframes bool) error {
	if d.cc != nil && !d.drained {
		if err := d.decode(nil); err != nil {
			return err
		}
	}
	return d.openCodec(keyframes)
}

// peekPTS is the absolute PTS that pts (stream time base) will get in
// decoder.pts, without changing any state; false if that is not known yet.
func (d *decoder) peekPTS(pts int64) (time.Duration, bool) {
	s := d.s
	if d.basePTS == astiav.NoPtsValue {
		return 0, false
	}
	abs := s.ptsOffset + time.Duration(astiav.RescaleQ(pts-d.basePTS, d.tb, astiav.NewRational(1, int(time.Second))))
	if d.gotFrames && abs <= s.lastPTS-time.Second {
		return 0, false // decoder.pts will rebase
	}
	return abs, true
}

// wouldSample reports whether a frame with stream PTS pts would pass MaxFPS
// sampling (decoder.sample), without changing the sampler's state.
func (d *decoder) wouldSample(pts int64) bool {
	s := d.s
	abs, ok := d.peekPTS(pts)
	if !ok || !s.emitPrimed {
		return true
	}
	interval := time.Duration(float64(time.Second) / s.opts.MaxFPS)
	return abs+time.Millisecond >= s.nextEmit || s.nextEmit-abs > 2*interval
}

func (d *decoder) result(err error, eof bool) sessionResult {
	r := sessionResult{err: err, eof: eof, gotFrames: d.gotFrames}
	var fe fatalErr
	if errors.As(err, &fe) {
		r.err = fe.error
		r.retryNow = fe.retryNow
		r.fatal = !fe.retryNow
	}
	return r
}

type fatalErr struct {
	error
	retryNow bool
}

// decode sends pkt (nil = drain) and handles every frame it yields.
func (d *decoder) decode(pkt *astiav.Packet) error {
	for attempt := 0; ; attempt++ {
		err := d.cc.SendPacket(pkt)
		if err == nil {
			break
		}
		if errors.Is(err, astiav.ErrEagain) && attempt == 0 {
			// output must be read first; then resend
			if err := d.receive(); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, astiav.ErrEof) {
			return nil
		}
		// Corrupt packets (e.g. joining a stream between keyframes) are
		// not fatal; a decoder that only fails is.
		d.decodeErrs++
		if d.decodeErrs > 200 && !d.gotFrames {
			return fmt.Errorf("decode: %w", err)
		}
		return d.receive()
	}
	return d.receive()
}

func (d *decoder) receive() error {
	for {
		err := d.cc.ReceiveFrame(d.frame)
		if err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			d.decodeErrs++
			if d.hwFmt != astiav.PixelFormatNone && !d.gotFrames {
				d.s.hwDisabled = true
				d.s.hwFallback("cuda decoding failed: " + err.Error())
				return fatalErr{error: err, retryNow: true}
			}
			return fmt.Errorf("decode: %w", err)
		}
		d.decoded++
		err = d.handle(d.frame)
		d.frame.Unref()
		if err != nil {
			return err
		}
		d.measure()
	}
}

// costWindow is how many decoded frames one decode-cost measurement spans.
const costWindow = 50

// measure updates Status.DecodeCPUMS every costWindow frames decoded on this thread
// alone: the thread's CPU time (demux, decode, conversion of the frames sampling
// kept) per decoded frame, averaged with the previous window.
func (d *decoder) measure() {
	if !d.oneThread {
		return
	}
	if d.cpuFrames++; d.cpuFrames < costWindow {
		return
	}
	now := ThreadCPU()
	ms := float64(now-d.cpuMark) / float64(time.Millisecond) / float64(d.cpuFrames)
	d.cpuMark, d.cpuFrames = now, 0
	s := d.s
	s.mu.Lock()
	if s.st.DecodeCPUMS > 0 {
		ms = (ms + s.st.DecodeCPUMS) / 2
	}
	s.st.DecodeCPUMS = ms
	s.mu.Unlock()
}

// ThreadCPU is the CPU time (user + system) of the calling OS thread; callers lock
// their goroutine to it (runtime.LockOSThread) for the differences to mean anything.
func ThreadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD (Linux)
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// handle paces, counts, samples, converts and delivers one decoded frame.
func (d *decoder) handle(f *astiav.Frame) error {
	s := d.s
	if d.keyMode && f.PictureType() != astiav.PictureTypeI && f.PictureType() != astiav.PictureTypeSi {
		// A "key" packet that decodes to a P picture (intra refresh's
		// recovery points) is garbage without the frames before it.
		if s.kfBroken == "" {
			s.kfBroken = fmt.Sprintf("key frames are not intra-coded (a %s picture; intra refresh?)", f.PictureType())
			s.setKeyframes(false, s.kfBroken)
		}
		return nil
	}
	hw := d.hwFmt != astiav.PixelFormatNone && f.PixelFormat() == d.hwFmt
	if hw && !d.hwReported {
		d.hwReported = true
		s.mu.Lock()
		s.st.HWAccel = s.opts.HWAccel
		s.mu.Unlock()
	}

	pts := d.pts(f)
	s.lastPTS = pts

	when, ok := d.pace(pts)
	if !ok {
		return nil
	}

	now := time.Now()
	if s.kind == kindNetwork {
		when = now
	}
	s.seq++
	seq := s.seq
	d.gotFrames = true
	s.mu.Lock()
	s.st.Frames = seq
	s.st.LastFrame = now
	s.st.Width, s.st.Height = f.Width(), f.Height()
	s.fps.add(now)
	becameOnline := s.st.State != StateOnline
	if becameOnline {
		s.setState(StateOnline, "")
		s.st.Retries = 0
	}
	s.mu.Unlock()
	if becameOnline {
		s.log.Info("source online", "codec", d.cc.CodecID().String(), "width", f.Width(), "height", f.Height())
	}

	if !d.sample(pts) {
		s.mu.Lock()
		s.st.Skipped++
		s.mu.Unlock()
		return nil
	}

	// a hardware frame is downloaded only now, once sampling kept it: at 5 fps
	// analysis of a 25 fps camera four NVDEC frames in five never leave the GPU
	src := f
	if hw {
		if err := f.TransferHardwareData(d.sw); err != nil {
			s.hwDisabled = true
			s.hwFallback("transferring cuda frame failed: " + err.Error())
			return fatalErr{error: err, retryNow: true}
		}
		defer d.sw.Unref()
		src = d.sw
	}
	mat, err := d.toMat(src)
	if err != nil {
		return err
	}
	s.deliver(Frame{Mat: mat, PTS: pts, Time: when, Seq: seq, Width: src.Width(), Height: src.Height(), Key: f.KeyFrame()})
	return nil
}

// pace returns the capture time of a file frame at pts (start + PTS) and,
// for Realtime files, waits for it; false if the source closed meanwhile.
func (d *decoder) pace(pts time.Duration) (time.Time, bool) {
	s := d.s
	if s.kind != kindFile {
		return time.Time{}, true
	}
	when := s.anchor.Add(pts)
	if s.opts.Realtime {
		now := time.Now()
		switch wait := when.Sub(now); {
		case wait > 5*time.Second || wait < -time.Second:
			// timestamp jump or we fell behind: re-anchor
			s.anchor = now.Add(-pts)
			when = now
		case wait > 0:
			t := time.NewTimer(wait)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return when, false
			case <-t.C:
			}
		}
	}
	return when, true
}

// pts returns the absolute PTS of f (session offset included).
func (d *decoder) pts(f *astiav.Frame) time.Duration {
	s := d.s
	p := f.Pts()
	if p == astiav.NoPtsValue {
		p = f.PktDts()
	}
	if p == astiav.NoPtsValue {
		if !d.gotFrames {
			return s.ptsOffset
		}
		return s.lastPTS + s.frameDur
	}
	if d.basePTS == astiav.NoPtsValue {
		d.basePTS = p
	}
	rel := time.Duration(astiav.RescaleQ(p-d.basePTS, d.tb, astiav.NewRational(1, int(time.Second))))
	abs := s.ptsOffset + rel
	if d.gotFrames && abs <= s.lastPTS-time.Second {
		// large backwards jump (e.g. camera restarted its clock): rebase
		d.basePTS = p
		s.ptsOffset = s.lastPTS + s.frameDur
		abs = s.ptsOffset
	}
	return abs
}

// sample implements MaxFPS on PTS so it works for unpaced files as well.
func (d *decoder) sample(pts time.Duration) bool {
	s := d.s
	if s.opts.MaxFPS <= 0 {
		return true
	}
	interval := time.Duration(float64(time.Second) / s.opts.MaxFPS)
	const tol = time.Millisecond
	if !s.emitPrimed || pts+tol >= s.nextEmit {
		if !s.emitPrimed || pts-s.nextEmit > interval {
			s.nextEmit = pts // first frame or a gap: restart the grid here
		}
		s.emitPrimed = true
		s.nextEmit += interval
		return true
	}
	if s.nextEmit-pts > 2*interval {
		// PTS went backwards: restart the grid
		s.nextEmit = pts + interval
		return true
	}
	return false
}

// toMat converts src to BGR24 with libswscale and copies it into a Mat that
// owns its memory (av_image_copy_to_buffer honours linesize).
func (d *decoder) toMat(src *astiav.Frame) (gocv.Mat, error) {
	w, h, pf := src.Width(), src.Height(), src.PixelFormat()
	if w <= 0 || h <= 0 {
		return gocv.Mat{}, fmt.Errorf("decoded frame has invalid size %dx%d", w, h)
	}
	if d.sws == nil || w != d.swsW || h != d.swsH || pf != d.swsFmt {
		if d.sws != nil {
			d.sws.Free()
			d.sws = nil
		}
		d.bgr.Unref()
		sws, err := astiav.CreateSoftwareScaleContext(w, h, pf, w, h, astiav.PixelFormatBgr24,
			astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
		if err != nil {
			return gocv.Mat{}, fmt.Errorf("creating scale context %dx%d %s: %w", w, h, pf, err)
		}
		d.sws, d.swsW, d.swsH, d.swsFmt = sws, w, h, pf
		d.bgr.SetWidth(w)
		d.bgr.SetHeight(h)
		d.bgr.SetPixelFormat(astiav.PixelFormatBgr24)
		if err := d.bgr.AllocBuffer(0); err != nil {
			return gocv.Mat{}, fmt.Errorf("allocating BGR frame: %w", err)
		}
	}
	if err := d.sws.ScaleFrame(src, d.bgr); err != nil {
		return gocv.Mat{}, fmt.Errorf("colour conversion: %w", err)
	}
	mat := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	buf, err := mat.DataPtrUint8()
	if err != nil || len(buf) < w*h*3 {
		mat.Close()
		return gocv.Mat{}, fmt.Errorf("allocating %dx%d Mat failed: %v", w, h, err)
	}
	if _, err := d.bgr.ImageCopyToBuffer(buf[:w*h*3], 1); err != nil {
		mat.Close()
		return gocv.Mat{}, fmt.Errorf("copying BGR frame: %w", err)
	}
	return mat, nil
}

// deliver queues f. Unpaced files block (no frame lost); live sources never
// block: when the channel is full the oldest queued frame is dropped.
func (s *Source) deliver(f Frame) {
	if s.kind == kindFile && !s.opts.Realtime {
		select {
		case s.frames <- f:
			s.mu.Lock()
			s.st.Delivered++
			s.mu.Unlock()
		case <-s.ctx.Done():
			f.Mat.Close()
		}
		return
	}
	for {
		select {
		case s.frames <- f:
			s.mu.Lock()
			s.st.Delivered++
			s.mu.Unlock()
			return
		default:
		}
		select {
		case old := <-s.frames:
			old.Mat.Close()
			s.mu.Lock()
			s.st.Dropped++
			s.st.Delivered--
			s.mu.Unlock()
		default:
		}
	}
}
