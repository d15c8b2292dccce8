package workers

import (
	"errors"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// ErrNoLiveFrame: the stream runs on no pipeline of this worker, or has decoded no
// frame yet.
var ErrNoLiveFrame = errors.New("no decoded frame of this stream on this worker")

// liveFrame keeps a stream's latest decoded frame for live snapshots (the console's
// camera page and the ROI canvas). The frame loop copies at most one frame a second
// into a reused Mat (a copy, no allocation, whatever the decode rate); a request
// encodes that copy to JPEG once, so many viewers cost one encode a second at most.
type liveFrame struct {
	mu     sync.Mutex
	mat    gocv.Mat
	at     time.Time // the copied frame's capture time; zero: none yet
	copied time.Time // wall clock of the last copy
	jpeg   []byte    // mat encoded on first request, nil until then
	closed bool
}

func newLiveFrame() *liveFrame { return &liveFrame{mat: gocv.NewMat()} }

// keep copies the frame unless one was copied less than a second ago.
func (l *liveFrame) keep(m gocv.Mat, at time.Time) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || now.Sub(l.copied) < time.Second || m.Empty() {
		return
	}
	m.CopyTo(&l.mat)
	l.at, l.copied, l.jpeg = at, now, nil
}

// jpegOf returns the kept frame as JPEG and its capture time.
func (l *liveFrame) jpegOf(quality int) ([]byte, time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.at.IsZero() {
		return nil, time.Time{}, ErrNoLiveFrame
	}
	if l.jpeg == nil {
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, l.mat, []int{gocv.IMWriteJpegQuality, quality})
		if err != nil {
			return nil, time.Time{}, err
		}
		l.jpeg = append([]byte(nil), buf.GetBytes()...)
		buf.Close()
	}
	return l.jpeg, l.at, nil
}

func (l *liveFrame) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.mat.Close()
		l.jpeg = nil
	}
}

// LiveFrame returns the latest decoded frame of a stream this worker runs, as JPEG
// (at most about a second old at the time it was kept), with its capture time.
// The caller watermarks it before it leaves the process.
func (w *Worker) LiveFrame(streamID string) ([]byte, time.Time, error) {
	w.mu.Lock()
	p := w.pipelines[streamID]
	w.mu.Unlock()
	if p == nil {
		return nil, time.Time{}, ErrNoLiveFrame
	}
	return p.live.jpegOf(90)
}
