package workers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
	"github.com/cityeye/cityeye/workers/plan"
)

// TestPlanChurnKeepsStreamAndTracks: a live camera (a paced looping file) with a parked
// car always in view (a detector that finds it in every frame) runs a capture task while
// three tasks are added and two removed, one plan change at a time, and the first
// task's fps is lowered. The decoder is never reopened and every task records the car
// exactly once: no track was cut by a change. (Its plate reads fail: no OCR model here.)
func TestPlanChurnKeepsStreamAndTracks(t *testing.T) {
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	installDetector(t, repo, "nanodet", "1", constantDetector(t, 0.9), []string{"car"})
	rec := newTestRecorder(t)
	w := New(context.Background(), Config{Repo: repo, Engine: engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1},
		BatchWait: 2 * time.Millisecond, LoopFiles: true, ModelCheck: -1}, rec)
	defer w.Close()

	stream := recStream
	stream.URL = testdata.Media(t, "vtest.avi")
	task := func(id string, fps float64) plan.TaskPlan {
		return plan.TaskPlan{Task: store.Task{ID: id, StreamID: stream.ID, DeptID: "police", Algorithm: "person_vehicle_capture"},
			Params: algorithms.Params{SampleFPS: fps}, FPS: fps}
	}
	captures := func(id string) int64 {
		for _, ts := range w.Status()[stream.ID].Tasks {
			if ts.TaskID == id {
				return ts.Captures
			}
		}
		return 0
	}
	apply := func(tasks ...plan.TaskPlan) {
		w.Apply([]plan.StreamPlan{{Stream: stream, Tasks: tasks}})
	}
	recorded := func(ids ...string) {
		for _, id := range ids {
			testkit.WaitFor(t, 20*time.Second, "a capture by "+id, func() bool { return captures(id) > 0 })
		}
	}

	a, b, c, d := task("a", 5), task("b", 5), task("c", 2), task("d", 1)
	apply(a)
	recorded("a")
	w.mu.Lock()
	p := w.pipelines[stream.ID]
	w.mu.Unlock()
	src := p.src
	apply(a, b)
	recorded("b")
	apply(a, b, c)
	recorded("c")
	apply(a, b, c, d)
	recorded("d")
	apply(a, d) // b and c removed
	a.FPS = 3   // a new grant for a
	apply(a, d)
	time.Sleep(500 * time.Millisecond)

	w.mu.Lock()
	same := w.pipelines[stream.ID] == p && p.src == src
	w.mu.Unlock()
	st := src.Status()
	if opened := w.opened.Load(); opened != 1 || !same || st.Reconnects != 0 || st.Loops != 0 {
		t.Errorf("decoder reopened: %d opens, same pipeline %v, status %+v", opened, same, st)
	}
	var granted []string
	for _, ts := range w.Status()[stream.ID].Tasks {
		granted = append(granted, fmt.Sprintf("%s@%g", ts.TaskID, ts.GrantedFPS))
	}
	if fmt.Sprint(granted) != "[a@3 d@1]" {
		t.Fatalf("tasks after the changes: %v", granted)
	}
	w.Apply(nil) // stop: objects in view get their final records

	recs, _, err := rec.DB.ListRecords(context.Background(), store.RecordFilter{Scope: auth.Scope{All: true}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]map[string]bool{}
	for _, r := range recs {
		if per[r.TaskID] == nil {
			per[r.TaskID] = map[string]bool{}
		}
		per[r.TaskID][r.ID] = true
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		if n := len(per[id]); n != 1 {
			t.Errorf("task %s: %d records for the one car in view, want 1", id, n)
		}
	}
	if len(recs) != 4 {
		t.Errorf("%d records in all, want 4 (one per task)", len(recs))
	}
}
