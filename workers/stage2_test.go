package workers

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	_ "github.com/cityeye/cityeye/algorithms/alert"
	"github.com/cityeye/cityeye/algorithms/kitchen"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata/vendorgraphs"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// stagedTask builds a task run of algorithm alg with params (JSON) as buildTasks does.
func stagedTask(t *testing.T, id, alg, params string) *taskRun {
	t.Helper()
	p, err := algorithms.ParseParams(json.RawMessage(params))
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := algorithms.Lookup(alg)
	a, err := spec.New(id, p)
	if err != nil {
		t.Fatal(err)
	}
	return &taskRun{plan: plan.TaskPlan{Task: store.Task{ID: id, Algorithm: alg}, Params: p, FPS: 5}, alg: a,
		models: modelKeys(a.Models(), p), stages: stagesOf(a, p)}
}

// Issue 23 item 3: second-stage models on crops. The kitchen in person_hat mode and a
// detector_alert task declaring the same hat stage share it: each tracked person's
// head crop is classified once per hat_every (3) frames for both tasks together, the
// verdict attaches to that person's detection for each task, and the kitchen raises
// kitchen.no_hat on the dark-haired cook's head only.
func TestSecondStageSharedPerTrack(t *testing.T) {
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	if _, err := vendorgraphs.HatClassifier().Install(repo); err != nil {
		t.Fatal(err)
	}
	w := New(context.Background(), Config{Repo: repo, Engine: engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1},
		BatchWait: 20 * time.Millisecond, ModelCheck: -1}, nil)
	defer w.Close()

	const pin = `"models":{"hat-classifier":"acme/hat-classifier"}`
	cook := stagedTask(t, "kitchen", kitchen.Name, `{`+pin+`,"options":{"detector":"person_hat","hat_every":3}}`)
	same := stagedTask(t, "alert", "detector_alert", `{`+pin+`,"stage2":[{"name":"hat","model":"hat-classifier","on":"nanodet",
		"classes":["person"],"region":[0.2,0,0.8,0.22],"padding":0.1,"min_size":8,"every":3}],
		"options":{"model":"nanodet","rules":[{"kind":"kitchen.no_hat_seen","labels":["hat:head_no_hat"]}]}}`)
	if len(cook.stages) != 1 || cook.stages[0].key != same.stages[0].key || cook.models["nanodet"] != "nanodet" {
		t.Fatalf("stages %+v and %+v are not one", cook.stages, same.stages)
	}
	p := &pipeline{w: w, stages: map[string]*stageRun{}, tasks: []*taskRun{cook, same}}

	// two cooks: a white hat over one, dark hair over the other
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 90, 90, 0), 360, 640, gocv.MatTypeCV8UC3)
	defer frame.Close()
	hatted := decode.Detection{Label: "person", Score: 0.9, Box: decode.Box{X1: 100, Y1: 60, X2: 180, Y2: 300}}
	bare := decode.Detection{Label: "person", Score: 0.9, Box: decode.Box{X1: 400, Y1: 60, X2: 480, Y2: 300}}
	gocv.Rectangle(&frame, image.Rect(100, 50, 180, 115), color.RGBA{250, 250, 250, 0}, -1)
	gocv.Rectangle(&frame, image.Rect(400, 50, 480, 115), color.RGBA{20, 20, 20, 0}, -1)

	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	var alerts []algorithms.Alert
	for i := range 6 {
		f := source.Frame{Mat: frame, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond), Seq: uint64(i)}
		dets := map[string][]decode.Detection{"nanodet": {hatted, bare}}
		results := p.runStages(context.Background(), f, "", []*taskRun{cook, same}, dets)
		for _, tr := range []*taskRun{cook, same} {
			got := attach(tr, dets, results)["nanodet"]
			if !got[0].Has("hat", vendorgraphs.Hat) || !got[1].Has("hat", vendorgraphs.NoHat) {
				t.Fatalf("frame %d, task %s: verdicts %+v / %+v", i, tr.plan.Task.ID, got[0].Stage2, got[1].Stage2)
			}
			out := tr.alg.Process(algorithms.Frame{Mat: frame, Time: f.Time}, attach(tr, dets, results))
			alerts = append(alerts, out.Alerts...)
		}
		if dets["nanodet"][0].Stage2 != nil {
			t.Fatal("attach changed the shared detections")
		}
	}
	b, err := w.batcher("acme/hat-classifier", "")
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Frames != 4 {
		t.Errorf("hat classifier ran %d crops, want 4 (2 persons × frames 1 and 4, shared by both tasks)", st.Frames)
	}
	kinds := map[string]int{}
	for _, a := range alerts {
		kinds[a.Kind]++
		if a.Kind == "kitchen.no_hat" && (len(a.Boxes) != 1 || a.Boxes[0].Box.X1 < 400) {
			t.Errorf("no_hat on %+v, want the bare-headed cook's head only", a.Boxes)
		}
		a.Frame.Close()
	}
	if kinds["kitchen.no_hat"] != 1 || kinds["kitchen.no_hat_seen"] != 1 {
		t.Errorf("alerts %v, want one kitchen.no_hat (3 of 5 frames, then cooldown) and one kitchen.no_hat_seen", kinds)
	}
}

// Crops: the declared region of the box, padded, inside the frame; too small ones skipped.
func TestCropOf(t *testing.T) {
	frame := gocv.NewMatWithSize(100, 200, gocv.MatTypeCV8UC3)
	defer frame.Close()
	region := [4]float64{0.2, 0, 0.8, 0.25}
	c, ok := cropOf(frame, decode.Box{X1: 10, Y1: 0, X2: 60, Y2: 80}, algorithms.Stage2{Region: &region, Padding: 0.1})
	if !ok || c.Cols() != 36 || c.Rows() != 22 { // x 20..50 ± 3, y 0..20 + 2 (clipped at the top)
		t.Fatalf("crop %dx%d ok=%v", c.Cols(), c.Rows(), ok)
	}
	c.Close()
	if _, ok := cropOf(frame, decode.Box{X1: 10, Y1: 10, X2: 20, Y2: 20}, algorithms.Stage2{MinSize: 16}); ok {
		t.Fatal("a 10-pixel crop passed min_size 16")
	}
}
