package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// A task on a canary camera, or in the canary's share of the others, runs the
// canary's version; one that pins a version, or follows another vendor's build,
// is left alone; the share grows with the step and keeps the tasks it had.
func TestCanaryPinsItsTasks(t *testing.T) {
	c := store.Canary{Vendor: "acme", Name: "nanodet", Version: "1.1.0", State: store.CanaryRunning, Cameras: []string{"cam-a"}, Steps: []int{0, 30, 100}}
	follow, _ := algorithms.ParseParams([]byte(`{"models":{"nanodet":"acme/nanodet"}}`))
	pinned, _ := algorithms.ParseParams([]byte(`{"models":{"nanodet":"acme/nanodet@1.0.0"}}`))
	platform, _ := algorithms.ParseParams(nil)
	task := func(id, cam string) store.Task { return store.Task{ID: id, StreamID: cam, Algorithm: "people_flow"} }
	if p := canaryParams([]store.Canary{c}, task("t1", "cam-a"), follow); p.Models["nanodet"] != "acme/nanodet@1.1.0" || follow.Models["nanodet"] != "acme/nanodet" {
		t.Fatalf("camera task: %v (original %v)", p.Models, follow.Models)
	}
	for _, p := range []algorithms.Params{pinned, platform} {
		if got := canaryParams([]store.Canary{c}, task("t1", "cam-a"), p); fmt.Sprint(got.Models) != fmt.Sprint(p.Models) {
			t.Fatalf("%v became %v", p.Models, got.Models)
		}
	}
	in := func(step int) map[string]bool {
		c.Step = step
		out := map[string]bool{}
		for i := range 200 {
			if id := fmt.Sprint("task-", i); InCanary(c, task(id, "cam-b")) {
				out[id] = true
			}
		}
		return out
	}
	none, some, all := in(0), in(1), in(2)
	if len(none) != 0 || len(some) < 40 || len(some) > 80 || len(all) != 200 {
		t.Fatalf("shares at 0/30/100 %%: %d %d %d of 200", len(none), len(some), len(all))
	}
	for id := range some {
		if !all[id] {
			t.Fatalf("%s left the canary as it widened", id)
		}
	}
}

// The monitor rolls a canary back when its version's failed frames on the workers
// cross the limit (and audits it), and does not judge before min_frames.
func TestCanaryMonitorRollsBackOnErrors(t *testing.T) {
	ctx := context.Background()
	db, _ := policeDB(t)
	now := time.Now()
	c := store.Canary{Vendor: "acme", Name: "nanodet", Version: "1.1.0", State: store.CanaryRunning, Steps: []int{10}, StepSeconds: 3600,
		MaxErrorRate: 0.05, MinFrames: 50, StartedAt: now, StepAt: now}
	if err := db.PutCanary(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	cl := NewCluster(0)
	notified := 0
	m := &CanaryMonitor{DB: db, Cluster: cl, Notify: func() { notified++ }}
	beat := func(frames, errs int64) {
		cl.Heartbeat(plan.Heartbeat{ID: "w1", Cores: 1, Batchers: []plan.BatchStats{
			{Model: "acme/nanodet", Version: "1.1.0", Frames: frames, Errors: errs, Batches: frames / 2, BusySec: 1},
			{Model: "acme/nanodet", Version: "1.0.0", Frames: 1000, Errors: 900, Batches: 100, BusySec: 1}, // the published one's troubles are not the canary's
		}})
	}
	beat(40, 20)
	m.Check(ctx)
	if got, _ := db.GetCanary(ctx, "acme", "nanodet"); got.State != store.CanaryRunning {
		t.Fatalf("judged on 40 frames: %+v", got)
	}
	beat(100, 4)
	m.Check(ctx)
	if got, _ := db.GetCanary(ctx, "acme", "nanodet"); got.State != store.CanaryRunning {
		t.Fatalf("4 %% errors is under 5 %%: %+v", got)
	}
	beat(200, 12)
	m.Check(ctx)
	got, _ := db.GetCanary(ctx, "acme", "nanodet")
	if got.State != store.CanaryRolledBack || !strings.Contains(got.Reason, "error rate 0.060 (12 of 200 frames)") || notified != 1 {
		t.Fatalf("after 6 %% errors: %+v, notified %d", got, notified)
	}
	es, _ := db.ListAudit(ctx, store.AuditFilter{Action: "model.canary_rollback", Limit: 10})
	if len(es) != 1 || es[0].UserID != "system" || es[0].Target != "model acme/nanodet@1.1.0" {
		t.Fatalf("audit %+v", es)
	}
}
