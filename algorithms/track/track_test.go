package track

import (
	"math/rand"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models/decode"
)

// walker is a synthetic object: a w×h box whose top-left corner starts at (x, y) and
// moves (vx, vy) pixels per frame.
type walker struct {
	x, y, vx, vy, w, h float32
	label              string
	score              float32
}

func (o walker) at(frame int) decode.Detection {
	x, y := o.x+o.vx*float32(frame), o.y+o.vy*float32(frame)
	l := o.label
	if l == "" {
		l = "person"
	}
	s := o.score
	if s == 0 {
		s = 0.8
	}
	return decode.Detection{Box: decode.Box{X1: x, Y1: y, X2: x + o.w, Y2: y + o.h}, Score: s, Label: l}
}

// run feeds frames 0..n-1 at fps; visible(i, frame) hides object i when false and
// edit may change a detection. It returns the track ID of each object per frame
// (0 where hidden or unassigned) and every ended track.
func run(tr *Tracker, fps float64, n int, objs []walker, visible func(i, frame int) bool, edit func(i, frame int, d *decode.Detection)) ([][]uint64, []*Track) {
	t0 := time.Unix(0, 0)
	ids := make([][]uint64, len(objs))
	var ended []*Track
	for f := range n {
		var dets []decode.Detection
		var who []int
		for i, o := range objs {
			if visible != nil && !visible(i, f) {
				continue
			}
			d := o.at(f)
			if edit != nil {
				edit(i, f, &d)
			}
			dets = append(dets, d)
			who = append(who, i)
		}
		a, e := tr.Update(t0.Add(time.Duration(float64(f)/fps*float64(time.Second))), dets, nil)
		ended = append(ended, e...)
		for i := range objs {
			ids[i] = append(ids[i], 0)
		}
		for j, k := range a {
			if k != nil {
				ids[who[j]][f] = k.ID
			}
		}
	}
	return ids, ended
}

// distinct lists the non-zero IDs in order of first appearance.
func distinct(ids []uint64) []uint64 {
	var out []uint64
	seen := map[uint64]bool{}
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Two people walk towards each other on one line at 5 fps and cross (their boxes
// overlap fully at the crossing): each keeps its own ID through and after it.
func TestTrackerCrossing(t *testing.T) {
	objs := []walker{{x: 0, y: 100, vx: 12, w: 30, h: 70}, {x: 480, y: 104, vx: -12, w: 30, h: 70}}
	ids, _ := run(New(Config{FPS: 5}), 5, 40, objs, nil, nil)
	a, b := distinct(ids[0]), distinct(ids[1])
	if len(a) != 1 || len(b) != 1 || a[0] == b[0] {
		t.Fatalf("identities through the crossing: %v and %v", ids[0], ids[1])
	}
}

// A person walks behind a pole for 8 frames (1.6 s at 5 fps) while a second one
// passes: the motion model predicts where the first reappears, so it continues
// its track; without it (zero velocity) the box would be 100 px from the last one.
func TestTrackerOcclusion(t *testing.T) {
	objs := []walker{{x: 0, y: 100, vx: 12, w: 30, h: 70}, {x: 300, y: 300, vx: -5, vy: -3, w: 30, h: 70}}
	hidden := func(i, f int) bool { return i != 0 || f < 15 || f >= 23 }
	ids, _ := run(New(Config{FPS: 5}), 5, 40, objs, hidden, nil)
	if a := distinct(ids[0]); len(a) != 1 {
		t.Fatalf("occluded person split into tracks %v", a)
	}
	if b := distinct(ids[1]); len(b) != 1 || b[0] == distinct(ids[0])[0] {
		t.Fatalf("second person %v", ids[1])
	}
}

// A person partly hidden for 6 frames is detected with a low score (0.3): the
// second pass continues the track; a lone 0.3 detection never starts one.
func TestTrackerLowScoreSecondPass(t *testing.T) {
	objs := []walker{{x: 0, y: 100, vx: 8, w: 30, h: 70}, {x: 400, y: 300, w: 30, h: 70, score: 0.3}}
	lowered := func(i, f int, d *decode.Detection) {
		if i == 0 && f >= 10 && f < 16 {
			d.Score = 0.3
		}
	}
	ids, _ := run(New(Config{FPS: 5}), 5, 30, objs, nil, lowered)
	for f := 10; f < 16; f++ {
		if ids[0][f] == 0 {
			t.Fatalf("frame %d: low-score detection not matched to its track", f)
		}
	}
	if a := distinct(ids[0]); len(a) != 1 {
		t.Fatalf("track split: %v", a)
	}
	if b := distinct(ids[1]); len(b) != 0 {
		t.Fatalf("a low-score detection started track %v", b)
	}
}

// A car re-detected as a truck continues its track (one family); a person walking
// through the car's box never does.
func TestTrackerFamilies(t *testing.T) {
	fam := func(l string) string {
		if l == "car" || l == "truck" || l == "bus" {
			return "vehicle"
		}
		return l
	}
	objs := []walker{{x: 0, y: 100, vx: 10, w: 120, h: 60, label: "car"}, {x: 200, y: 100, vx: -10, w: 30, h: 60}}
	relabel := func(i, f int, d *decode.Detection) {
		if i == 0 && f%3 == 1 {
			d.Label = "truck"
		}
	}
	tr := New(Config{FPS: 5, Family: fam})
	ids, _ := run(tr, 5, 25, objs, nil, relabel)
	car, man := distinct(ids[0]), distinct(ids[1])
	if len(car) != 1 || len(man) != 1 || car[0] == man[0] {
		t.Fatalf("car %v, person %v", ids[0], ids[1])
	}
	for _, k := range tr.Flush() {
		if k.ID == car[0] && k.Label != "car" {
			t.Fatalf("vehicle labelled %q, want the majority label car", k.Label)
		}
	}
}

// The lost buffer is counted in frames at the sampling rate: LostFrames 6 at 2 fps
// keeps a vanished object 3 s; it ends on the 7th frame without it, not before.
// A one-frame false detection ends unconfirmed on the next frame.
func TestTrackerLostBufferAndTentative(t *testing.T) {
	objs := []walker{{x: 0, y: 100, vx: 10, w: 30, h: 70}, {x: 300, y: 300, w: 30, h: 70}}
	tr := New(Config{FPS: 2, LostFrames: 6})
	seen := func(i, f int) bool { return (i == 0 && f < 10) || (i == 1 && f == 12) }
	t0 := time.Unix(0, 0)
	var endedAt = map[uint64]int{}
	var confirmed = map[uint64]bool{}
	for f := range 20 {
		var dets []decode.Detection
		for i, o := range objs {
			if seen(i, f) {
				dets = append(dets, o.at(f))
			}
		}
		_, e := tr.Update(t0.Add(time.Duration(f)*500*time.Millisecond), dets, nil)
		for _, k := range e {
			endedAt[k.ID], confirmed[k.ID] = f, k.Confirmed
		}
	}
	if endedAt[1] != 9+7 || !confirmed[1] {
		t.Fatalf("walker ended at frame %d (confirmed %v), want 16", endedAt[1], confirmed[1])
	}
	if endedAt[2] != 13 || confirmed[2] {
		t.Fatalf("false detection ended at %d (confirmed %v), want 13 unconfirmed", endedAt[2], confirmed[2])
	}
	// a gap in the frames (the worker skipped some) counts as the frames missed
	tr = New(Config{FPS: 5, LostFrames: 5})
	tr.Update(t0, []decode.Detection{objs[0].at(0)}, nil)
	tr.Update(t0.Add(200*time.Millisecond), []decode.Detection{objs[0].at(1)}, nil)
	if _, e := tr.Update(t0.Add(1400*time.Millisecond), nil, nil); len(e) != 1 {
		t.Fatalf("a 6-frame gap did not end the track (%d ended)", len(e))
	}
}

// hist is a synthetic appearance feature: all weight in bin i of 4.
func hist(i int) []float32 {
	f := make([]float32, 4)
	f[i] = 1
	return f
}

// A lost person who turns while hidden (reappearing 3 s later where no prediction
// overlaps) is found again by appearance within walking reach; someone who looks
// different at that spot is a new track, and so is the same look too far away.
func TestTrackerReidentifies(t *testing.T) {
	t0 := time.Unix(0, 0)
	box := func(x, y float32) decode.Detection {
		return decode.Detection{Box: decode.Box{X1: x, Y1: y, X2: x + 30, Y2: y + 80}, Score: 0.8, Label: "person"}
	}
	for _, c := range []struct {
		name   string
		x, y   float32
		look   int
		sameID bool
	}{
		{"same look, turned back", 150, 160, 0, true},
		{"other look, same place", 150, 160, 1, false},
		{"same look, out of reach", 700, 160, 0, false},
	} {
		tr := New(Config{FPS: 2})
		var first uint64
		for f := range 5 { // walks right 20 px per frame
			a, _ := tr.Update(t0.Add(time.Duration(f)*500*time.Millisecond), []decode.Detection{box(100+20*float32(f), 100)}, [][]float32{hist(0)})
			first = a[0].ID
		}
		for f := 5; f < 11; f++ { // hidden 3 s
			tr.Update(t0.Add(time.Duration(f)*500*time.Millisecond), nil, nil)
		}
		a, _ := tr.Update(t0.Add(11*500*time.Millisecond), []decode.Detection{box(c.x, c.y)}, [][]float32{hist(c.look)})
		got := a[0] != nil && a[0].ID == first
		if got != c.sameID {
			t.Errorf("%s: continued the track = %v, want %v", c.name, got, c.sameID)
		}
	}
}

// Someone who walked out of the frame at its left edge is re-identified only by a
// lookalike coming back in at that edge, not by one appearing in the middle.
func TestTrackerWalkedOutIsNotReidentifiedElsewhere(t *testing.T) {
	t0 := time.Unix(0, 0)
	box := func(x float32) decode.Detection {
		return decode.Detection{Box: decode.Box{X1: x, Y1: 100, X2: x + 30, Y2: 180}, Score: 0.8, Label: "person"}
	}
	for _, c := range []struct {
		name   string
		x      float32
		sameID bool
	}{{"back in at the left edge", 0, true}, {"in the middle", 60, false}} {
		tr := New(Config{FPS: 2})
		tr.SetBounds(640, 480)
		var id uint64
		for f := range 5 { // walks left 20 px per frame to the edge
			a, _ := tr.Update(t0.Add(time.Duration(f)*500*time.Millisecond), []decode.Detection{box(80 - 20*float32(f))}, [][]float32{hist(0)})
			id = a[0].ID
		}
		for f := 5; f < 9; f++ {
			tr.Update(t0.Add(time.Duration(f)*500*time.Millisecond), nil, nil)
		}
		a, _ := tr.Update(t0.Add(9*500*time.Millisecond), []decode.Detection{box(c.x)}, [][]float32{hist(0)})
		if got := a[0] != nil && a[0].ID == id; got != c.sameID {
			t.Errorf("%s: continued the track = %v, want %v", c.name, got, c.sameID)
		}
	}
}

// The Kalman filter learns a constant velocity from noisy boxes.
func TestKalmanVelocity(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	o := walker{x: 10, y: 50, vx: 7, vy: -2, w: 40, h: 100}
	k := newKalman(o.at(0).Box)
	for f := 1; f < 30; f++ {
		k.predict(1)
		b := o.at(f).Box
		n := func() float32 { return float32(rng.NormFloat64()) * 2 }
		k.update(decode.Box{X1: b.X1 + n(), Y1: b.Y1 + n(), X2: b.X2 + n(), Y2: b.Y2 + n()})
	}
	if vx, vy := k.x[4], k.x[5]; vx < 6 || vx > 8 || vy < -3 || vy > -1 {
		t.Fatalf("velocity %.2f,%.2f, want 7,-2", vx, vy)
	}
	k.predict(5) // five frames ahead
	if p, want := k.box(), o.at(34).Box; decode.IoU(p, want) < 0.7 {
		t.Fatalf("prediction %v, want near %v", p, want)
	}
}

// assign is optimal: equal to brute force over all matchings on random matrices,
// with pairs at or over the limit never matched.
func TestAssignOptimal(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for trial := range 300 {
		n, m := 1+rng.Intn(5), 1+rng.Intn(5)
		cost := make([][]float64, n)
		for i := range cost {
			cost[i] = make([]float64, m)
			for j := range cost[i] {
				cost[i][j] = rng.Float64()
			}
		}
		got := assign(cost, 0.7)
		if g, b := total(cost, got, 0.7), brute(cost, 0.7, 0, make([]bool, m)); g > b+1e-9 {
			t.Fatalf("trial %d: cost %v → %v total %.4f, optimum %.4f", trial, cost, got, g, b)
		}
		for i, j := range got {
			if j >= 0 && cost[i][j] >= 0.7 {
				t.Fatalf("matched a pair over the limit")
			}
		}
	}
}

// total is the cost of a matching with each unmatched row and column at limit/2.
func total(cost [][]float64, rows []int, limit float64) float64 {
	s, used := 0.0, 0
	for i, j := range rows {
		if j >= 0 {
			s += cost[i][j]
			used++
		}
	}
	return s + float64(len(cost)+len(cost[0])-2*used)*limit/2
}

func brute(cost [][]float64, limit float64, i int, used []bool) float64 {
	if i == len(cost) {
		free := 0
		for _, u := range used {
			if !u {
				free++
			}
		}
		return float64(free) * limit / 2
	}
	best := limit/2 + brute(cost, limit, i+1, used)
	for j, c := range cost[i] {
		if !used[j] && c < limit {
			used[j] = true
			best = min(best, c+brute(cost, limit, i+1, used))
			used[j] = false
		}
	}
	return best
}
