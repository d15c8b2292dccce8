package scheduler

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// localWorker records what the embedded worker was told to run.
type localWorker struct{ recordingWorker }

func (*localWorker) Status() map[string]plan.StreamStatus { return nil }
func (*localWorker) Batchers() []plan.BatchStats          { return nil }
func (*localWorker) Shadows() []plan.ShadowStats          { return nil }
func (*localWorker) Spool() *plan.SpoolStats              { return nil }

// TestEmbeddedPlansLikeDistributed: embedded mode places with the cluster's planner,
// this machine as its one worker. With twice the demand a one-core machine is sized for
// (measured nanodet 9 frames/s per core, 85 % target), the low-priority task loses fps
// first and the high-priority one keeps its rate; the grants say so with the planner's
// reasons, the worker gets the granted rates, and GET /api/v1/workers' source (the
// cluster) shows the machine as "local".
func TestEmbeddedPlansLikeDistributed(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.CreateDepartment(ctx, &store.Department{ID: "police", Name: "Police", Areas: []string{"441500"}})
	streams := []string{"44150200001310000001", "44150200001310000002", "44150200001310000003"}
	for _, id := range streams {
		db.CreateStream(ctx, &store.Stream{ID: id, Name: id, URL: "file:///x", AdminDivision: "441502", OwnerDept: "police"})
	}
	add := func(id, stream string, priority int) {
		if err := db.CreateTask(ctx, &store.Task{ID: id, StreamID: stream, DeptID: "police", Algorithm: "person_vehicle_capture",
			Params: json.RawMessage(`{"sample_fps":5}`), Enabled: true, Priority: priority}); err != nil {
			t.Fatal(err)
		}
	}
	add("low", streams[0], store.PriorityLow)
	add("normal", streams[1], store.PriorityNormal)
	add("high", streams[2], store.PriorityHigh)

	w := &localWorker{}
	c := NewCluster(0)
	l := NewLocal(c, w, 0)
	l.Cores = 1
	s := New(db, l, 0)
	s.Planner = c
	if err := s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	g := s.Grants()
	t.Logf("grants %+v", g)
	if hi := g["high"]; hi.State != "ok" || hi.GrantedFPS != 5 {
		t.Fatalf("high priority: %+v", hi)
	}
	lo := g["low"]
	if lo.State == "ok" || lo.GrantedFPS >= g["normal"].GrantedFPS || !lo.Degraded || lo.Reason == "" {
		t.Fatalf("low priority should lose fps first: low %+v normal %+v", lo, g["normal"])
	}
	if lo.Priority != store.PriorityLow {
		t.Fatalf("grant priority %d", lo.Priority)
	}
	got := map[string]float64{}
	for _, p := range w.plans {
		for _, tp := range p.Tasks {
			got[tp.Task.ID] = tp.FPS
		}
	}
	if got["high"] != 5 || (lo.State == "degraded" && got["low"] != lo.GrantedFPS) {
		t.Fatalf("the worker runs %v for grants %+v", got, g)
	}
	if m := c.Members(); len(m) != 1 || m[0].ID != LocalID || m[0].Cores != 1 || !m[0].Alive {
		t.Fatalf("members %+v", m)
	}
}
