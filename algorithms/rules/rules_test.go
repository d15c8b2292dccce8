package rules

import (
	"encoding/json"
	"testing"
	"time"
)

func TestZoneContains(t *testing.T) {
	square := Zone{Name: "sq", Polygon: []Point{{0.2, 0.2}, {0.6, 0.2}, {0.6, 0.6}, {0.2, 0.6}}}
	// a U: the notch between the arms (x 0.4–0.6, y 0.1–0.7) is outside
	u := Zone{Name: "u", Polygon: []Point{{0.2, 0.1}, {0.4, 0.1}, {0.4, 0.7}, {0.6, 0.7}, {0.6, 0.1}, {0.8, 0.1}, {0.8, 0.9}, {0.2, 0.9}}}
	tri := Zone{Name: "tri", Polygon: []Point{{0.1, 0.9}, {0.5, 0.1}, {0.9, 0.9}}}
	cases := []struct {
		name string
		z    Zone
		p    Point
		want bool
	}{
		{"square centre", square, Point{0.4, 0.4}, true},
		{"square left of it", square, Point{0.1, 0.4}, false},
		{"square below it", square, Point{0.4, 0.61}, false},
		{"square right of it on the same row", square, Point{0.7, 0.4}, false},
		{"square top edge", square, Point{0.4, 0.2}, true},
		{"square right edge", square, Point{0.6, 0.5}, true},
		{"square vertex", square, Point{0.6, 0.6}, true},
		{"square on the edge's extension", square, Point{0.7, 0.2}, false},
		{"U left arm", u, Point{0.3, 0.3}, true},
		{"U right arm", u, Point{0.7, 0.3}, true},
		{"U notch (concave part)", u, Point{0.5, 0.3}, false},
		{"U notch ray through both arms", u, Point{0.5, 0.69}, false},
		{"U base under the notch", u, Point{0.5, 0.8}, true},
		{"U notch bottom edge", u, Point{0.5, 0.7}, true},
		{"U inner vertex", u, Point{0.4, 0.7}, true},
		{"triangle inside", tri, Point{0.5, 0.6}, true},
		{"triangle outside a slanted edge", tri, Point{0.2, 0.3}, false},
		{"triangle on a slanted edge", tri, Point{0.3, 0.5}, true},
		{"triangle apex", tri, Point{0.5, 0.1}, true},
		{"empty polygon", Zone{}, Point{0.5, 0.5}, false},
	}
	for _, c := range cases {
		if got := c.z.Contains(c.p); got != c.want {
			t.Errorf("%s: Contains(%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func TestZoneValidate(t *testing.T) {
	if err := (Zone{Polygon: []Point{{0, 0}, {1, 0}}}).Validate(); err == nil {
		t.Error("two points accepted")
	}
	if err := (Zone{Polygon: []Point{{0, 0}, {1.5, 0}, {1, 1}}}).Validate(); err == nil {
		t.Error("x > 1 accepted")
	}
	if err := (Zone{Polygon: []Point{{0, 0}, {1, 0}, {1, 1}}}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestLocate(t *testing.T) {
	if name, ok := Locate(nil, Point{0.9, 0.9}); !ok || name != "" {
		t.Fatalf("no zones: got %q %v, want the whole frame", name, ok)
	}
	zones := []Zone{
		{Name: "left", Polygon: []Point{{0, 0}, {0.5, 0}, {0.5, 1}, {0, 1}}},
		{Name: "middle", Polygon: []Point{{0.4, 0}, {0.8, 0}, {0.8, 1}, {0.4, 1}}},
	}
	for _, c := range []struct {
		p    Point
		name string
		ok   bool
	}{
		{Point{0.1, 0.5}, "left", true},
		{Point{0.45, 0.5}, "left", true}, // in both: the first listed wins
		{Point{0.7, 0.5}, "middle", true},
		{Point{0.9, 0.5}, "", false},
	} {
		if name, ok := Locate(zones, c.p); name != c.name || ok != c.ok {
			t.Errorf("Locate(%v) = %q %v, want %q %v", c.p, name, ok, c.name, c.ok)
		}
	}
}

func TestLineCrossed(t *testing.T) {
	// a horizontal tripwire drawn left to right: looking from A to B on screen, the
	// upper half (smaller y) is on the left
	h := Line{Name: "h", A: Point{0.2, 0.5}, B: Point{0.8, 0.5}}
	down := [2]Point{{0.5, 0.4}, {0.5, 0.6}} // from left to right of A→B
	up := [2]Point{{0.5, 0.6}, {0.5, 0.4}}   // from right to left
	for _, c := range []struct {
		name      string
		dir       string
		move      [2]Point
		want      bool
		wantValid bool
	}{
		{"any, down", "", down, true, true},
		{"any, up", "any", up, true, true},
		{"left, up", "left", up, true, true},
		{"left, down", "left", down, false, true},
		{"right, down", "right", down, true, true},
		{"right, up", "right", up, false, true},
		{"beyond the segment's end (crosses only the infinite line)", "", [2]Point{{0.9, 0.4}, {0.9, 0.6}}, false, true},
		{"before its start", "", [2]Point{{0.1, 0.6}, {0.1, 0.4}}, false, true},
		{"through the end point", "", [2]Point{{0.7, 0.4}, {0.9, 0.6}}, true, true},
		{"same side", "", [2]Point{{0.3, 0.4}, {0.7, 0.45}}, false, true},
		{"onto the line", "", [2]Point{{0.5, 0.4}, {0.5, 0.5}}, false, true},
		{"off the line", "", [2]Point{{0.5, 0.5}, {0.5, 0.6}}, false, true},
		{"diagonal across", "", [2]Point{{0.3, 0.3}, {0.6, 0.7}}, true, true},
	} {
		l := h
		l.Direction = c.dir
		if got := l.Crossed(c.move[0], c.move[1]); got != c.want {
			t.Errorf("%s: Crossed = %v, want %v", c.name, got, c.want)
		}
	}
	// a vertical line drawn downwards: looking down the screen, the right-hand half
	// (larger x) is on the left
	v := Line{A: Point{0.5, 0.1}, B: Point{0.5, 0.9}, Direction: "left"}
	if !v.Crossed(Point{0.4, 0.5}, Point{0.6, 0.5}) || v.Crossed(Point{0.6, 0.5}, Point{0.4, 0.5}) {
		t.Error("vertical line: moving east should be the left crossing, west not")
	}
	// right → on the line → left: keeping the last off-line position counts it once
	if !h.Crossed(Point{0.5, 0.6}, Point{0.5, 0.4}) {
		t.Error("keeping the last off-line position must count the crossing")
	}
}

func TestLineValidate(t *testing.T) {
	for _, l := range []Line{
		{A: Point{0, 0}, B: Point{0, 0}},
		{A: Point{0, 0}, B: Point{1.2, 0}},
		{A: Point{0, 0}, B: Point{1, 0}, Direction: "up"},
	} {
		if l.Validate() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	if err := (Line{A: Point{0, 0}, B: Point{1, 1}, Direction: "right"}).Validate(); err != nil {
		t.Error(err)
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestPersistKOfN(t *testing.T) {
	spec := Persistence{K: 3, N: 5}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	p := NewPersist(spec)
	seq := []bool{true, false, true, true, false, true, false, false, false, true, true, true}
	// last five observations: [T] [TF] [TFT] [TFTT]=3 → fires; F never fires;
	// [FTTFT]=3 → fires; then three F; [FFFTT]... [FFTTT]=3 fires again
	want := []bool{false, false, false, true, false, true, false, false, false, false, false, true}
	for i, present := range seq {
		if got := p.Observe("zone/rat", at(float64(i)), present); got != want[i] {
			t.Fatalf("frame %d (%v): persisted = %v, want %v", i, present, got, want[i])
		}
	}
	// keys are independent
	if p.Observe("other", at(20), true) {
		t.Fatal("a new key persisted on its first frame")
	}
}

func TestPersistAtOnce(t *testing.T) {
	var spec Persistence
	if err := spec.Validate(); err != nil || spec.K != 1 || spec.N != 1 {
		t.Fatalf("zero spec: %+v %v", spec, err)
	}
	p := NewPersist(spec)
	if !p.Observe("k", at(0), true) || p.Observe("k", at(1), false) {
		t.Fatal("K=N=1 should follow the condition")
	}
}

func TestPersistFor(t *testing.T) {
	spec := Persistence{Seconds: 10}
	if err := spec.Validate(); err != nil || spec.For != 10*time.Second {
		t.Fatalf("%+v %v", spec, err)
	}
	p := NewPersist(spec)
	for s := 0; s <= 9; s++ {
		if p.Observe("k", at(float64(s)), true) {
			t.Fatalf("persisted after %d s", s)
		}
	}
	if !p.Observe("k", at(10), true) {
		t.Fatal("not persisted after 10 s")
	}
	// one absent frame resets the run
	if p.Observe("k", at(11), false) {
		t.Fatal("persisted while absent")
	}
	for s := 12; s < 22; s++ {
		if p.Observe("k", at(float64(s)), true) {
			t.Fatalf("persisted %d s after the reset", s-12)
		}
	}
	if !p.Observe("k", at(22), true) {
		t.Fatal("not persisted 10 s after the reset")
	}
}

func TestPersistenceValidate(t *testing.T) {
	// a duration set in code (an algorithm's default) survives Validate
	d := Persistence{For: 30 * time.Second}
	if err := d.Validate(); err != nil || d.For != 30*time.Second || d.Seconds != 30 {
		t.Fatalf("For wiped: %+v %v", d, err)
	}
	// the API's seconds win
	d = Persistence{For: 30 * time.Second, Seconds: 5}
	if err := d.Validate(); err != nil || d.For != 5*time.Second {
		t.Fatalf("%+v %v", d, err)
	}
	for _, bad := range []Persistence{{K: 4, N: 3}, {K: -1, N: 2}, {K: 1, N: 1001}, {Seconds: -1}, {Seconds: 90000}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	var fromJSON Persistence
	if err := json.Unmarshal([]byte(`{"frames":2,"of":3}`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := fromJSON.Validate(); err != nil || fromJSON.K != 2 || fromJSON.N != 3 || fromJSON.For != 0 {
		t.Fatalf("%+v %v", fromJSON, err)
	}
}

func TestPersistMaxGap(t *testing.T) {
	// 2 of 3 frames, but frames 8 hours apart (the active window closed in between)
	// are not evidence of one event
	spec := Persistence{K: 2, N: 3}
	spec.Validate()
	p := NewPersist(spec)
	p.MaxGap = time.Minute
	p.Observe("k", at(0), true)
	if p.Observe("k", at(8*3600), true) {
		t.Fatal("history spanned an 8-hour gap")
	}
	if !p.Observe("k", at(8*3600+1), true) {
		t.Fatal("two frames a second apart should persist")
	}
	// the same for a duration: 10 s unbroken, not "true yesterday and true now"
	spec = Persistence{Seconds: 10}
	spec.Validate()
	p = NewPersist(spec)
	p.MaxGap = time.Minute
	p.Observe("k", at(0), true)
	if p.Observe("k", at(3600), true) {
		t.Fatal("duration spanned a gap")
	}
	if !p.Observe("k", at(3610), true) {
		t.Fatal("10 s after the gap it should persist")
	}
	// without MaxGap the history is kept (the old behaviour)
	p = NewPersist(Persistence{K: 2, N: 3})
	p.Observe("k", at(0), true)
	if !p.Observe("k", at(3600), true) {
		t.Fatal("MaxGap 0 should keep history")
	}
}

func TestCooldown(t *testing.T) {
	c := &Cooldown{Every: 5 * time.Minute}
	if !c.Allow("kitchen/rat", at(0)) {
		t.Fatal("first event refused")
	}
	if c.Allow("kitchen/rat", at(60)) || c.Allow("kitchen/rat", at(299)) {
		t.Fatal("repeat inside the cooldown allowed")
	}
	if !c.Allow("kitchen/no_hat", at(60)) {
		t.Fatal("another key is not in cooldown")
	}
	if !c.Allow("kitchen/rat", at(300)) {
		t.Fatal("refused after the cooldown")
	}
	// a refused event does not extend the cooldown; an allowed one restarts it
	if c.Allow("kitchen/rat", at(599)) || !c.Allow("kitchen/rat", at(600)) {
		t.Fatal("cooldown not restarted by the allowed event")
	}
	zero := &Cooldown{}
	first := zero.Allow("k", at(0))
	if second := zero.Allow("k", at(0)); !first || !second {
		t.Fatal("zero cooldown should allow every event")
	}
}

func TestActiveWindows(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	day := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, sh) }
	night := []Window{{Start: "22:00", End: "06:00"}}
	for _, c := range []struct {
		ws   []Window
		t    time.Time
		want bool
	}{
		{nil, day(3, 0), true},
		{night, day(22, 0), true}, // start inclusive
		{night, day(23, 59), true},
		{night, day(0, 0), true}, // spans midnight
		{night, day(5, 59), true},
		{night, day(6, 0), false}, // end exclusive
		{night, day(12, 0), false},
		{night, day(21, 59), false},
		{[]Window{{"08:00", "20:00"}}, day(8, 0), true},
		{[]Window{{"08:00", "20:00"}}, day(20, 0), false},
		{[]Window{{"08:00", "20:00"}}, day(7, 59), false},
		{[]Window{{"06:00", "09:00"}, {"17:00", "19:30"}}, day(18, 0), true},
		{[]Window{{"06:00", "09:00"}, {"17:00", "19:30"}}, day(12, 0), false},
		{[]Window{{"00:00", "00:00"}}, day(13, 0), true}, // End == Start: all day
	} {
		if got := Active(c.ws, c.t, sh); got != c.want {
			t.Errorf("Active(%v, %s) = %v, want %v", c.ws, c.t.Format("15:04"), got, c.want)
		}
	}
	// times are judged in the camera's location: 15:00 UTC is 23:00 in Shanghai
	u := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	if !Active(night, u, sh) || Active(night, u, time.UTC) {
		t.Fatal("location not applied")
	}
	if !Active(night, day(23, 0), nil) {
		t.Fatal("nil location should keep t's own")
	}
}

func TestWindowValidate(t *testing.T) {
	if (Window{"8am", "20:00"}).Validate() == nil || (Window{"08:00", "25:00"}).Validate() == nil {
		t.Fatal("bad times accepted")
	}
	if err := (Window{"22:00", "06:00"}).Validate(); err != nil {
		t.Fatal(err)
	}
}
