package engine

import (
	"math"
	"testing"
)

// float16 inputs: IEEE half precision, rounded to nearest even, with overflow to
// infinity and underflow through subnormals to zero.
func TestFloat16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.1, 0x2e66}, {65504, 0x7bff}, {70000, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {6e-8, 0x0001}, {1e-9, 0}, {0.5 + 1.0/4096, 0x3800}, // a tie rounds to even
		{127.0 / 255, 0x37f8}, // 1015.97/1024 above 2^-2
	} {
		if got := Float16(c.in); got != c.want {
			t.Errorf("Float16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}
