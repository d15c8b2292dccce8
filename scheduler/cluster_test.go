package scheduler

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

func streamPlan(id string, fps float64) plan.StreamPlan {
	return plan.StreamPlan{Stream: store.Stream{ID: id}, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t" + id}, FPS: fps}}}
}

func ids(l plan.Lease) []string {
	var out []string
	for _, p := range l.Plans {
		out = append(out, p.Stream.ID)
	}
	return out
}

// one core, default costs: a stream without a frame model costs decode 25/250 = 0.1
// (keyframes only, 0.015, at ≤ 1 fps) + fps/20 of the core.

// Streams are packed under the target, stay put when a stream or a worker is added,
// move off a silent worker after Timeout, and a returning worker takes nothing back.
func TestClusterPlacement(t *testing.T) {
	now := time.Unix(1000, 0)
	c := threeStreamsOnTwo(&now)
	l1, l2 := beat(c, "w1", nil), beat(c, "w2", nil)
	if got := append(ids(l1), ids(l2)...); len(got) != 3 || len(ids(l1)) == 0 || len(ids(l2)) == 0 {
		t.Fatalf("spread: w1 %v w2 %v", ids(l1), ids(l2))
	}
	where := map[string]string{}
	for _, l := range []plan.Lease{l1, l2} {
		for _, s := range ids(l) {
			where[s] = l.WorkerID
		}
	}
	// a new stream and a new worker move nothing that runs; d (0.065) goes to the
	// fullest device it fits (the planner keeps whole workers free), not to idle w3
	beat(c, "w3", nil)
	c.Apply([]plan.StreamPlan{streamPlan("a", 5), streamPlan("b", 5), streamPlan("c", 2), streamPlan("d", 1)})
	for _, w := range []string{"w1", "w2", "w3"} {
		for _, s := range ids(beat(c, w, nil)) {
			if old, ok := where[s]; ok && old != w {
				t.Errorf("stream %s moved from %s to %s", s, old, w)
			}
			if s == "d" && w != where["a"] {
				t.Errorf("new stream d went to %s, not to the fullest worker %s", w, where["a"])
			}
		}
	}
	if g := c.Grants()["td"]; g.State != placement.OK || g.GrantedFPS != 1 {
		t.Errorf("grant of d: %+v", g)
	}
	// w1 goes silent: after Timeout its streams move, not before
	victim := where["a"]
	now = now.Add(2 * time.Second)
	for _, w := range []string{"w1", "w2", "w3"} {
		if w != victim {
			beat(c, w, nil)
		}
	}
	if c.Sweep() {
		t.Fatal("moved before the timeout")
	}
	now = now.Add(1500 * time.Millisecond)
	for _, w := range []string{"w1", "w2", "w3"} {
		if w != victim {
			beat(c, w, nil)
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
		l := beat(c, w, nil)
		for _, s := range ids(l) {
			owner[s] = w
		}
	}
	if len(owner) != 4 || owner["a"] == victim || owner["a"] == "" || owner["c"] != where["c"] {
		t.Fatalf("after %s died: %v", victim, owner)
	}
	// the victim returns: it gets nothing back, so nothing runs twice
	if got := ids(beat(c, victim, nil)); len(got) != 0 {
		t.Fatalf("returning worker got %v", got)
	}
	// a removed stream leaves its worker
	c.Apply([]plan.StreamPlan{streamPlan("b", 5), streamPlan("c", 2), streamPlan("d", 1)})
	for _, w := range []string{"w1", "w2", "w3"} {
		for _, s := range ids(beat(c, w, nil)) {
			if s == "a" {
				t.Fatal("removed stream still leased")
			}
		}
	}
}

// An overloaded worker gets lowered rates in its lease.
func TestClusterDegrades(t *testing.T) {
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return time.Unix(1000, 0) }
	beat(c, "w1", nil)
	// two streams at 10 fps cost 0.1 + 10/20 = 0.6 each, 1.2 > 0.85: the class gives up
	// its range (10 → 0.2) in steps of 5%; step k gives 10 − 0.49k fps, and both fit
	// when 2 × (0.1 + f/20) ≤ 0.85, i.e. f ≤ 6.5: k = 8, f = 6.08
	c.Apply([]plan.StreamPlan{streamPlan("a", 10), streamPlan("b", 10)})
	l := beat(c, "w1", nil)
	if len(l.Plans) != 2 {
		t.Fatalf("lease %v", ids(l))
	}
	for _, p := range l.Plans {
		if f := p.Tasks[0].FPS; math.Abs(f-6.08) > 1e-9 {
			t.Errorf("%s leased at %v fps, want 6.08", p.Stream.ID, f)
		}
		g := c.Grants()[p.Tasks[0].Task.ID]
		if g.State != placement.Degraded || g.Code != placement.FPSLowered || g.RequestedFPS != 10 || math.Abs(g.GrantedFPS-6.08) > 1e-9 || g.Message == "" {
			t.Errorf("grant %+v", g)
		}
	}
	// the desired plan is left alone
	if c.plans["a"].Tasks[0].FPS != 10 {
		t.Error("desired plan changed")
	}
}

// Streams that do not fit even at minimum rates take turns, each leased only in its
// window of the cycle; what does not fit a slot either is refused with its reason.
func TestClusterRotatesAndRefuses(t *testing.T) {
	now := time.Unix(1000, 0) // 1000 s after the epoch
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return now }
	// decode 50 frames/s per core with no keyframe saving: a 25 fps stream costs 0.5 of
	// the core to decode, 0.51 at its minimum 0.2 fps, so one fits, not two
	c.Costs.DecodeFPS, c.Costs.KeyframeCost = 50, 1
	beat(c, "w1", nil)
	var ps []plan.StreamPlan
	for _, s := range []string{"r1", "r2", "r3", "r4", "r5"} {
		ps = append(ps, streamPlan(s, 5))
	}
	c.Apply(ps)
	// r1 runs full-time first, then r2..r4 share its slot (MaxRotated 4): phases 0, 10,
	// 20, 30 s of a 40 s cycle; r5 finds no slot with a free turn and is refused
	want := map[string]time.Duration{"r1": 0, "r2": 10 * time.Second, "r3": 20 * time.Second, "r4": 30 * time.Second}
	for s, ph := range want {
		g := c.Grants()["t"+s]
		if g.State != placement.Rotated || g.Code != placement.TimeShared || g.GrantedFPS != 0.2 || g.Duty != 0.25 {
			t.Errorf("grant of %s: %+v", s, g)
		}
		if a := c.prevPlan.Assign[s]; !a.Rotated || a.Phase != ph || c.prevPlan.Rotation[a.Slot].Cycle != 40*time.Second {
			t.Errorf("%s: %+v", s, a)
		}
	}
	g := c.Grants()["tr5"]
	if g.State != placement.Unplaced || g.Code != placement.NoCapacity || g.GrantedFPS != 0 || g.Message == "" {
		t.Errorf("grant of r5: %+v", g)
	}
	// 1000 s mod 40 s = 0 s: r1's turn; every 10 s the next one's, r5 never
	for i, s := range []string{"r1", "r2", "r3", "r4", "r1", "r2"} {
		for _, off := range []time.Duration{0, 9999 * time.Millisecond} {
			now = time.Unix(1000, 0).Add(time.Duration(i)*10*time.Second + off)
			l := beat(c, "w1", nil)
			if got := ids(l); len(got) != 1 || got[0] != s {
				t.Fatalf("at +%v: leased %v, want [%s]", now.Sub(time.Unix(1000, 0)), got, s)
			}
			if f := l.Plans[0].Tasks[0].FPS; f != 0.2 {
				t.Errorf("%s leased at %v fps, want 0.2", s, f)
			}
		}
	}
	if m := c.Members()[0]; len(m.Streams) != 4 {
		t.Errorf("assigned %v, want the 4 rotated streams", m.Streams)
	}
	// a 4K stream (as its worker reports) needs 2.0 of the core to decode: too big
	beat(c, "w1", map[string]plan.StreamStatus{"r1": {StreamID: "r1", Source: source.Status{Width: 3840, Height: 2160}}})
	if g := c.Grants()["tr1"]; g.State != placement.Unplaced || g.Code != placement.TooBig {
		t.Errorf("grant of 4K r1: %+v", g)
	}
	for i := 0; i < 8; i++ {
		now = now.Add(5 * time.Second)
		for _, s := range ids(beat(c, "w1", nil)) {
			if s == "r1" {
				t.Fatal("unplaced stream leased")
			}
		}
	}
	// no worker at all
	now = now.Add(10 * time.Second)
	c.Sweep()
	if g := c.Grants()["tr2"]; g.State != placement.Unplaced || g.Code != placement.NoWorker {
		t.Errorf("grant with no worker: %+v", g)
	}
}

// A stream the planner moves between two live workers (here: its rate went up and it
// no longer fits beside the other) is leased to the new one only after the old one
// got a lease without it.
func TestClusterHandover(t *testing.T) {
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return time.Unix(1000, 0) }
	beat(c, "w1", nil)
	c.Apply([]plan.StreamPlan{streamPlan("a", 5), streamPlan("b", 5)}) // 0.35 each: both on w1
	beat(c, "w2", nil)
	if got := ids(beat(c, "w1", nil)); len(got) != 2 {
		t.Fatalf("w1 leased %v", got)
	}
	// a at 10 fps costs 0.1 + 0.5 = 0.6: b stays (its cost did not grow), a moves to w2
	c.Apply([]plan.StreamPlan{streamPlan("a", 10), streamPlan("b", 5)})
	if m := c.Members(); len(m[0].Streams) != 1 || m[0].Streams[0] != "b" || len(m[1].Streams) != 1 || m[1].Streams[0] != "a" {
		t.Fatalf("members %+v", m)
	}
	if got := ids(beat(c, "w2", nil)); len(got) != 0 {
		t.Fatalf("w2 leased %v while w1 may still run it", got)
	}
	if got := ids(beat(c, "w1", nil)); len(got) != 1 || got[0] != "b" {
		t.Fatalf("w1 leased %v", got)
	}
	if l := beat(c, "w2", nil); len(l.Plans) != 1 || l.Plans[0].Stream.ID != "a" || l.Plans[0].Tasks[0].FPS != 10 {
		t.Fatalf("w2 leased %v after w1 gave a up", ids(l))
	}
}

// Measured costs (the warehouse benchmark of a published version) replace the
// built-in table: a slower model makes the same work degrade.
func TestClusterUsesMeasuredModelCosts(t *testing.T) {
	c := NewCluster(3 * time.Second)
	now := time.Unix(1000, 0)
	c.Now = func() time.Time { return now }
	c.Heartbeat(plan.Heartbeat{ID: "w1", Cores: 1})
	p := plan.StreamPlan{Stream: store.Stream{ID: "s"}, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t", Algorithm: "face_capture"}, FPS: 5}}}
	c.Apply([]plan.StreamPlan{p})
	if l := c.Heartbeat(plan.Heartbeat{ID: "w1", Cores: 1}); len(l.Plans) != 1 || l.Plans[0].Tasks[0].FPS != 5 {
		t.Fatalf("at the default cost: %+v", l.Plans)
	}
	c.SetModelFPS("blazeface-back", 2) // measured: 2 frames/s per core
	l := c.Heartbeat(plan.Heartbeat{ID: "w1", Cores: 1})
	if len(l.Plans) != 1 || l.Plans[0].Tasks[0].FPS >= 5 || c.Grants()["t"].State != "degraded" {
		t.Fatalf("after a slower measured cost: %+v, grant %+v", l.Plans[0].Tasks, c.Grants()["t"])
	}
}

// A worker's own CPU benchmark (heartbeat Bench, Device "cpu") sizes its CPU instead
// of the cost table: one stream plans as a table saying the batch-1 rate would; the
// device takes the rate at the largest measured batch its streams per live worker
// can fill (never a size above them: a stream sends one frame at a time).
func TestClusterSizesCPUFromWorkerBenchPerBatch(t *testing.T) {
	bench := []plan.DeviceBench{
		{Device: "cpu", Model: "nanodet", Provider: "cpu", BatchSize: 1, FPS: 4},
		{Device: "cpu", Model: "nanodet", Provider: "cpu", BatchSize: 2, FPS: 5},
		{Device: "cpu", Model: "nanodet", Provider: "cpu", BatchSize: 4, FPS: 8},
		{Device: "cpu", Model: "nanodet", Provider: "cpu", BatchSize: 8, FPS: 100}, // never filled by ≤ 7 streams
		{Device: "NVIDIA H100", Model: "nanodet", Provider: "cuda", BatchSize: 8, FPS: 900},
	}
	// granted is the fps granted to streams × one 10 fps nanodet task on a one-core
	// worker that reports bench, with the cost table saying tableFPS for nanodet.
	granted := func(streams int, bench []plan.DeviceBench, tableFPS float64) (float64, *Cluster) {
		c := NewCluster(3 * time.Second)
		c.Now = func() time.Time { return time.Unix(1000, 0) }
		c.Costs.ModelFPS = map[string]float64{"nanodet": tableFPS}
		hb := plan.Heartbeat{ID: "w1", Cores: 1, Bench: bench}
		c.Heartbeat(hb)
		var ps []plan.StreamPlan
		for i := range streams {
			id := fmt.Sprint("s", i)
			ps = append(ps, plan.StreamPlan{Stream: store.Stream{ID: id}, Tasks: []plan.TaskPlan{{Task: store.Task{ID: id + "/t", Algorithm: "person_vehicle_capture"}, FPS: 10}}})
		}
		c.Apply(ps)
		c.Heartbeat(hb)
		sum := 0.0
		for _, g := range c.Grants() {
			sum += g.GrantedFPS * g.Duty
		}
		return sum, c
	}
	got, c := granted(1, bench, 9)
	want, _ := granted(1, nil, 4)
	if table, _ := granted(1, nil, 9); got != want || got == table {
		t.Errorf("1 stream: %.2f fps granted, want %.2f (the batch-1 rate), not the table's %.2f", got, want, table)
	}
	m := c.Members()
	if len(m) != 1 || len(m[0].CPUBench) != 4 {
		t.Fatalf("members: %+v, want w1 with its 4 CPU results", m)
	}
	// the device the planner gets, by streams using nanodet over live workers
	for _, tc := range []struct {
		streams, workers int
		want             float64
	}{{1, 1, 4}, {3, 1, 5}, {4, 1, 8}, {7, 1, 8}, {8, 2, 8}, {8, 4, 5}, {8, 1, 100}} {
		d := c.cpuDevice(&m[0], map[string]int{"nanodet": tc.streams}, tc.workers)
		if d.ModelFPS["nanodet"] != tc.want {
			t.Errorf("%d streams on %d workers: nanodet at %.0f frames/s on one core, want %.0f", tc.streams, tc.workers, d.ModelFPS["nanodet"], tc.want)
		}
	}
}

// beat sends a one-core worker's heartbeat with the given stream status.
// threeStreamsOnTwo is a cluster (timeout 3 s, on the clock *now) of workers w1 and
// w2, one core each, desiring streams a (0.35 of a core), b (0.35) and c (0.2): a
// and b fill one worker to 0.70, c does not fit beside them.
func threeStreamsOnTwo(now *time.Time) *Cluster {
	c := NewCluster(3 * time.Second)
	c.Now = func() time.Time { return *now }
	beat(c, "w1", nil)
	beat(c, "w2", nil)
	c.Apply([]plan.StreamPlan{streamPlan("a", 5), streamPlan("b", 5), streamPlan("c", 2)})
	return c
}

func beat(c *Cluster, id string, status map[string]plan.StreamStatus) plan.Lease {
	return c.Heartbeat(plan.Heartbeat{ID: id, Cores: 1, Status: status})
}

// A worker's streams' measured decode costs (source DecodeCPUMS) size its CPU's
// decoding per codec, scaled to 1080p frames: 0.84 ms per 768×576 MS-MPEG4 frame is
// 1000/0.84 × 442368/2073600 ≈ 254 1080p frames/s per core; 8 ms per 1080p H.264
// frame is 125 (the table says 250).
func TestClusterSizesDecodeFromMeasuredStreams(t *testing.T) {
	c := NewCluster(3 * time.Second)
	status := map[string]plan.StreamStatus{
		"a": {Source: source.Status{Codec: "msmpeg4", Width: 768, Height: 576, DecodeCPUMS: 0.84}},
		"b": {Source: source.Status{Codec: "h264", Width: 1920, Height: 1080, DecodeCPUMS: 8}},
		"c": {Source: source.Status{Codec: "hevc", Width: 1920, Height: 1080}}, // not measured
	}
	d := c.cpuDevice(&Member{Cores: 2, Status: status}, map[string]int{"nanodet": 1}, 1)
	if d.DecodeFPS != 250 || math.Abs(d.CodecFPS["msmpeg4"]-2*1000/0.84*442368/2073600) > 0.01 || len(d.CodecFPS) != 1 {
		t.Errorf("device decode rates: %.1f (h264), %v", d.DecodeFPS, d.CodecFPS)
	}
	if !decodeMoved(measuredDecode(nil), measuredDecode(status)) || decodeMoved(measuredDecode(status), measuredDecode(status)) {
		t.Error("a first measurement re-places, the same one does not")
	}
}

// A worker whose process spends 1.6× the CPU its frames cost at the planned rates
// (ONNX Runtime's threads, algorithms, the recorder) gets its CPU sized by 1/1.6: the
// same task is granted less. The factor is smoothed over windows and needs enough
// work to be measured.
func TestClusterCalibratesCPUFromMeasuredUse(t *testing.T) {
	c := NewCluster(time.Minute)
	now := time.Unix(1000, 0)
	c.Now = func() time.Time { return now }
	bench := []plan.DeviceBench{{Device: "cpu", Model: "nanodet", Provider: "cpu", BatchSize: 1, FPS: 8}}
	c.Apply([]plan.StreamPlan{{Stream: store.Stream{ID: "s"}, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t", Algorithm: "person_vehicle_capture"}, FPS: 10}}}})
	beat := func(cpu float64, frames int64) {
		c.Heartbeat(plan.Heartbeat{ID: "w", Cores: 1, Bench: bench, CPUSeconds: cpu, Batchers: []plan.BatchStats{{Model: "nanodet", Frames: frames}}})
	}
	beat(100, 0)
	before := c.Grants()["t"].GrantedFPS
	now = now.Add(5 * time.Second)
	beat(101, 10) // shorter than a window: not measured
	if f := c.Members()[0].CPUFactor; f != 0 {
		t.Fatalf("factor %.2f after 5 s", f)
	}
	now = now.Add(15 * time.Second)
	beat(120, 100) // 100 frames at 8/s per core = 12.5 core-s modelled, 20 spent
	if f := c.Members()[0].CPUFactor; math.Abs(f-1.6) > 1e-9 {
		t.Fatalf("factor %.3f, want 1.6", f)
	}
	after := c.Grants()["t"].GrantedFPS
	if after >= before*0.75 || after <= 0 {
		t.Errorf("granted %.2f fps before calibration, %.2f after a factor of 1.6", before, after)
	}
	now = now.Add(20 * time.Second)
	beat(132.5, 200) // 12.5 modelled, 12.5 spent: factor 1 this window, smoothed to 1.3
	if f := c.Members()[0].CPUFactor; math.Abs(f-1.3) > 1e-9 {
		t.Fatalf("factor %.3f, want 1.3", f)
	}
	now = now.Add(20 * time.Second)
	beat(132.6, 201) // idle: too little work to tell, the factor stays
	if f := c.Members()[0].CPUFactor; math.Abs(f-1.3) > 1e-9 {
		t.Fatalf("factor %.3f after an idle window, want 1.3", f)
	}
}
