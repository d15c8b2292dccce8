package scheduler

import (
	"testing"
	"time"

	"github.com/cityeye/cityeye/api/store"
	"github.com/cityeye/cityeye/workers"
)

func plan(id string, fps float64) workers.StreamPlan {
	return workers.StreamPlan{Stream: store.Stream{ID: id}, Tasks: []workers.TaskPlan{{Task: store.Task{ID: "t" + id}, FPS: fps}}}
}

func ids(l Lease) []string {
	var out []string
	for _, p := range l.Plans {
		out = append(out, p.Stream.ID)
	}
	return out
}

// Streams spread by load over live workers, stay put when a stream or a worker is
// added, move off a silent worker after Timeout, and a returning worker takes
// nothing back.
func TestClusterPlacement(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return now }
	c.Heartbeat("w1", 10, nil)
	c.Heartbeat("w2", 10, nil)
	c.Apply([]workers.StreamPlan{plan("a", 5), plan("b", 5), plan("c", 2)})
	l1, l2 := c.Heartbeat("w1", 10, nil), c.Heartbeat("w2", 10, nil)
	if got := append(ids(l1), ids(l2)...); len(got) != 3 || len(ids(l1)) == 0 || len(ids(l2)) == 0 {
		t.Fatalf("spread: w1 %v w2 %v", ids(l1), ids(l2))
	}
	where := map[string]string{}
	for _, l := range []Lease{l1, l2} {
		for _, s := range ids(l) {
			where[s] = l.WorkerID
		}
	}
	// a new stream and a new worker move nothing that runs
	c.Heartbeat("w3", 10, nil)
	c.Apply([]workers.StreamPlan{plan("a", 5), plan("b", 5), plan("c", 2), plan("d", 1)})
	for _, w := range []string{"w1", "w2", "w3"} {
		for _, s := range ids(c.Heartbeat(w, 10, nil)) {
			if old, ok := where[s]; ok && old != w {
				t.Errorf("stream %s moved from %s to %s", s, old, w)
			}
			if s == "d" && w != "w3" {
				t.Errorf("new stream d went to loaded %s, not idle w3", w)
			}
		}
	}
	// w1 goes silent: after Timeout its streams move, not before
	victim := where["a"]
	now = now.Add(2 * time.Second)
	for _, w := range []string{"w1", "w2", "w3"} {
		if w != victim {
			c.Heartbeat(w, 10, nil)
		}
	}
	if c.Sweep() {
		t.Fatal("moved before the timeout")
	}
	now = now.Add(1500 * time.Millisecond)
	for _, w := range []string{"w1", "w2", "w3"} {
		if w != victim {
			c.Heartbeat(w, 10, nil)
		}
	}
	if !c.Sweep() {
		t.Fatal("nothing moved after the timeout")
	}
	owner := map[string]string{}
	for _, w := range []string{"w1", "w2", "w3"} {
		if w == victim {
			continue
		}
		l := c.Heartbeat(w, 10, nil)
		for _, s := range ids(l) {
			owner[s] = w
		}
	}
	if len(owner) != 4 || owner["a"] == victim || owner["a"] == "" {
		t.Fatalf("after %s died: %v", victim, owner)
	}
	// the victim returns: it gets nothing back, so nothing runs twice
	if got := ids(c.Heartbeat(victim, 10, nil)); len(got) != 0 {
		t.Fatalf("returning worker got %v", got)
	}
	// a removed stream leaves its worker
	c.Apply([]workers.StreamPlan{plan("b", 5), plan("c", 2), plan("d", 1)})
	for _, w := range []string{"w1", "w2", "w3"} {
		for _, s := range ids(c.Heartbeat(w, 10, nil)) {
			if s == "a" {
				t.Fatal("removed stream still leased")
			}
		}
	}
}
