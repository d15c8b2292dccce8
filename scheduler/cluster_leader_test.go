package scheduler

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cityeye/cityeye/workers/plan"
)

// running is a heartbeat status saying the worker runs these streams.
func running(streams ...string) map[string]plan.StreamStatus {
	m := map[string]plan.StreamStatus{}
	for _, s := range streams {
		m[s] = plan.StreamStatus{StreamID: s}
	}
	return m
}

// Issue 19 item 3: a follower answers no heartbeat; a new leader (epoch 7) first
// keeps each stream where a worker reports running it — one worker only, the
// first to report — and places nothing else until Timeout has passed, then places
// the rest from there. Its leases carry its epoch.
func TestNewLeaderAdoptsWhatRuns(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCluster(2 * time.Second)
	c.Now = func() time.Time { return now }
	c.Follow()
	c.Apply([]plan.StreamPlan{streamPlan("a", 1), streamPlan("b", 1), streamPlan("c", 1)})
	if _, err := c.Serve(plan.Heartbeat{ID: "w1", Cores: 4}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("a follower answered a heartbeat: %v", err)
	}
	c.Lead(7)
	hb := func(id string, st map[string]plan.StreamStatus) plan.Lease {
		l, err := c.Serve(plan.Heartbeat{ID: id, Cores: 4, Status: st})
		if err != nil {
			t.Fatal(err)
		}
		if l.LeaderEpoch != 7 {
			t.Fatalf("lease of leader epoch %d, want 7", l.LeaderEpoch)
		}
		return l
	}
	if got := ids(hb("w1", running("a", "b"))); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("w1 keeps %v, want a b", got)
	}
	// w2 also claims b (it should have stopped it): b stays on w1, w2 gets nothing yet
	if got := ids(hb("w2", running("b"))); len(got) != 0 {
		t.Fatalf("w2 leased %v while recovering", got)
	}
	c.Apply([]plan.StreamPlan{streamPlan("a", 1), streamPlan("b", 1), streamPlan("c", 1)}) // a reconcile places nothing yet
	if got := ids(hb("w2", nil)); len(got) != 0 {
		t.Fatalf("w2 leased %v while recovering", got)
	}
	now = now.Add(2 * time.Second)
	c.Sweep() // recovery over: c is placed, a and b stay
	l1, l2 := hb("w1", running("a", "b")), hb("w2", nil)
	all := append(ids(l1), ids(l2)...)
	slices.Sort(all)
	if !slices.Equal(all, []string{"a", "b", "c"}) || !slices.Contains(ids(l1), "a") || !slices.Contains(ids(l1), "b") {
		t.Fatalf("after recovery: w1 %v, w2 %v", ids(l1), ids(l2))
	}
	if leading, epoch := c.Leading(); !leading || epoch != 7 {
		t.Fatalf("Leading() = %v %d", leading, epoch)
	}
}

// A new leader keeps a stream on the GPU its worker reports running it on, while
// recovering and after: a device change reopens the stream on the worker, so
// leasing it on the CPU (as before) restarted every adopted GPU stream.
func TestNewLeaderKeepsAdoptedStreamOnItsGPU(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCluster(2 * time.Second)
	c.Now = func() time.Time { return now }
	c.Follow()
	c.Apply(nanodetStreams(2, "g"))
	c.Lead(3)
	beat := func(st map[string]plan.StreamStatus) plan.Lease {
		l, err := c.Serve(plan.Heartbeat{ID: "gpu1", Cores: 16, GPUs: []plan.GPU{h100}, Bench: gpuBench(1000), Status: st})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	onGPU := map[string]plan.StreamStatus{"g000": {StreamID: "g000", Device: "cuda:0"}, "g001": {StreamID: "g001", Device: "cpu"}}
	devices := func(l plan.Lease) map[string]string {
		out := map[string]string{}
		for _, p := range l.Plans {
			out[p.Stream.ID] = p.Device
		}
		return out
	}
	if got := devices(beat(onGPU)); got["g000"] != "cuda:0" || got["g001"] != "cpu" {
		t.Fatalf("while recovering, adopted streams leased on %v, want g000 on cuda:0 and g001 on cpu", got)
	}
	now = now.Add(2 * time.Second)
	c.Sweep() // recovery over: the planner starts from what was adopted, where it runs
	if got := devices(beat(onGPU)); got["g000"] != "cuda:0" {
		t.Fatalf("after recovery, g000 leased on %q, want cuda:0 where it runs", got["g000"])
	}
	// a device the worker does not report (a GPU it lost) is not trusted: the CPU
	c2 := NewCluster(2 * time.Second)
	c2.Now = c.Now
	c2.Apply(nanodetStreams(1, "g"))
	c2.Lead(4)
	l := c2.Heartbeat(plan.Heartbeat{ID: "cpu1", Cores: 16, Status: map[string]plan.StreamStatus{"g000": {StreamID: "g000", Device: "cuda:1"}}})
	if got := devices(l); got["g000"] != "cpu" {
		t.Fatalf("a stream reported on a GPU the worker does not have leased on %q, want cpu", got["g000"])
	}
}
