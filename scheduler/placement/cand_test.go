package placement

import (
	"testing"
)

// bestFull is best as a scan of every device in order, without the candidate index.
func bestFull(p *planner, s int32) int32 {
	bd, bl := int32(-1), 0
	var bw, bu float64
	base := int(s) * p.np
	for d := range p.devs {
		dv := &p.devs[d]
		c := base + dv.prof
		if !p.feas[c] || !p.fits(int32(d), p.dec[c], p.inf[c], 1) {
			continue
		}
		dec, inf := p.dec[c], p.inf[c]
		w, l := weight(dv.cuda, dec, inf), &p.ld[d]
		u := weight(dv.cuda, l.dec+dec, l.inf+inf)
		if bd >= 0 {
			if w > bw+eps*eps {
				continue
			}
			if w >= bw-eps*eps {
				lc := p.loadedCount(s, int32(d))
				if lc < bl || lc == bl && u <= bu+eps {
					continue
				}
				bd, bw, bu, bl = int32(d), w, u, lc
				continue
			}
		}
		bd, bw, bu, bl = int32(d), w, u, p.loadedCount(s, int32(d))
	}
	return bd
}

// TestCandidateIndexChoosesAsFullScan: on worlds that fit, overload (the ladder, time
// sharing, refusals), lose or gain a worker and have preloaded models, every device
// best picks through the candidate index is the one a scan of every device picks.
func TestCandidateIndexChoosesAsFullScan(t *testing.T) {
	calls := 0
	checkBest = func(p *planner, s, got int32) {
		calls++
		if want := bestFull(p, s); got != want {
			t.Fatalf("stream %s: best chose device %d, a full scan %d", p.ss[s].id, got, want)
		}
	}
	defer func() { checkBest = nil }()
	for _, c := range []struct {
		workers, streams int
		low              bool
	}{{40, 600, false}, {12, 600, false}, {6, 600, true}, {3, 600, false}} {
		workers, streams := benchWorld(c.workers, c.streams, 3)
		if c.low {
			allLow(streams)
		}
		workers[1].Loaded = map[string]bool{"nanodet": true}
		prev := Place(Config{}, workers, streams, nil)
		workers[2].Healthy = false
		next := Place(Config{}, workers, streams, &prev)
		workers = append(workers, Node{ID: "new", Healthy: true, Devices: []Device{cpuDevice(16, nanodetMS), t4()}})
		Place(Config{}, workers, streams, &next)
	}
	if calls < 1000 {
		t.Fatalf("only %d choices compared", calls)
	}
	t.Logf("%d choices compared", calls)
}
