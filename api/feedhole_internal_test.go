package api

import (
	"testing"
	"time"
)

// The feed's safe mark moves over contiguous alert numbers only: at a hole it waits
// feedHoleWait for the late commit, then steps over it (a rolled-back number).
func TestFeedMarkWaitsAtHoles(t *testing.T) {
	var hole int64
	var at time.Time
	t0 := time.Unix(1000, 0)
	if got := advance(4, []int64{5, 6, 8, 9}, &hole, &at, t0); got != 6 {
		t.Fatalf("mark %d, want 6 (7 is missing)", got)
	}
	if got := advance(6, []int64{8, 9}, &hole, &at, t0.Add(feedHoleWait/2)); got != 6 {
		t.Fatalf("mark %d before the wait is over, want 6", got)
	}
	if got := advance(6, []int64{7, 8, 9}, &hole, &at, t0.Add(feedHoleWait/2)); got != 9 {
		t.Fatalf("mark %d after 7 committed, want 9", got)
	}
	if got := advance(9, []int64{11}, &hole, &at, t0.Add(time.Minute)); got != 9 {
		t.Fatalf("mark %d at a new hole, want 9", got)
	}
	if got := advance(9, []int64{11}, &hole, &at, t0.Add(time.Minute+feedHoleWait)); got != 11 {
		t.Fatalf("mark %d once 10 is given up, want 11", got)
	}
}
