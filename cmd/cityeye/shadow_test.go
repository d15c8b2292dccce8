package main

import (
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/testdata/testkit"
)

type shadowReportJSON struct {
	Frames, Matched, Extra, Missed int64
	Agreement                      float64
	PrimaryScores                  [10]int64 `json:"primary_scores"`
	CandidateScores                [10]int64 `json:"candidate_scores"`
	PrimaryMS                      float64   `json:"primary_latency_ms_per_frame"`
	CandidateMS                    float64   `json:"candidate_latency_ms_per_frame"`
	PrimaryCost                    float64   `json:"primary_cost_ms_per_frame"`
	CandidateCost                  float64   `json:"candidate_cost_ms_per_frame"`
	CandidateErrors                int64     `json:"candidate_errors"`
	Workers                        []string
}

// Issue 22 item 2 on the embedded server with its real worker: nanodet@1 (score
// threshold 0.3) runs a people_flow task on vtest.avi; a shadow run of nanodet@9.0.0,
// the same network at threshold 0.5, runs beside it on the same frames for 8 s.
// The report, kept with the version, says how the two agree: the candidate finds a
// subset (matched, missed, never extra), none of its scores is under 0.5 while the
// published version's are, with latency and cost per frame; when the period ends the
// candidate stops running and the published version goes on.
func TestShadowRunOnRealClip(t *testing.T) {
	repo := t.TempDir()
	copyStarter(t, repo, "nanodet")
	if err := (models.Repository{Root: repo}).Publish("nanodet", "1"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir(), "--models", repo, "--loop-files")
	const cam = "44150200001310000021"
	s.addFlowCamera(cam)
	testkit.WaitFor(t, 60*time.Second, "nanodet@1 to run", func() bool { return s.framesAt("nanodet", "1") > 0 })
	s.pushNanodet("9.0.0", 0.5)
	path := "/api/v1/warehouse/models/platform/nanodet/9.0.0/shadow"
	s.post(path, map[string]any{"streams": []string{"44150200001310000099"}, "duration_s": 8}, 400)
	run := s.post(path, map[string]any{"streams": []string{cam}, "duration_s": 8}, 201)
	var runs struct {
		Runs []struct {
			ID, State string
			Report    shadowReportJSON
		}
	}
	testkit.WaitFor(t, 60*time.Second, "the shadow run to end", func() bool {
		s.get(s.url+path, &runs)
		return len(runs.Runs) == 1 && runs.Runs[0].State == "done"
	})
	r := runs.Runs[0].Report
	t.Logf("run %v: %+v", run["id"], r)
	low := func(h [10]int64) (n int64) {
		for _, c := range h[:5] {
			n += c
		}
		return n
	}
	if r.Frames < 4 || r.Matched == 0 || r.Missed == 0 || r.Extra != 0 || r.CandidateErrors != 0 || len(r.Workers) != 1 || r.Workers[0] != "local" {
		t.Fatalf("report %+v", r)
	}
	if low(r.CandidateScores) != 0 || low(r.PrimaryScores) == 0 || r.PrimaryMS <= 0 || r.CandidateMS <= 0 || r.PrimaryCost <= 0 || r.CandidateCost <= 0 {
		t.Fatalf("score distributions or timings: %+v", r)
	}
	// the run is over: the candidate idles, the published version goes on
	cand, prim := s.framesAt("nanodet", "9.0.0"), s.framesAt("nanodet", "1")
	testkit.WaitFor(t, 30*time.Second, "nanodet@1 to go on", func() bool { return s.framesAt("nanodet", "1") > prim+6 })
	if now := s.framesAt("nanodet", "9.0.0"); now > cand+2 {
		t.Fatalf("the candidate still runs after the period: %d → %d frames", cand, now)
	}
	for _, a := range []string{"model.shadow_start", "model.shadow_done"} {
		if len(s.auditDetails(a)) != 1 {
			t.Errorf("%s: %v", a, s.auditDetails(a))
		}
	}
	var rep struct {
		ShadowRuns []struct{ State string } `json:"shadow_runs"`
	}
	if s.get(s.url+"/api/v1/warehouse/models/platform/nanodet/9.0.0/report", &rep); len(rep.ShadowRuns) != 1 || rep.ShadowRuns[0].State != "done" {
		t.Fatalf("the version's report does not keep the run: %+v", rep)
	}
}
