package scheduler

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// fakeCatalog publishes nanodet@9.0.0 and holds acme/nanodet@1.1.0 too.
type fakeCatalog struct{}

func (fakeCatalog) Published(q string) (string, bool) { return "9.0.0", q == "nanodet" }

func (fakeCatalog) Package(q, version string) (plan.Package, bool) {
	if q+"@"+version != "nanodet@9.0.0" && q+"@"+version != "acme/nanodet@1.1.0" {
		return plan.Package{}, false
	}
	return plan.Package{Model: q, Version: version, Manifest: json.RawMessage(`{"name":"nanodet"}`)}, true
}

func flowPlan(id, models string) plan.StreamPlan {
	p, err := algorithms.ParseParams(json.RawMessage(`{"sample_fps":1` + models + `}`))
	if err != nil {
		panic(err)
	}
	return plan.StreamPlan{Stream: store.Stream{ID: id}, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t" + id, Algorithm: "people_flow"}, Params: p, FPS: 1}}}
}

// Issue 22 item 4, the planner's side: every lease carries the packages the tasks
// use (the published version of a followed model, marked published; a pinned
// one as pinned); a worker that reports no nanodet gets no stream needing it (the
// grant says which model no worker has), and gets it once it reports it installed
// (any version for a task following the published one, the exact one for a pin).
// A worker that reports nothing (embedded) is taken to have every model.
func TestClusterPlacesOnlyWhereTheModelIs(t *testing.T) {
	c := NewCluster(0)
	c.Catalog = fakeCatalog{}
	hb := func(id string, installed []string) plan.Lease {
		return c.Heartbeat(plan.Heartbeat{ID: id, Cores: 4, Installed: installed})
	}
	hb("w1", []string{})
	c.Apply([]plan.StreamPlan{flowPlan("a", ""), flowPlan("b", `,"models":{"nanodet":"acme/nanodet@1.1.0"}`)})
	l := hb("w1", []string{})
	if len(l.Plans) != 0 {
		t.Fatalf("placed on a worker without the model: %v", ids(l))
	}
	if len(l.Packages) != 2 || l.Packages[0].Model != "acme/nanodet" || l.Packages[0].Published || l.Packages[1].Model != "nanodet" || l.Packages[1].Version != "9.0.0" || !l.Packages[1].Published {
		t.Fatalf("packages %+v", l.Packages)
	}
	if g := c.Grants()["tb"]; g.State != "unplaced" || !strings.Contains(g.Message, "model acme/nanodet@1.1.0") {
		t.Fatalf("grant of the pinned task: %+v", g)
	}
	// an older nanodet is enough to follow the published one (it swaps when it has it);
	// the pin needs its exact version
	if l := hb("w1", []string{"acme/nanodet@1.0.0", "nanodet@1"}); strings.Join(ids(l), ",") != "a" {
		t.Fatalf("with nanodet@1: %v", ids(l))
	}
	if l := hb("w1", []string{"acme/nanodet@1.1.0", "nanodet@1"}); len(l.Plans) != 2 {
		t.Fatalf("with both: %v", ids(l))
	}
	if w := c.Members()[0]; strings.Join(w.Installed, ",") != "acme/nanodet@1.1.0,nanodet@1" {
		t.Fatalf("member %+v", w)
	}
	// no catalog (embedded) or a worker that does not report: every model is there
	e := NewCluster(0)
	e.Apply([]plan.StreamPlan{flowPlan("a", "")})
	if l := e.Heartbeat(plan.Heartbeat{ID: "local", Cores: 4}); len(l.Plans) != 1 || l.Packages != nil {
		t.Fatalf("embedded: %v %v", ids(l), l.Packages)
	}
}
