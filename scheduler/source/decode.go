package source

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return sessionResult{err: errors.New("allocating codec context failed"), fatal: true}
	}
	defer func() {
		cc.SetPixelFormatCallback(nil) // drop go-astiav's registry entry
		cc.Free()                      // also releases the hw device context
	}()
	if err := cp.ToCodecContext(cc); err != nil {
		return s.fatalForFile(fmt.Errorf("codec parameters: %w", err))
	}
	cc.SetThreadCount(0) // auto
	hwFmt := astiav.PixelFormatNone
	if s.opts.HWAccel != "" && !s.hwDisabled {
		var herr error
		if hwFmt, herr = s.setupHW(codec, cc); herr != nil {
			// no driver/device or codec unsupported: not worth retrying
			// on every reconnect or loop
			s.hwDisabled = true
			s.hwFallback(herr.Error())
			hwFmt = astiav.PixelFormatNone
		}
	}
	if err := cc.Open(codec, nil); err != nil {
		if hwFmt != astiav.PixelFormatNone {
			s.hwDisabled = true
			s.hwFallback("opening decoder with cuda failed: " + err.Error())
			return sessionResult{err: err, retryNow: true}
		}
		return s.fatalForFile(fmt.Errorf("open decoder %s: %w", codec.Name(), err))
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

	d := &decoder{
		s:       s,
		fc:      fc,
		cc:      cc,
		stream:  vs,
		tb:      vs.TimeBase(),
		hwFmt:   hwFmt,
		basePTS: astiav.NoPtsValue,
	}
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
	defer d.free()
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
	hdc, err := astiav.CreateHardwareDeviceContext(t, "", nil)
	if err != nil {
		return astiav.PixelFormatNone, fmt.Errorf("creating %s device failed: %w", t, err)
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
	cc     *astiav.CodecContext
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
}

func (d *decoder) free() {
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
		err := d.decode(d.pkt)
		d.pkt.Unref()
		if err != nil {
			return d.result(err, false)
		}
	}
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
		err = d.handle(d.frame)
		d.frame.Unref()
		if err != nil {
			return err
		}
	}
}

// handle paces, counts, samples, converts and delivers one decoded frame.
func (d *decoder) handle(f *astiav.Frame) error {
	s := d.s
	src := f
	if d.hwFmt != astiav.PixelFormatNone && f.PixelFormat() == d.hwFmt {
		if err := f.TransferHardwareData(d.sw); err != nil {
			s.hwDisabled = true
			s.hwFallback("transferring cuda frame failed: " + err.Error())
			return fatalErr{error: err, retryNow: true}
		}
		defer d.sw.Unref()
		src = d.sw
		if !d.hwReported {
			d.hwReported = true
			s.mu.Lock()
			s.st.HWAccel = s.opts.HWAccel
			s.mu.Unlock()
		}
	}

	pts := d.pts(f)
	s.lastPTS = pts

	// pace files at their native rate
	var when time.Time
	if s.kind == kindFile {
		when = s.anchor.Add(pts)
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
					return nil
				case <-t.C:
				}
			}
		}
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
	s.st.Width, s.st.Height = src.Width(), src.Height()
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

	mat, err := d.toMat(src)
	if err != nil {
		return err
	}
	s.deliver(Frame{Mat: mat, PTS: pts, Time: when, Seq: seq, Width: src.Width(), Height: src.Height()})
	return nil
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
