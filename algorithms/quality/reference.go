package quality

import (
	"encoding/binary"
	"errors"
	"math"

	"gocv.io/x/gocv"
)

// A reference is the camera's view as the scene comparison sees it (the small
// gradient map), kept between runs so that a camera moved while nobody watched is
// still told: the rotation diagnoses each camera a few key frames at a time.

// Reference returns the view frames are compared with (nil before the first frame).
func (a *alg) Reference() []byte {
	if a.ref == nil {
		return nil
	}
	return encodeMap(a.ref.edges)
}

// View returns the last frame's view (nil before the first frame).
func (a *alg) View() []byte {
	if a.prev == nil {
		return nil
	}
	return encodeMap(a.prev.edges)
}

// SetReference makes ref (from Reference or View) the view frames are compared
// with; call it before the first frame.
func (a *alg) SetReference(ref []byte) error {
	m, err := decodeMap(ref)
	if err != nil {
		return err
	}
	if a.ref != nil && a.ref != a.prev {
		a.ref.Close()
	}
	a.ref = &frame{gray: gocv.NewMat(), edges: m}
	return nil
}

func encodeMap(m gocv.Mat) []byte {
	w, h := m.Cols(), m.Rows()
	out := make([]byte, 8+4*w*h)
	binary.LittleEndian.PutUint32(out, uint32(w))
	binary.LittleEndian.PutUint32(out[4:], uint32(h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			binary.LittleEndian.PutUint32(out[8+4*(y*w+x):], math.Float32bits(m.GetFloatAt(y, x)))
		}
	}
	return out
}

func decodeMap(b []byte) (gocv.Mat, error) {
	if len(b) < 8 {
		return gocv.NewMat(), errors.New("quality: reference too short")
	}
	w, h := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	if w <= 0 || h <= 0 || w > 4096 || h > 4096 || len(b) != 8+4*w*h {
		return gocv.NewMat(), errors.New("quality: malformed reference")
	}
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV32F)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetFloatAt(y, x, math.Float32frombits(binary.LittleEndian.Uint32(b[8+4*(y*w+x):])))
		}
	}
	return m, nil
}
