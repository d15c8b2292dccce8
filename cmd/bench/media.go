package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/asticode/go-astiav"
	"gocv.io/x/gocv"
)

// trim copies the first n video packets of src into dst (a stream copy, no
// re-encoding: the same compressed frames), so that every phase decodes exactly the
// same frames and a pipeline's source ends at the same frame as the baseline. The
// container is the one dst's extension names.
func trim(src, dst string, n int) error {
	in := astiav.AllocFormatContext()
	if in == nil {
		return errors.New("allocating input format context failed")
	}
	defer in.Free()
	if err := in.OpenInput("file:"+src, nil, nil); err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.CloseInput()
	if err := in.FindStreamInfo(nil); err != nil {
		return fmt.Errorf("probe %s: %w", src, err)
	}
	var is *astiav.Stream
	for _, s := range in.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			is = s
			break
		}
	}
	if is == nil {
		return fmt.Errorf("%s: no video stream", src)
	}

	out, err := astiav.AllocOutputFormatContext(nil, "", dst)
	if err != nil || out == nil {
		return fmt.Errorf("output format for %s: %v", filepath.Ext(dst), err)
	}
	defer out.Free()
	ost := out.NewStream(nil)
	if ost == nil {
		return errors.New("allocating output stream failed")
	}
	if err := is.CodecParameters().Copy(ost.CodecParameters()); err != nil {
		return fmt.Errorf("copying codec parameters: %w", err)
	}
	ost.CodecParameters().SetCodecTag(0)
	ost.SetTimeBase(is.TimeBase())
	ost.SetAvgFrameRate(is.AvgFrameRate())
	ost.SetRFrameRate(is.RFrameRate())
	if !out.OutputFormat().Flags().Has(astiav.IOFormatFlagNofile) {
		pb, err := astiav.OpenIOContext(dst, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
		if err != nil {
			return fmt.Errorf("create %s: %w", dst, err)
		}
		defer pb.Close() //nolint:errcheck
		out.SetPb(pb)
	}
	if err := out.WriteHeader(nil); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for copied := 0; copied < n; {
		if err := in.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				break
			}
			return fmt.Errorf("read %s: %w", src, err)
		}
		if pkt.StreamIndex() != is.Index() {
			pkt.Unref()
			continue
		}
		pkt.SetStreamIndex(ost.Index())
		pkt.RescaleTs(is.TimeBase(), ost.TimeBase())
		pkt.SetPos(-1)
		err := out.WriteInterleavedFrame(pkt) // takes the packet's reference
		if err != nil {
			return fmt.Errorf("write %s: %w", dst, err)
		}
		copied++
	}
	return out.WriteTrailer()
}

// clipInfo is what the decode baseline learnt about the clip.
type clipInfo struct {
	Codec         string
	Width, Height int
	FPS           float64
}

// decodeBGR is the standalone decode baseline: the same work workers/source does
// per frame (demux, decode with FFmpeg's automatic thread count, libswscale to BGR24
// with the bilinear flag, copy into a gocv.Mat that owns its memory) and nothing
// else: no pacing, channel, status or sampling. It hands every frame of path to fn,
// which owns it, and returns the number of frames.
func decodeBGR(path string, fn func(gocv.Mat)) (int, clipInfo, error) {
	var info clipInfo
	fc := astiav.AllocFormatContext()
	if fc == nil {
		return 0, info, errors.New("allocating format context failed")
	}
	defer fc.Free()
	if err := fc.OpenInput("file:"+path, nil, nil); err != nil {
		return 0, info, fmt.Errorf("open %s: %w", path, err)
	}
	defer fc.CloseInput()
	if err := fc.FindStreamInfo(nil); err != nil {
		return 0, info, fmt.Errorf("probe: %w", err)
	}
	var vs *astiav.Stream
	for _, s := range fc.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			vs = s
			break
		}
	}
	if vs == nil {
		return 0, info, errors.New("no video stream")
	}
	for _, r := range []astiav.Rational{vs.AvgFrameRate(), vs.RFrameRate()} {
		if r.Num() > 0 && r.Den() > 0 {
			info.FPS = r.Float64()
			break
		}
	}
	codec := astiav.FindDecoder(vs.CodecParameters().CodecID())
	if codec == nil {
		return 0, info, fmt.Errorf("no decoder for %s", vs.CodecParameters().CodecID())
	}
	info.Codec = codec.Name()
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return 0, info, errors.New("allocating codec context failed")
	}
	defer cc.Free()
	if err := vs.CodecParameters().ToCodecContext(cc); err != nil {
		return 0, info, err
	}
	cc.SetThreadCount(0) // as workers/source does
	if err := cc.Open(codec, nil); err != nil {
		return 0, info, fmt.Errorf("open decoder %s: %w", codec.Name(), err)
	}

	pkt, frame, bgr := astiav.AllocPacket(), astiav.AllocFrame(), astiav.AllocFrame()
	defer pkt.Free()
	defer frame.Free()
	defer bgr.Free()
	var sws *astiav.SoftwareScaleContext
	defer func() {
		if sws != nil {
			sws.Free()
		}
	}()
	n := 0
	convert := func() error {
		w, h := frame.Width(), frame.Height()
		if sws == nil {
			var err error
			sws, err = astiav.CreateSoftwareScaleContext(w, h, frame.PixelFormat(), w, h, astiav.PixelFormatBgr24,
				astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
			if err != nil {
				return err
			}
			bgr.SetWidth(w)
			bgr.SetHeight(h)
			bgr.SetPixelFormat(astiav.PixelFormatBgr24)
			if err := bgr.AllocBuffer(0); err != nil {
				return err
			}
			info.Width, info.Height = w, h
		}
		if err := sws.ScaleFrame(frame, bgr); err != nil {
			return err
		}
		mat := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		buf, err := mat.DataPtrUint8()
		if err != nil {
			mat.Close()
			return err
		}
		if _, err := bgr.ImageCopyToBuffer(buf[:w*h*3], 1); err != nil {
			mat.Close()
			return err
		}
		fn(mat)
		n++
		return nil
	}
	receive := func() error {
		for {
			err := cc.ReceiveFrame(frame)
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			if err != nil {
				return err
			}
			err = convert()
			frame.Unref()
			if err != nil {
				return err
			}
		}
	}
	send := func(p *astiav.Packet) error { // p nil: drain
		for {
			err := cc.SendPacket(p)
			if errors.Is(err, astiav.ErrEagain) { // read the output first, then resend
				if err := receive(); err != nil {
					return err
				}
				continue
			}
			if err != nil && !errors.Is(err, astiav.ErrEof) {
				return err
			}
			return receive()
		}
	}
	for {
		err := fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			err = send(nil)
			if err != nil {
				return n, info, fmt.Errorf("decode: %w", err)
			}
			break
		}
		if err == nil && pkt.StreamIndex() == vs.Index() {
			err = send(pkt)
		}
		pkt.Unref()
		if err != nil {
			return n, info, fmt.Errorf("decode: %w", err)
		}
	}
	return n, info, nil
}

func closeAll(mats []gocv.Mat) {
	for _, m := range mats {
		m.Close()
	}
}

// decodeAll returns every frame of path.
func decodeAll(path string) ([]gocv.Mat, clipInfo, error) {
	var mats []gocv.Mat
	_, info, err := decodeBGR(path, func(m gocv.Mat) { mats = append(mats, m) })
	if err != nil {
		closeAll(mats)
		return nil, info, err
	}
	return mats, info, nil
}
