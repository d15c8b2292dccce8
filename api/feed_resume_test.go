package api_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// next reads one event of the feed: its id and the alert's ID.
func (lf *liveFeed) next(t *testing.T, within time.Duration) (seq int64, alert string) {
	t.Helper()
	select {
	case data := <-lf.events:
		id := <-lf.ids
		var a struct{ ID string }
		json.Unmarshal([]byte(data), &a)
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("event id %q is not a number", id)
		}
		return n, a.ID
	case <-time.After(within):
		t.Fatal("no event")
	}
	return 0, ""
}

// Issue 19 item 4: a map that reconnects with Last-Event-ID receives every alert it
// missed while away, once, in order, and then the live ones; a bad Last-Event-ID is
// a 400 naming it.
func TestLiveFeedResumesFromLastEventID(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "police_op", cameras[0].body(), 201)
	st, _ := f.db.GetStream(context.Background(), cameras[0].id)
	seen := map[string]bool{}
	take := func(lf *liveFeed, n int, after int64) int64 {
		t.Helper()
		for range n {
			seq, id := lf.next(t, 5*time.Second)
			if seq <= after || seen[id] {
				t.Fatalf("event %d (alert %s) after %d: out of order or sent twice", seq, id, after)
			}
			seen[id], after = true, seq
		}
		return after
	}
	lf := f.openFeed(f.tok["police_op"])
	time.Sleep(400 * time.Millisecond)
	for range 3 {
		f.raise(t, st, "police", "fire.fire")
	}
	last := take(lf, 3, 0)
	lf.cancel()
	for range 5 { // while the map is away
		f.raise(t, st, "police", "fire.fire")
	}
	f.raise(t, st, "market", "fire.fire") // another department's: never shown
	back := f.openFeed(f.tok["police_op"], strconv.FormatInt(last, 10))
	last = take(back, 5, last)
	f.raise(t, st, "police", "fire.smoke") // live again
	take(back, 1, last)
	select {
	case ev := <-back.events:
		t.Fatalf("unexpected event %s", ev)
	case <-time.After(800 * time.Millisecond):
	}
	if len(seen) != 9 {
		t.Fatalf("%d distinct alerts, want 9", len(seen))
	}
	bad := f.openFeed(f.tok["police_op"], "yesterday")
	if bad.code != 400 {
		t.Fatalf("Last-Event-ID yesterday: %d", bad.code)
	}
}
