package track

import "github.com/cityeye/cityeye/models/decode"

// kalman is ByteTrack's constant-velocity Kalman filter on (cx, cy, a, h) — box
// centre, aspect ratio w/h and height — and their velocities per frame. Noise is
// proportional to the box height (std 1/20 of h for position, 1/160 for velocity),
// so the filter behaves the same for a near and a far object.
type kalman struct {
	x [8]float64    // state
	p [8][8]float64 // covariance
}

const (
	stdPos = 1.0 / 20
	stdVel = 1.0 / 160
)

// measure turns a box into the filter's measurement (cx, cy, a, h).
func measure(b decode.Box) [4]float64 {
	w, h := float64(b.W()), float64(b.H())
	if h < 1 {
		h = 1
	}
	return [4]float64{float64(b.X1) + w/2, float64(b.Y1) + h/2, w / h, h}
}

// newKalman starts a filter at box b with zero velocity and a wide velocity prior.
func newKalman(b decode.Box) *kalman {
	z := measure(b)
	k := &kalman{}
	copy(k.x[:4], z[:])
	h := z[3]
	std := [8]float64{2 * stdPos * h, 2 * stdPos * h, 1e-2, 2 * stdPos * h, 10 * stdVel * h, 10 * stdVel * h, 1e-5, 10 * stdVel * h}
	for i, s := range std {
		k.p[i][i] = s * s
	}
	return k
}

// predict advances the state by dt frames: x += dt·v, P = F P Fᵀ + dt·Q.
func (k *kalman) predict(dt float64) {
	h := k.x[3]
	for i := range 4 {
		k.x[i] += dt * k.x[4+i]
	}
	// P in 4×4 blocks [A B; Bᵀ C]: F P Fᵀ = [A + dt(B+Bᵀ) + dt²C, B + dt·C; Bᵀ + dt·C, C]
	var n [8][8]float64
	for i := range 4 {
		for j := range 4 {
			a, b, bt, c := k.p[i][j], k.p[i][4+j], k.p[4+i][j], k.p[4+i][4+j]
			n[i][j] = a + dt*(b+bt) + dt*dt*c
			n[i][4+j] = b + dt*c
			n[4+i][j] = bt + dt*c
			n[4+i][4+j] = c
		}
	}
	q := [8]float64{stdPos * h, stdPos * h, 1e-2, stdPos * h, stdVel * h, stdVel * h, 1e-5, stdVel * h}
	for i, s := range q {
		n[i][i] += dt * s * s
	}
	k.p = n
}

// update corrects the state with a measured box: K = P Hᵀ S⁻¹, x += K(z − Hx),
// P −= K H P, where H selects the first four state components.
func (k *kalman) update(b decode.Box) {
	z := measure(b)
	h := k.x[3]
	r := [4]float64{stdPos * h, stdPos * h, 1e-1, stdPos * h}
	var s [4][4]float64
	for i := range 4 {
		for j := range 4 {
			s[i][j] = k.p[i][j]
		}
		s[i][i] += r[i] * r[i]
	}
	si, ok := inv4(s)
	if !ok {
		return
	}
	var gain [8][4]float64 // P Hᵀ S⁻¹
	for i := range 8 {
		for j := range 4 {
			var v float64
			for m := range 4 {
				v += k.p[i][m] * si[m][j]
			}
			gain[i][j] = v
		}
	}
	var innov [4]float64
	for i := range 4 {
		innov[i] = z[i] - k.x[i]
	}
	for i := range 8 {
		for j := range 4 {
			k.x[i] += gain[i][j] * innov[j]
		}
	}
	var n [8][8]float64
	for i := range 8 {
		for j := range 8 {
			var v float64
			for m := range 4 {
				v += gain[i][m] * k.p[m][j]
			}
			n[i][j] = k.p[i][j] - v
		}
	}
	k.p = n
}

// box is the state as a box.
func (k *kalman) box() decode.Box {
	h := max(k.x[3], 1)
	w := k.x[2] * h
	return decode.Box{X1: float32(k.x[0] - w/2), Y1: float32(k.x[1] - h/2), X2: float32(k.x[0] + w/2), Y2: float32(k.x[1] + h/2)}
}

// inv4 inverts a 4×4 matrix by Gauss-Jordan elimination with partial pivoting.
func inv4(m [4][4]float64) ([4][4]float64, bool) {
	var inv [4][4]float64
	for i := range 4 {
		inv[i][i] = 1
	}
	for c := range 4 {
		p := c
		for r := c + 1; r < 4; r++ {
			if abs(m[r][c]) > abs(m[p][c]) {
				p = r
			}
		}
		if abs(m[p][c]) < 1e-12 {
			return inv, false
		}
		m[c], m[p] = m[p], m[c]
		inv[c], inv[p] = inv[p], inv[c]
		d := m[c][c]
		for j := range 4 {
			m[c][j] /= d
			inv[c][j] /= d
		}
		for r := range 4 {
			if r == c || m[r][c] == 0 {
				continue
			}
			f := m[r][c]
			for j := range 4 {
				m[r][j] -= f * m[c][j]
				inv[r][j] -= f * inv[c][j]
			}
		}
	}
	return inv, true
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
