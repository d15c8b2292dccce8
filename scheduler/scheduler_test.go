package scheduler

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

type recordingWorker struct{ plans []plan.StreamPlan }

func (r *recordingWorker) Apply(p []plan.StreamPlan) { r.plans = p }

func TestReconcileGrantsAndDegradesVisibly(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.CreateDepartment(ctx, &store.Department{ID: "police", Name: "Police", Areas: []string{"441500"}})
	for _, id := range []string{"44150200001310000001", "44150200001310000002"} {
		db.CreateStream(ctx, &store.Stream{ID: id, Name: id, URL: "file:///x", AdminDivision: "441502", OwnerDept: "police"})
	}
	add := func(id, stream, alg, params string, enabled bool) {
		if err := db.CreateTask(ctx, &store.Task{ID: id, StreamID: stream, DeptID: "police", Algorithm: alg, Params: json.RawMessage(params), Enabled: enabled}); err != nil {
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
}

// A task runs only while its department may analyse the camera, and within its
// department's quotas; otherwise its grant says why.
func TestReconcileRespectsSharingAndQuotas(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	db.CreateDepartment(ctx, &store.Department{ID: "police", Areas: []string{"441500"}})
	db.CreateDepartment(ctx, &store.Department{ID: "market", Areas: []string{"441500"}, Quota: store.Quota{Tasks: 2, FPSShare: 0.2}})
	cams := map[string]int{"44150200001310000001": auth.SharingConditional, "44150200001310000002": auth.SharingUnconditional, "44150200001310000003": auth.SharingNone}
	for id, sh := range cams {
		db.CreateStream(ctx, &store.Stream{ID: id, URL: "file:///x", AdminDivision: "441502", OwnerDept: "police", Sharing: sh})
	}
	for i, c := range []struct{ id, cam, alg, fps string }{
		{"cond", "44150200001310000001", "face_capture", "2"},
		{"uncond", "44150200001310000002", "face_capture", "4"},
		{"none", "44150200001310000003", "face_capture", "2"},
		{"uncond2", "44150200001310000002", "person_vehicle_capture", "4"},
		{"overquota", "44150200001310000002", "person_vehicle_capture", "1"},
	} {
		task := &store.Task{ID: c.id, StreamID: c.cam, DeptID: "market", Algorithm: c.alg, Params: json.RawMessage(`{"sample_fps":` + c.fps + `}`), Enabled: true,
			CreatedAt: now.Add(time.Duration(i) * time.Second)}
		if err := db.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // creation order decides who is over quota
	}
	w := &recordingWorker{}
	s := New(db, w, 20)
	s.Now = func() time.Time { return now }
	reason := func(id string) string { g, _ := s.Grant(id); return g.Reason }
	s.Reconcile(ctx)
	if r := reason("cond"); !strings.Contains(r, "suspended") || !strings.Contains(r, "apply to police") {
		t.Errorf("conditional camera without a grant: %q", r)
	}
	if r := reason("none"); !strings.Contains(r, "not shared") {
		t.Errorf("unshared camera: %q", r)
	}
	if r := reason("overquota"); !strings.Contains(r, "quota of 2 tasks") {
		t.Errorf("third task of a 2-task quota: %q", r)
	}
	// market's two running tasks ask 8 fps; its share is 20% of 20 = 4 fps
	g, _ := s.Grant("uncond")
	if !g.Degraded || g.GrantedFPS != 2 || !strings.Contains(g.Reason, "inference share 20% of 20.0 fps = 4.0 fps < its demand 8.0 fps") {
		t.Errorf("fps share: %+v", g)
	}

	// a grant for the conditional camera (face_capture only) lets the task run and
	// stamps the grant on its plan; withdrawal suspends it again
	a := &store.Application{ID: "g1", DeviceID: "44150200001310000001", DeptID: "market", OwnerDept: "police", Reason: "food safety",
		Rights: []auth.Right{auth.RightAnalyse, auth.RightRecords}, Algorithms: []string{"face_capture"}, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(24 * time.Hour), Deadline: now.Add(time.Hour)}
	db.CreateApplication(ctx, a)
	if _, err := db.Decide(ctx, "g1", true, "police-admin", "", now); err != nil {
		t.Fatal(err)
	}
	db.UpdateTask(ctx, &store.Task{ID: "uncond2", Algorithm: "person_vehicle_capture", Params: json.RawMessage(`{"sample_fps":4}`), Enabled: false})
	s.Reconcile(ctx)
	if r := reason("cond"); strings.Contains(r, "suspended") {
		t.Fatalf("granted task still suspended: %q", r)
	}
	var plan *plan.TaskPlan
	for _, sp := range w.plans {
		for i := range sp.Tasks {
			if sp.Tasks[i].Task.ID == "cond" {
				plan = &sp.Tasks[i]
			}
		}
	}
	if plan == nil || plan.GrantID != "g1" {
		t.Fatalf("granted task's plan %+v", plan)
	}
	if _, err := db.Withdraw(ctx, "g1", "police-admin", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return now.Add(2 * time.Minute) }
	s.Reconcile(ctx)
	if r := reason("cond"); !strings.Contains(r, "suspended") {
		t.Fatalf("task under a withdrawn grant still runs: %q", r)
	}
}
