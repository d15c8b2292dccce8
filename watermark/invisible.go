package watermark

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"gocv.io/x/gocv"
)

const (
	// qimStep is Δ, the quantiser step of the QIM lattice, in orthonormal DCT units.
	// Bits are Δ/2 apart, so a coefficient is decoded right while its error stays
	// under Δ/4 = 7: JPEG quality 75 (steps 7–8 here) always, quality 50 (13–16)
	// mostly. Larger steps survive lower qualities but cost PSNR: the embedding
	// error per coefficient is uniform in ±Δ/2, so 5 coefficients per block give
	// a luma MSE of 5·Δ²/12/64 ≈ 5.1 (≈ 41 dB).
	qimStep = 28.0
	// payloadBits + tagBits make the frame spread over the picture.
	payloadBits = 32
	tagBits     = 16
	frameBits   = payloadBits + tagBits
	// minSlotsPerBit is the fewest coefficient slots per frame bit that Apply
	// embeds into and Extract reads from; below it the vote is not reliable.
	minSlotsPerBit = 24
	// minMargin is the average normalised vote margin (1 = every slot exactly on
	// its lattice, 0 = random) a decoded frame needs besides its tag. Unmarked
	// pictures and wrong keys give about 0.46/sqrt(slots per bit): ≈ 0.09 ± 0.01
	// at the minimum size, ≈ 0.03 on a 640×480 picture. Marked copies give ≈ 0.97
	// as written, ≈ 0.7 after quality 75 and ≈ 0.45 after quality 50.
	minMargin = 0.2
	// embedPasses bounds the re-embedding passes per block: a pass re-measures the
	// block after rounding and clipping to 0..255 and corrects what they undid.
	embedPasses = 6
)

// coeffs are the (row, column) DCT frequencies that carry the mark: mid
// frequencies, which JPEG quantises lightly and which are not the smooth ramps (0,1)
// and (1,0) that would show as blocking on flat areas.
var coeffs = [...][2]int{{1, 2}, {2, 1}, {2, 2}, {0, 3}, {3, 0}}

const nCoeffs = len(coeffs)

// minBlocks is the fewest full 8×8 blocks that can carry the frame.
const minBlocks = (frameBits*minSlotsPerBit + nCoeffs - 1) / nCoeffs

// basis[k] is the orthonormal 8×8 DCT basis image of coeffs[k], indexed y*8+x.
var basis = func() (b [nCoeffs][64]float64) {
	alpha := func(u int) float64 {
		if u == 0 {
			return math.Sqrt(1.0 / 8)
		}
		return math.Sqrt(2.0 / 8)
	}
	for k, c := range coeffs {
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				b[k][y*8+x] = alpha(c[0]) * alpha(c[1]) *
					math.Cos(float64(2*y+1)*float64(c[0])*math.Pi/16) *
					math.Cos(float64(2*x+1)*float64(c[1])*math.Pi/16)
			}
		}
	}
	return b
}()

// layout is the key-dependent assignment of coefficient slots (block*nCoeffs+k,
// blocks in raster order) to frame bits, and each slot's dither in [0, Δ).
type layout struct {
	bit    []uint8
	dither []float64
}

// newLayout derives the layout of n slots from key. The bit labels 0..47 are dealt
// round-robin and shuffled (Fisher–Yates), so every bit gets n/48 slots scattered
// over the picture and over the five frequencies.
func newLayout(key []byte, n int) *layout {
	ks := newKeystream(deriveKey(key, "layout"))
	l := &layout{bit: make([]uint8, n), dither: make([]float64, n)}
	for i := range l.bit {
		l.bit[i] = uint8(i % frameBits)
	}
	for i := n - 1; i > 0; i-- {
		j := ks.intn(uint64(i + 1))
		l.bit[i], l.bit[j] = l.bit[j], l.bit[i]
	}
	for i := range l.dither {
		l.dither[i] = float64(ks.uint64()>>11) / (1 << 53) * qimStep
	}
	return l
}

func deriveKey(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cityeye/watermark/v1/" + label))
	return m.Sum(nil)
}

// tag authenticates a payload under key: an unmarked picture or a wrong key decodes
// to a frame whose tag matches with probability 2^-16 only.
func tag(payload uint32, key []byte) uint16 {
	m := hmac.New(sha256.New, deriveKey(key, "tag"))
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], payload)
	m.Write(b[:])
	return binary.BigEndian.Uint16(m.Sum(nil))
}

// frame returns the 48 bits to embed: payload then tag, most significant first.
func frame(payload uint32, key []byte) (f [frameBits]uint8) {
	v := uint64(payload)<<tagBits | uint64(tag(payload, key))
	for i := range f {
		f[i] = uint8(v >> (frameBits - 1 - i) & 1)
	}
	return f
}

// keystream is AES-256-CTR over zeros: a fixed, portable pseudo-random sequence.
type keystream struct {
	ctr cipher.Stream
	buf [4096]byte
	pos int
}

func newKeystream(key []byte) *keystream {
	block, err := aes.NewCipher(key) // 32-byte key: cannot fail
	if err != nil {
		panic(err)
	}
	ks := &keystream{ctr: cipher.NewCTR(block, make([]byte, aes.BlockSize))}
	ks.pos = len(ks.buf)
	return ks
}

func (ks *keystream) uint64() uint64 {
	if ks.pos == len(ks.buf) {
		clear(ks.buf[:])
		ks.ctr.XORKeyStream(ks.buf[:], ks.buf[:])
		ks.pos = 0
	}
	v := binary.LittleEndian.Uint64(ks.buf[ks.pos:])
	ks.pos += 8
	return v
}

// intn returns a uniform integer in [0, n) (Lemire's method with rejection).
func (ks *keystream) intn(n uint64) uint64 {
	hi, lo := bits.Mul64(ks.uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(ks.uint64(), n)
		}
	}
	return hi
}

// luma is the JPEG (JFIF) luma of a BGR pixel.
func luma(p []uint8) float64 {
	return 0.114*float64(p[0]) + 0.587*float64(p[1]) + 0.299*float64(p[2])
}

// blockCoeffs computes the carrying coefficients of the block whose top-left pixel
// is at offset off in the BGR buffer with row stride stride.
func blockCoeffs(px []uint8, off, stride int) (c [nCoeffs]float64) {
	var y [64]float64
	for r := 0; r < 8; r++ {
		row := px[off+r*stride : off+r*stride+24]
		for x := 0; x < 8; x++ {
			y[r*8+x] = luma(row[3*x:])
		}
	}
	for k := range c {
		s := 0.0
		for i, v := range y {
			s += basis[k][i] * v
		}
		c[k] = s
	}
	return c
}

// qimTarget is the point of bit b's lattice dither + b·Δ/2 + kΔ nearest to c.
func qimTarget(c, dither float64, b uint8) float64 {
	o := dither + float64(b)*qimStep/2
	return o + math.Round((c-o)/qimStep)*qimStep
}

// softBit is +1 when c sits on bit 0's lattice, -1 on bit 1's, linear in between.
func softBit(c, dither float64) float64 {
	r := (c - dither) / qimStep
	r -= math.Floor(r)
	d := math.Min(r, 1-r) // distance to bit 0's lattice in units of Δ, 0..0.5
	return 1 - 4*d
}

// embedMat embeds payload into the 8-bit BGR picture in place. Pictures with fewer
// than minBlocks full blocks are left alone (see the package doc).
func embedMat(mat *gocv.Mat, payload uint32, key []byte) error {
	px, err := mat.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("watermark: %w", err)
	}
	embed(px, mat.Cols(), mat.Rows(), payload, key)
	return nil
}

// embed embeds payload into the w×h BGR buffer px; it reports whether the picture
// was large enough.
func embed(px []uint8, w, h int, payload uint32, key []byte) bool {
	bw, bh := w/8, h/8
	if bw*bh < minBlocks {
		return false
	}
	f := frame(payload, key)
	lay := newLayout(key, bw*bh*nCoeffs)
	stride := 3 * w
	var orig [64 * 3]uint8
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			slot := (by*bw + bx) * nCoeffs
			off := by*8*stride + bx*8*3
			c := blockCoeffs(px, off, stride)
			var target [nCoeffs]float64
			for k := range target {
				target[k] = qimTarget(c[k], lay.dither[slot+k], f[lay.bit[slot+k]])
			}
			for r := 0; r < 8; r++ {
				copy(orig[r*24:r*24+24], px[off+r*stride:])
			}
			// delta is the luma change added to B, G and R alike. Each pass adds
			// the remaining coefficient error; rounding and clipping at 0 and 255
			// undo part of it, which the next pass measures and makes up for (in a
			// white block the pattern ends up carried by slightly darker pixels).
			var delta [64]float64
			for pass := 0; pass < embedPasses; pass++ {
				var diff [nCoeffs]float64
				worst := 0.0
				for k := range diff {
					diff[k] = target[k] - c[k]
					worst = math.Max(worst, math.Abs(diff[k]))
				}
				if worst < 1.0 { // rounding to 8 bits leaves this much anyway; Δ/4 = 7
					break
				}
				for i := range delta {
					for k := range diff {
						delta[i] += diff[k] * basis[k][i]
					}
				}
				for r := 0; r < 8; r++ {
					row := px[off+r*stride : off+r*stride+24]
					for x := 0; x < 8; x++ {
						d := delta[r*8+x]
						for ch := 0; ch < 3; ch++ {
							v := math.Round(float64(orig[r*24+3*x+ch]) + d)
							row[3*x+ch] = uint8(min(max(v, 0), 255))
						}
					}
				}
				c = blockCoeffs(px, off, stride)
			}
		}
	}
	return true
}

// extract reads the frame from the w×h BGR buffer px and checks it.
func extract(px []uint8, w, h int, key []byte) (uint32, error) {
	bw, bh := w/8, h/8
	if bw*bh < minBlocks {
		return 0, fmt.Errorf("%w: %d×%d px is below the minimum of %d full 8×8 blocks", ErrNoMark, w, h, minBlocks)
	}
	payload, margin := decodeFrame(px, w, h, key)
	if margin < minMargin || tag(uint32(payload>>tagBits), key) != uint16(payload) {
		return 0, ErrNoMark
	}
	return uint32(payload >> tagBits), nil
}

// decodeFrame returns the 48 decoded bits (payload<<16 | tag) and the average
// normalised vote margin over the bits.
func decodeFrame(px []uint8, w, h int, key []byte) (frame uint64, margin float64) {
	bw, bh := w/8, h/8
	lay := newLayout(key, bw*bh*nCoeffs)
	stride := 3 * w
	var sum [frameBits]float64
	var n [frameBits]int
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			slot := (by*bw + bx) * nCoeffs
			c := blockCoeffs(px, by*8*stride+bx*8*3, stride)
			for k := range c {
				b := lay.bit[slot+k]
				sum[b] += softBit(c[k], lay.dither[slot+k])
				n[b]++
			}
		}
	}
	for i := range sum {
		frame <<= 1
		if sum[i] < 0 {
			frame |= 1
		}
		margin += math.Abs(sum[i]) / float64(n[i])
	}
	return frame, margin / frameBits
}
