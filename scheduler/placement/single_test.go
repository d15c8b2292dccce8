package placement

import "testing"

// A stream that fits an empty device only at lowered rates is degraded, not granted
// its requested rate at the lowered cost (regression: the feasibility check left the
// minimum-rate costs behind as if they were the requested ones).
func TestSingleStreamThatFitsOnlyLowered(t *testing.T) {
	ws := []Node{{ID: "w1", Healthy: true, Devices: []Device{{ID: "cpu", Kind: "cpu", DecodeFPS: 250, ModelFPS: map[string]float64{"m": 2}}}}}
	ss := []Stream{{ID: "s", Tasks: []Task{{ID: "t", Model: "m", FPS: 5, MinFPS: 0.2}}}}
	p := Place(Config{}, ws, ss, nil)
	g := p.Grants["t"]
	if g.State != Degraded || g.GrantedFPS >= 5 || p.Util["w1/cpu"] > 0.85+1e-9 {
		t.Fatalf("grant %+v, util %v", g, p.Util)
	}
	// the granted rate and the planned cost agree: decode 25/250 + model f/2
	if want := 0.1 + g.GrantedFPS/2; p.Assign["s"].Cost < want-1e-6 || p.Assign["s"].Cost > want+1e-6 {
		t.Fatalf("cost %v for %v fps, want %v", p.Assign["s"].Cost, g.GrantedFPS, want)
	}
}
