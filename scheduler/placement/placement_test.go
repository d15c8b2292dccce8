package placement

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The unit scenarios use round numbers so every expectation can be checked by hand:
// a CPU device decoding 100 1080p frames/s and running model "det" at 100 frames/s,
// and 1080p streams at 10 fps with one det task at 10 fps, cost 10/100 + 10/100 = 0.2.

func cpuDev(decode float64, models map[string]float64) Device {
	return Device{ID: "cpu", Kind: "cpu", DecodeFPS: decode, ModelFPS: models}
}

func wk(id string, devs ...Device) Node { return Node{ID: id, Devices: devs, Healthy: true} }

func std(id string) Node { return wk(id, cpuDev(100, map[string]float64{"det": 100, "cls": 200})) }

func st(id string, native float64, tasks ...Task) Stream {
	return Stream{ID: id, Pixels: 1920 * 1080, FPS: native, Tasks: tasks}
}

func det(id string, fps float64) Task { return Task{ID: id, Model: "det", FPS: fps} }

// small is the 0.2 stream of the scenarios.
func small(id string) Stream { return st(id, 10, det(id+".t", 10)) }

func smalls(ids ...string) []Stream {
	var out []Stream
	for _, id := range ids {
		out = append(out, small(id))
	}
	return out
}

func where(p Plan) map[string]string {
	m := map[string]string{}
	for id, a := range p.Assign {
		m[id] = a.Worker + "/" + a.Device
		if a.Rotated {
			m[id] += fmt.Sprintf(" slot %d @%s", a.Slot, a.Phase)
		}
	}
	return m
}

func wantWhere(t *testing.T, p Plan, want map[string]string) {
	t.Helper()
	if got := where(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("placements\n got %v\nwant %v", got, want)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func wantUtil(t *testing.T, p Plan, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if !near(p.Util[k], v) {
			t.Errorf("util %s = %v, want %v (all: %v)", k, p.Util[k], v, p.Util)
		}
	}
}

func wantGrant(t *testing.T, p Plan, task string, state State, fps float64, code Code) Grant {
	t.Helper()
	g, ok := p.Grants[task]
	if !ok {
		t.Fatalf("no grant for %s", task)
	}
	if g.State != state || !near(g.GrantedFPS, fps) || g.Code != code {
		t.Fatalf("grant %s = %+v, want state %s fps %v code %q", task, g, state, fps, code)
	}
	return g
}

func TestFitsOnOneWorker(t *testing.T) {
	p := Place(Config{}, []Node{std("w1"), std("w2")}, smalls("a", "b", "c"), nil)
	wantWhere(t, p, map[string]string{"a": "w1/cpu", "b": "w1/cpu", "c": "w1/cpu"})
	wantUtil(t, p, map[string]float64{"w1/cpu": 0.6, "w2/cpu": 0})
	for _, id := range []string{"a", "b", "c"} {
		g := wantGrant(t, p, id+".t", OK, 10, "")
		if g.Duty != 1 || g.Message != "" {
			t.Fatalf("%+v", g)
		}
	}
}

func TestSpreadsWhenOverTarget(t *testing.T) {
	// four fill w1 to 0.8; a fifth would make 1.0 > 0.85
	p := Place(Config{}, []Node{std("w1"), std("w2")}, smalls("a", "b", "c", "d", "e"), nil)
	wantWhere(t, p, map[string]string{"a": "w1/cpu", "b": "w1/cpu", "c": "w1/cpu", "d": "w1/cpu", "e": "w2/cpu"})
	wantUtil(t, p, map[string]float64{"w1/cpu": 0.8, "w2/cpu": 0.2})
}

func TestPrefersWorkerWithModelLoaded(t *testing.T) {
	w1, w2 := std("w1"), std("w2")
	w1.Loaded = map[string]bool{"cls": true}
	w2.Loaded = map[string]bool{"det": true}
	streams := []Stream{
		small("a"), // det: w2 has it loaded
		st("b", 10, Task{ID: "b.t", Model: "cls", FPS: 10}), // cls: w1 has it loaded
		small("c"),
	}
	p := Place(Config{}, []Node{w1, w2}, streams, nil)
	wantWhere(t, p, map[string]string{"a": "w2/cpu", "b": "w1/cpu", "c": "w2/cpu"})
	// b costs 0.1 + 10/200 = 0.15
	wantUtil(t, p, map[string]float64{"w1/cpu": 0.15, "w2/cpu": 0.4})
}

func TestStableWhenStreamsComeAndGo(t *testing.T) {
	workers := []Node{std("w1"), std("w2")}
	first := Place(Config{}, workers, smalls("s1", "s2", "s3", "s4", "s5", "s6"), nil)
	want := map[string]string{"s1": "w1/cpu", "s2": "w1/cpu", "s3": "w1/cpu", "s4": "w1/cpu", "s5": "w2/cpu", "s6": "w2/cpu"}
	wantWhere(t, first, want)

	// the same input again changes nothing
	if again := Place(Config{}, workers, smalls("s1", "s2", "s3", "s4", "s5", "s6"), &first); !reflect.DeepEqual(again, first) {
		t.Fatalf("replan of the same input changed the plan:\n%v\n%v", where(again), where(first))
	}

	// s0 sorts first and would go to w1 on a fresh placement; with the plan in force
	// nobody moves and s0 takes the room that is left
	added := Place(Config{}, workers, smalls("s0", "s1", "s2", "s3", "s4", "s5", "s6"), &first)
	want["s0"] = "w2/cpu"
	wantWhere(t, added, want)
	delete(want, "s0")

	// removing s2 frees room on w1, but s5 and s6 stay on w2
	removed := Place(Config{}, workers, smalls("s1", "s3", "s4", "s5", "s6"), &first)
	delete(want, "s2")
	wantWhere(t, removed, want)
	wantUtil(t, removed, map[string]float64{"w1/cpu": 0.6, "w2/cpu": 0.4})
}

func TestGPUPreferredForHeavyModelCPUFallback(t *testing.T) {
	// CPU: heavy at 10 frames/s; GPU: heavy at 200 frames/s, NVDEC 100 frames/s, 2
	// decode sessions. A heavy stream (det... "heavy" at 5 fps) costs 0.1 + 5/10 = 0.6
	// of the CPU but max(0.1, 5/200) = 0.1 of the GPU.
	g := wk("g",
		Device{ID: "cpu", Kind: "cpu", DecodeFPS: 100, ModelFPS: map[string]float64{"heavy": 10, "light": 100}},
		Device{ID: "cuda:0", Kind: "cuda", DecodeFPS: 100, DecodeSessions: 2, ModelFPS: map[string]float64{"heavy": 200}})
	heavy := func(id string) Stream { return st(id, 10, Task{ID: id + ".t", Model: "heavy", FPS: 5}) }
	streams := []Stream{heavy("h1"), heavy("h2"), heavy("h3"),
		st("l", 10, Task{ID: "l.t", Model: "light", FPS: 10})} // light runs on the CPU only: 0.1 + 0.1
	p := Place(Config{}, []Node{g}, streams, nil)
	// two heavy streams on the GPU (its decode sessions), the third falls back to the CPU
	wantWhere(t, p, map[string]string{"h1": "g/cuda:0", "h2": "g/cuda:0", "h3": "g/cpu", "l": "g/cpu"})
	// GPU: NVDEC 0.2, SMs 0.05 → 0.2; CPU: 0.6 + 0.2
	wantUtil(t, p, map[string]float64{"g/cuda:0": 0.2, "g/cpu": 0.8})
	if a := p.Assign["h1"]; !near(a.Cost, 0.1) {
		t.Fatalf("h1 cost %v", a.Cost)
	}
}

func TestGPUDecodeAndInferenceAreSeparateEngines(t *testing.T) {
	// each stream: NVDEC 10/100 = 0.1, SMs 10/100 = 0.1. On a GPU the engines run side
	// by side, so 8 streams make 0.8 (not 1.6); the 9th goes to the second GPU.
	gpu := func(id string) Node {
		return wk(id, Device{ID: "cuda:0", Kind: "cuda", DecodeFPS: 100, ModelFPS: map[string]float64{"det": 100}})
	}
	var ids []string
	for i := 1; i <= 9; i++ {
		ids = append(ids, fmt.Sprintf("s%d", i))
	}
	p := Place(Config{}, []Node{gpu("g1"), gpu("g2")}, smalls(ids...), nil)
	wantUtil(t, p, map[string]float64{"g1/cuda:0": 0.8, "g2/cuda:0": 0.1})
	if p.Assign["s9"].Worker != "g2" {
		t.Fatalf("%v", where(p))
	}
}

func TestSharedDecodeAndPerModelMaxRate(t *testing.T) {
	// 25 fps 1080p on a CPU decoding 250 frames/s: decode 0.1 whatever the task count.
	// det at 5 and 2 fps share frames: 5/100; cls at 4 and 1 fps: 4/200.
	w := wk("w", cpuDev(250, map[string]float64{"det": 100, "cls": 200}))
	s := st("s", 25, det("d5", 5), det("d2", 2), Task{ID: "c4", Model: "cls", FPS: 4}, Task{ID: "c1", Model: "cls", FPS: 1})
	p := Place(Config{}, []Node{w}, []Stream{s}, nil)
	want := 0.1 + 0.05 + 0.02
	if a := p.Assign["s"]; !near(a.Cost, want) || !near(p.Util["w/cpu"], want) {
		t.Fatalf("cost %v util %v, want %v", a.Cost, p.Util["w/cpu"], want)
	}
	for _, id := range []string{"d5", "d2", "c4", "c1"} {
		if g := p.Grants[id]; g.State != OK {
			t.Fatalf("%s: %+v", id, g)
		}
	}
	// 720p costs 1280×720/1920×1080 = 4/9 of the decode
	s.Pixels = 1280 * 720
	p = Place(Config{}, []Node{w}, []Stream{s}, nil)
	if got := p.Util["w/cpu"]; !near(got, 0.1*4/9+0.07) {
		t.Fatalf("720p util %v", got)
	}
}

func TestKeyframeOnlyDecodeWhenAllTasksAtMostOneFPS(t *testing.T) {
	w := wk("w", cpuDev(250, map[string]float64{"det": 100, "cls": 200}))
	slow := st("s", 25, det("d", 1), Task{ID: "c", Model: "cls", FPS: 0.5})
	p := Place(Config{}, []Node{w}, []Stream{slow}, nil)
	// decode 0.1 × 0.15 + 1/100 + 0.5/200
	if got, want := p.Util["w/cpu"], 0.015+0.01+0.0025; !near(got, want) {
		t.Fatalf("keyframe-only util %v, want %v", got, want)
	}
	p = Place(Config{KeyframeCost: 0.3}, []Node{w}, []Stream{slow}, nil)
	if got, want := p.Util["w/cpu"], 0.03+0.01+0.0025; !near(got, want) {
		t.Fatalf("keyframe cost 0.3: util %v, want %v", got, want)
	}
	// one task above 1 fps needs every frame decoded
	slow.Tasks[0].FPS = 1.5
	p = Place(Config{}, []Node{w}, []Stream{slow}, nil)
	if got, want := p.Util["w/cpu"], 0.1+0.015+0.0025; !near(got, want) {
		t.Fatalf("full decode util %v, want %v", got, want)
	}
}

// The degradation scenario: one CPU, target 0.6, decode 50 fps 1080p at 5000
// frames/s = 0.01 per stream, det at 100 frames/s. H (priority 1) asks 40 fps with no
// room to lower: 0.41. Each L (priority 0) asks 10 fps, minimum 2: 0.11, 0.03 at min.
func degradeWorld() []Node {
	return []Node{wk("w", cpuDev(5000, map[string]float64{"det": 100}))}
}

func hi(id string) Stream {
	return st(id, 50, Task{ID: id + ".t", Model: "det", FPS: 40, MinFPS: 40, Priority: 1})
}

func lo(id string) Stream {
	return st(id, 50, Task{ID: id + ".t", Model: "det", FPS: 10, MinFPS: 2})
}

func los(n int, format string) []Stream {
	var out []Stream
	for i := 1; i <= n; i++ {
		out = append(out, lo(fmt.Sprintf(format, i)))
	}
	return out
}

func TestDegradeLowersLowPriorityFirst(t *testing.T) {
	cfg := Config{TargetUtil: 0.6}
	// 0.41 + 2×0.11 = 0.63 > 0.6. Lowering L by k steps of (10-2)/20 = 0.4 fps: k=3
	// gives 0.41 + 2×(0.01+0.088) = 0.606, k=4 gives 8.4 fps and 0.598.
	p := Place(cfg, degradeWorld(), append([]Stream{hi("H")}, los(2, "L%d")...), nil)
	wantGrant(t, p, "H.t", OK, 40, "")
	for _, id := range []string{"L1.t", "L2.t"} {
		g := wantGrant(t, p, id, Degraded, 8.4, FPSLowered)
		if g.Duty != 1 || !strings.Contains(g.Message, "lowered to 8.4 fps (requested 10, minimum 2)") || !strings.Contains(g.Message, "give up 20%") {
			t.Fatalf("%+v", g)
		}
	}
	wantUtil(t, p, map[string]float64{"w/cpu": 0.598})
	if len(p.Rotation) != 0 {
		t.Fatalf("rotation %+v", p.Rotation)
	}
}

func TestHighPriorityNewcomerLowersOthersWithoutMovingThem(t *testing.T) {
	cfg := Config{TargetUtil: 0.6}
	w := append(degradeWorld(), wk("x", cpuDev(5000, map[string]float64{"other": 1})))
	four := los(4, "L%d")
	first := Place(cfg, w, four, nil) // 4 × 0.11 = 0.44
	for _, g := range first.Grants {
		if g.State != OK {
			t.Fatalf("%+v", g)
		}
	}
	// H needs 0.41: 0.41 + 4×(0.01 + f/100) ≤ 0.6 → f ≤ 3.75 → 16 steps: 3.6 fps
	p := Place(cfg, w, append([]Stream{hi("H")}, four...), &first)
	wantGrant(t, p, "H.t", OK, 40, "")
	for i := 1; i <= 4; i++ {
		wantGrant(t, p, fmt.Sprintf("L%d.t", i), Degraded, 3.6, FPSLowered)
	}
	wantWhere(t, p, map[string]string{"H": "w/cpu", "L1": "w/cpu", "L2": "w/cpu", "L3": "w/cpu", "L4": "w/cpu"})
}

func TestDegradeThenRotateThenRefuse(t *testing.T) {
	cfg := Config{TargetUtil: 0.6, Dwell: 30 * time.Second}
	// 8 L at minimum: 0.41 + 8×0.03 = 0.65 > 0.6: lowering is not enough. Six fit
	// full-time (0.59); L7 and L8 share L6's capacity in turns of 30 s: cycle 90 s.
	streams := append([]Stream{hi("H")}, los(8, "L%d")...)
	p := Place(cfg, degradeWorld(), streams, nil)
	wantGrant(t, p, "H.t", OK, 40, "")
	for i := 1; i <= 5; i++ {
		wantGrant(t, p, fmt.Sprintf("L%d.t", i), Degraded, 2, FPSLowered)
	}
	wantRotation := []Slot{{Worker: "w", Device: "cpu", Streams: []string{"L6", "L7", "L8"}, Dwell: 30 * time.Second, Cycle: 90 * time.Second, Reserved: 0.03}}
	if !reflect.DeepEqual(p.Rotation, wantRotation) {
		t.Fatalf("rotation %+v", p.Rotation)
	}
	for i, id := range []string{"L6", "L7", "L8"} {
		g := wantGrant(t, p, id+".t", Rotated, 2, TimeShared)
		if !near(g.Duty, 1.0/3) || !strings.Contains(g.Message, "runs 30s of every 1m30s at its tasks' minimum rates") {
			t.Fatalf("%+v", g)
		}
		if a := p.Assign[id]; !a.Rotated || a.Slot != 0 || a.Phase != time.Duration(i)*30*time.Second {
			t.Fatalf("%s: %+v", id, a)
		}
		if want := fmt.Sprintf("its turn starts at %s", time.Duration(i)*30*time.Second); !strings.HasSuffix(g.Message, want) {
			t.Fatalf("%s: %q does not end with %q", id, g.Message, want)
		}
	}
	wantUtil(t, p, map[string]float64{"w/cpu": 0.59})

	// the same input again: same plan (slots and turns kept)
	if again := Place(cfg, degradeWorld(), streams, &p); !reflect.DeepEqual(again, p) {
		t.Fatalf("replan changed the plan:\n%v\n%v", where(again), where(p))
	}
	// a ninth L joins the slot as its 4th turn; nothing else moves
	more := Place(cfg, degradeWorld(), append(streams, lo("L9")), &p)
	if got := more.Rotation[0]; len(more.Rotation) != 1 || !reflect.DeepEqual(got.Streams, []string{"L6", "L7", "L8", "L9"}) || got.Cycle != 120*time.Second {
		t.Fatalf("rotation %+v", more.Rotation)
	}
	if more.Assign["L9"].Phase != 90*time.Second {
		t.Fatalf("L9 %+v", more.Assign["L9"])
	}

	// H goes away: the Ls fit again without turns, 8 × (0.01 + f/100) ≤ 0.6 → f ≤
	// 6.5 → 9 steps, 6.4 fps; the slot is dissolved
	freed := Place(cfg, degradeWorld(), streams[1:], &p)
	if len(freed.Rotation) != 0 {
		t.Fatalf("rotation %+v", freed.Rotation)
	}
	for i := 1; i <= 8; i++ {
		wantGrant(t, freed, fmt.Sprintf("L%d.t", i), Degraded, 6.4, FPSLowered)
	}

	// a second high-priority stream cannot fit even with every L at minimum and
	// rotated: it is refused, with the numbers, and the rest is as before
	withH2 := Place(cfg, degradeWorld(), append(streams, hi("H2")), nil)
	g := wantGrant(t, withH2, "H2.t", Unplaced, 0, NoCapacity)
	if g.Duty != 0 || !strings.Contains(g.Message, "needs 0.410 of a cpu device") || !strings.Contains(g.Message, "most room left on a device that runs it is 0.010") {
		t.Fatalf("%+v", g)
	}
	if _, ok := withH2.Assign["H2"]; ok {
		t.Fatal("H2 placed")
	}
	if !reflect.DeepEqual(withH2.Rotation, wantRotation) {
		t.Fatalf("rotation %+v", withH2.Rotation)
	}
}

func TestRotationLimitThenRefuseLowestPriority(t *testing.T) {
	// MaxRotated 2: six slots of two (each full-time L shares with one more), 12 Ls
	// run; L13 and L14 are refused.
	cfg := Config{TargetUtil: 0.6, Dwell: 20 * time.Second, MaxRotated: 2}
	p := Place(cfg, degradeWorld(), append([]Stream{hi("H")}, los(14, "L%02d")...), nil)
	wantGrant(t, p, "H.t", OK, 40, "")
	var got [][]string
	for _, sl := range p.Rotation {
		got = append(got, sl.Streams)
		if sl.Cycle != 40*time.Second {
			t.Fatalf("%+v", sl)
		}
	}
	want := [][]string{{"L06", "L07"}, {"L05", "L08"}, {"L04", "L09"}, {"L03", "L10"}, {"L02", "L11"}, {"L01", "L12"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("slots %v", got)
	}
	for _, id := range []string{"L13", "L14"} {
		wantGrant(t, p, id+".t", Unplaced, 0, NoCapacity)
	}
	wantUtil(t, p, map[string]float64{"w/cpu": 0.59})
}

func TestNoRotationForImportantStreams(t *testing.T) {
	// RotatePriority -1: priority-0 streams may not rotate, so what does not fit at
	// minimum rates is refused
	cfg := Config{TargetUtil: 0.6, RotatePriority: -1}
	p := Place(cfg, degradeWorld(), append([]Stream{hi("H")}, los(8, "L%d")...), nil)
	if len(p.Rotation) != 0 {
		t.Fatalf("%+v", p.Rotation)
	}
	for i := 1; i <= 6; i++ {
		wantGrant(t, p, fmt.Sprintf("L%d.t", i), Degraded, 2, FPSLowered)
	}
	wantGrant(t, p, "L7.t", Unplaced, 0, NoCapacity)
	wantGrant(t, p, "L8.t", Unplaced, 0, NoCapacity)
}

func TestWorkerLostAndBack(t *testing.T) {
	workers := []Node{std("w1"), std("w2"), std("w3"), std("w4")}
	ids := []string{"s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09", "s10"}
	before := Place(Config{}, workers, smalls(ids...), nil)
	want := map[string]string{}
	for i, id := range ids {
		want[id] = []string{"w1/cpu", "w2/cpu", "w3/cpu"}[i/4]
	}
	wantWhere(t, before, want)

	// w2 stops its heartbeat: s05–s08 move; w3 (0.4) fills first, then w4
	workers[1].Healthy = false
	lost := Place(Config{}, workers, smalls(ids...), &before)
	want["s05"], want["s06"], want["s07"], want["s08"] = "w3/cpu", "w3/cpu", "w4/cpu", "w4/cpu"
	wantWhere(t, lost, want)
	if _, ok := lost.Util["w2/cpu"]; ok {
		t.Fatal("lost worker in util")
	}
	wantUtil(t, lost, map[string]float64{"w1/cpu": 0.8, "w3/cpu": 0.8, "w4/cpu": 0.4})

	// w2 comes back: nothing moves to it
	workers[1].Healthy = true
	back := Place(Config{}, workers, smalls(ids...), &lost)
	wantWhere(t, back, want)
	wantUtil(t, back, map[string]float64{"w2/cpu": 0})
}

func TestLostWorkerDegradesWhenTheRestIsFull(t *testing.T) {
	// decode 10/1000 = 0.01, det 10/100 = 0.1: 0.11 per stream, 7 per worker (0.77)
	w := func(id string) Node { return wk(id, cpuDev(1000, map[string]float64{"det": 100})) }
	workers := []Node{w("w1"), w("w2"), w("w3")}
	var ids []string
	for i := 1; i <= 18; i++ {
		ids = append(ids, fmt.Sprintf("s%02d", i))
	}
	before := Place(Config{}, workers, smalls(ids...), nil)
	if u := before.Util; !near(u["w1/cpu"], 0.77) || !near(u["w2/cpu"], 0.77) || !near(u["w3/cpu"], 0.44) {
		t.Fatalf("%v", u)
	}
	// w1 lost: 18 streams on two devices, 9 each: 9 × (0.01 + f/100) ≤ 0.85 → f ≤ 8.44;
	// steps of (10-0.2)/20 = 0.49 fps: 4 steps → 8.04 fps, 0.0904 per stream.
	workers[0].Healthy = false
	after := Place(Config{}, workers, smalls(ids...), &before)
	for i, id := range ids {
		wantGrant(t, after, id+".t", Degraded, 8.04, FPSLowered)
		want := before.Assign[id].Worker
		switch {
		case i < 2:
			want = "w2" // the lost ones: w2 (fuller) takes two, w3 the rest
		case i < 7:
			want = "w3"
		}
		if got := after.Assign[id].Worker; got != want {
			t.Fatalf("%s on %s, want %s: %v", id, got, want, where(after))
		}
	}
	wantUtil(t, after, map[string]float64{"w2/cpu": 9 * 0.0904, "w3/cpu": 9 * 0.0904})
}

func TestUnplacedReasons(t *testing.T) {
	streams := []Stream{
		st("ocr", 10, Task{ID: "ocr.t", Model: "ocr", FPS: 1}),
		// full decode alone is 100/100 = 1.0 > 0.85 (at ≤ 1 fps keyframe decode would fit)
		st("huge", 100, Task{ID: "huge.t", Model: "det", FPS: 100, MinFPS: 50}),
		st("mixed", 10, det("mixed.d", 1), Task{ID: "mixed.g", Model: "gpuonly", FPS: 1}),
		small("fine"),
	}
	workers := []Node{std("w1"), wk("g", Device{ID: "cuda:0", Kind: "cuda", DecodeFPS: 100, ModelFPS: map[string]float64{"gpuonly": 100}})}
	p := Place(Config{}, workers, streams, nil)
	g := wantGrant(t, p, "ocr.t", Unplaced, 0, NoDevice)
	if g.Message != "no healthy device has model ocr" {
		t.Fatal(g.Message)
	}
	g = wantGrant(t, p, "huge.t", Unplaced, 0, TooBig)
	if !strings.Contains(g.Message, "needs 1.500 of a cpu device even at minimum rates (decode 1.000, inference 0.500)") {
		t.Fatal(g.Message)
	}
	g = wantGrant(t, p, "mixed.d", Unplaced, 0, NoDevice)
	if !strings.Contains(g.Message, "no single healthy device runs all of det, gpuonly") {
		t.Fatal(g.Message)
	}
	wantGrant(t, p, "fine.t", OK, 10, "")

	p = Place(Config{}, nil, streams, nil)
	wantGrant(t, p, "fine.t", Unplaced, 0, NoWorker)
}

func TestNativeRateCap(t *testing.T) {
	p := Place(Config{}, []Node{std("w")}, []Stream{st("s", 10, det("t", 25))}, nil)
	g := wantGrant(t, p, "t", OK, 10, FPSCapped)
	if g.RequestedFPS != 25 || !strings.Contains(g.Message, "native 10 fps") {
		t.Fatalf("%+v", g)
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	workers, streams := benchWorld(20, 400, 1)
	a := Place(Config{}, workers, streams, nil)
	shuffled := slices.Clone(streams)
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if b := Place(Config{}, workers, shuffled, nil); !reflect.DeepEqual(a, b) {
		t.Fatal("the plan depends on the order streams are passed in")
	}
	// replanning with the plan in force keeps every stream where it is
	c := Place(Config{}, workers, streams, &a)
	if !maps.EqualFunc(a.Assign, c.Assign, func(x, y Assignment) bool { return x.Worker == y.Worker && x.Device == y.Device }) {
		t.Fatal("replan moved streams")
	}
	checkNoOverload(t, Config{}.withDefaults(), a)
}

// checkNoOverload: no device over target, every task has a grant that says why.
func checkNoOverload(t testing.TB, cfg Config, p Plan) {
	t.Helper()
	for d, u := range p.Util {
		if u > cfg.TargetUtil+1e-6 {
			t.Fatalf("%s at %v", d, u)
		}
	}
	for id, g := range p.Grants {
		if g.State != OK && (g.Code == "" || g.Message == "") {
			t.Fatalf("%s: %+v without a reason", id, g)
		}
	}
}

func TestCodecDecodeRate(t *testing.T) {
	// this CPU decodes HEVC at half its H.264 rate: 10 fps 1080p costs 10/50 to decode
	w := std("w")
	w.Devices[0].CodecFPS = map[string]float64{"h265": 50}
	hevc := small("s")
	hevc.Codec = "HEVC"
	p := Place(Config{}, []Node{w}, []Stream{hevc, small("h264")}, nil)
	if a := p.Assign["s"]; !near(a.Cost, 0.2+0.1) {
		t.Fatalf("hevc cost %v", a.Cost)
	}
	if a := p.Assign["h264"]; !near(a.Cost, 0.2) {
		t.Fatalf("h264 cost %v", a.Cost)
	}
}
