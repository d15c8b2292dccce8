// Package rules holds the event rules every alerting algorithm shares, so they mean
// the same thing everywhere: zones (ROI polygons), tripwire lines, persistence (a
// condition must hold in k of the last n sampled frames, or for t seconds, before it
// counts), cooldown per key, and daily active windows. Coordinates are normalised to
// [0,1] of the frame, so rules survive a camera's resolution change.
package rules

import (
	"fmt"
	"time"
)

// Point is a normalised (x, y) position.
type Point = [2]float64

// Zone is a named polygon.
type Zone struct {
	Name    string  `json:"name"`
	Polygon []Point `json:"polygon"`
}

// Contains reports whether p lies inside the polygon (ray casting; edges count as inside).
func (z Zone) Contains(p Point) bool {
	in := false
	n := len(z.Polygon)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := z.Polygon[i], z.Polygon[j]
		if onSegment(p, a, b) {
			return true
		}
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func onSegment(p, a, b Point) bool {
	cross := (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
	if cross > 1e-12 || cross < -1e-12 {
		return false
	}
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// Validate checks a zone's polygon.
func (z Zone) Validate() error {
	if len(z.Polygon) < 3 {
		return fmt.Errorf("a polygon needs at least 3 points")
	}
	for i, p := range z.Polygon {
		if p[0] < 0 || p[0] > 1 || p[1] < 0 || p[1] > 1 {
			return fmt.Errorf("point %d: coordinates are normalised to [0,1]", i)
		}
	}
	return nil
}

// Locate returns the first zone that contains p, or ok=false. With no zones at all
// the whole frame is one unnamed zone.
func Locate(zones []Zone, p Point) (name string, ok bool) {
	if len(zones) == 0 {
		return "", true
	}
	for _, z := range zones {
		if z.Contains(p) {
			return z.Name, true
		}
	}
	return "", false
}

// Line is a tripwire from A to B. Direction says which crossings count: "any",
// "left" (from the right of A→B to its left) or "right".
type Line struct {
	Name      string `json:"name"`
	A         Point  `json:"a"`
	B         Point  `json:"b"`
	Direction string `json:"direction,omitempty"`
}

// side is >0 left of A→B, <0 right, 0 on the line, as seen on screen looking from A
// to B. Image y grows downwards, which mirrors the usual (y-up) cross-product sign,
// hence the negation: with A=(0,.5), B=(1,.5) the upper half of the frame is left.
func (l Line) side(p Point) float64 {
	return -((l.B[0]-l.A[0])*(p[1]-l.A[1]) - (l.B[1]-l.A[1])*(p[0]-l.A[0]))
}

// Side is >0 when p is left of A→B, <0 right, 0 on the line (see side): callers
// keep their last point strictly off the line for Crossed.
func (l Line) Side(p Point) float64 { return l.side(p) }

// Crossed reports whether moving from prev to cur crosses the segment in a direction
// that counts. A point exactly on the line has not crossed yet, so neither a move onto
// the line nor a move off it counts: callers tracking an object should keep as prev
// its last position strictly off the line (then right → on → left is one crossing and
// right → on → right none).
func (l Line) Crossed(prev, cur Point) bool {
	s1, s2 := l.side(prev), l.side(cur)
	if s1 == 0 || s2 == 0 || (s1 > 0) == (s2 > 0) {
		return false
	}
	// the movement must cross the segment itself, not the infinite line
	m := Line{A: prev, B: cur}
	if t1, t2 := m.side(l.A), m.side(l.B); (t1 > 0) == (t2 > 0) && t1 != 0 && t2 != 0 {
		return false
	}
	switch l.Direction {
	case "left":
		return s1 < 0 && s2 > 0
	case "right":
		return s1 > 0 && s2 < 0
	}
	return true
}

// Validate checks a line.
func (l Line) Validate() error {
	for _, p := range []Point{l.A, l.B} {
		if p[0] < 0 || p[0] > 1 || p[1] < 0 || p[1] > 1 {
			return fmt.Errorf("coordinates are normalised to [0,1]")
		}
	}
	if l.A == l.B {
		return fmt.Errorf("a and b are the same point")
	}
	switch l.Direction {
	case "", "any", "left", "right":
		return nil
	}
	return fmt.Errorf("direction %q: any, left or right", l.Direction)
}

// Persistence says how long a condition must hold before it counts: in at least K of
// the last N sampled frames, or continuously for at least For. Zero values mean "at
// once" (K=N=1).
type Persistence struct {
	K   int           `json:"frames"`
	N   int           `json:"of"`
	For time.Duration `json:"-"`
	// Seconds is For as the API spells it.
	Seconds float64 `json:"seconds,omitempty"`
}

// Validate checks and normalises the spec.
func (p *Persistence) Validate() error {
	if p.K == 0 && p.N == 0 {
		p.K, p.N = 1, 1
	}
	if p.K < 1 || p.N < p.K || p.N > 1000 {
		return fmt.Errorf("need 1 ≤ frames ≤ of ≤ 1000")
	}
	if p.Seconds < 0 || p.Seconds > 86400 {
		return fmt.Errorf("seconds in [0, 86400]")
	}
	// Seconds (the API's spelling) wins; a For set in code (an algorithm's default)
	// is kept rather than wiped by the zero Seconds.
	if p.Seconds > 0 || p.For < 0 {
		p.For = time.Duration(p.Seconds * float64(time.Second))
	} else if p.For > 0 {
		if p.For > 86400*time.Second {
			return fmt.Errorf("seconds in [0, 86400]")
		}
		p.Seconds = p.For.Seconds()
	}
	return nil
}

// Describe spells the rule for an alert's details: "30s" or "3 of 5 frames".
func (p Persistence) Describe() string {
	if p.For > 0 {
		return fmt.Sprintf("%gs", p.For.Seconds())
	}
	return fmt.Sprintf("%d of %d frames", p.K, p.N)
}

// Persist tracks, per key (zone, kind…), whether a condition has persisted.
type Persist struct {
	Spec Persistence
	// MaxGap, when set, forgets a key's history when its previous observation is
	// older than that: frames were not analysed in between (an inactive window, a
	// stream outage), so the evidence is stale and neither "3 of the last 5" nor
	// "unbroken for 30 s" may span the gap. Zero keeps history across any gap.
	MaxGap time.Duration
	state  map[string]*history
}

type history struct {
	recent []bool
	since  time.Time // start of the current unbroken run of true; zero when false
	last   time.Time // time of the previous observation
}

// NewPersist starts tracking with spec (validate it first).
func NewPersist(spec Persistence) *Persist {
	return &Persist{Spec: spec, state: map[string]*history{}}
}

// Observe records whether the condition held for key in a frame at t and reports
// whether it has now persisted: K of the last N observations, or (if For is set)
// unbroken for at least For.
func (p *Persist) Observe(key string, t time.Time, present bool) bool {
	h := p.state[key]
	if h == nil || p.MaxGap > 0 && t.Sub(h.last) > p.MaxGap {
		h = &history{}
		p.state[key] = h
	}
	h.last = t
	h.recent = append(h.recent, present)
	if n := max(p.Spec.N, 1); len(h.recent) > n {
		h.recent = h.recent[len(h.recent)-n:]
	}
	switch {
	case !present:
		h.since = time.Time{}
	case h.since.IsZero():
		h.since = t
	}
	if p.Spec.For > 0 {
		return present && t.Sub(h.since) >= p.Spec.For
	}
	k := 0
	for _, v := range h.recent {
		if v {
			k++
		}
	}
	return present && k >= max(p.Spec.K, 1)
}

// Cooldown allows one event per key per Every.
type Cooldown struct {
	Every time.Duration
	last  map[string]time.Time
}

// Allow reports whether an event for key may fire at t, and if so starts its cooldown.
func (c *Cooldown) Allow(key string, t time.Time) bool {
	if c.last == nil {
		c.last = map[string]time.Time{}
	}
	if l, ok := c.last[key]; ok && t.Sub(l) < c.Every {
		return false
	}
	c.last[key] = t
	return true
}

// Window is a daily active window, "HH:MM"–"HH:MM" in the camera's local time,
// Start inclusive and End exclusive; an End before Start spans midnight and an End
// equal to Start is the whole day.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Validate checks the times.
func (w Window) Validate() error {
	if _, err := time.Parse("15:04", w.Start); err != nil {
		return fmt.Errorf("start must be HH:MM")
	}
	if _, err := time.Parse("15:04", w.End); err != nil {
		return fmt.Errorf("end must be HH:MM")
	}
	return nil
}

// Active reports whether t (converted to loc) is inside any window; no windows
// means always.
func Active(ws []Window, t time.Time, loc *time.Location) bool {
	if len(ws) == 0 {
		return true
	}
	if loc != nil {
		t = t.In(loc)
	}
	m := t.Hour()*60 + t.Minute()
	for _, w := range ws {
		s, _ := time.Parse("15:04", w.Start)
		e, _ := time.Parse("15:04", w.End)
		sm, em := s.Hour()*60+s.Minute(), e.Hour()*60+e.Minute()
		if sm == em || sm < em && m >= sm && m < em || sm > em && (m >= sm || m < em) {
			return true
		}
	}
	return false
}
