package scheduler

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/api/store"
	"github.com/cityeye/cityeye/workers"
)

type recordingWorker struct{ plans []workers.StreamPlan }

func (r *recordingWorker) Apply(p []workers.StreamPlan) { r.plans = p }

func TestReconcileGrantsAndDegradesVisibly(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range []string{"44150200001310000001", "44150200001310000002"} {
		db.CreateStream(ctx, &store.Stream{ID: id, Name: id, URL: "file:///x"})
	}
	add := func(id, stream, alg, params string, enabled bool) {
		if err := db.CreateTask(ctx, &store.Task{ID: id, StreamID: stream, Algorithm: alg, Params: json.RawMessage(params), Enabled: enabled}); err != nil {
			t.Fatal(err)
		}
	}
	add("a", "44150200001310000001", "face_capture", `{"sample_fps":10}`, true)
	add("b", "44150200001310000001", "person_vehicle_capture", `{"sample_fps":10}`, true)
	add("c", "44150200001310000002", "person_vehicle_capture", `{"sample_fps":5}`, true)
	add("d", "44150200001310000002", "face_capture", `{}`, false)

	w := &recordingWorker{}
	s := New(db, w, 100)
	if err := s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.plans) != 2 || len(w.plans[0].Tasks) != 2 || len(w.plans[1].Tasks) != 1 {
		t.Fatalf("plans %+v", w.plans)
	}
	if g, _ := s.Grant("a"); g.Degraded || g.GrantedFPS != 10 {
		t.Fatalf("grant a %+v", g)
	}
	if g, _ := s.Grant("d"); g.Reason != "disabled" || g.GrantedFPS != 0 {
		t.Fatalf("grant d %+v", g)
	}
	// capacity 10 fps for 25 fps of demand: everyone at 40%, and each grant says why
	s.CapacityFPS = 10
	s.Reconcile(ctx)
	g, _ := s.Grant("c")
	if !g.Degraded || g.GrantedFPS != 2 || !strings.Contains(g.Reason, "capacity 10.0 fps < demand 25.0 fps") {
		t.Fatalf("degraded grant %+v", g)
	}
	if w.plans[1].Tasks[0].FPS != 2 {
		t.Fatalf("worker got fps %v", w.plans[1].Tasks[0].FPS)
	}
}
