package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// addFlowCamera registers vtest.avi as camera id with a people_flow task (nanodet)
// counting people in the whole frame.
func (s *server) addFlowCamera(id string) {
	s.post("/api/v1/departments", map[string]any{"id": "police", "name": "Public security bureau", "areas": []string{"441500"}}, 201, 409)
	s.post("/api/v1/streams", map[string]any{"device_id": id, "name": "street " + id[16:], "url": "file://" + testdata.Media(s.t, "vtest.avi"),
		"admin_division": "441502", "longitude": 115.37, "latitude": 22.78, "owner_department": "police", "point_type": 1, "sharing": 1})
	s.post("/api/v1/tasks", map[string]any{"device_id": id, "algorithm": "people_flow",
		"params": map[string]any{"sample_fps": 2, "roi": [][]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}})
}

// pushNanodet pushes the starter nanodet as the platform's version with the CLI
// (with another score threshold when threshold > 0) and waits for its validation.
func (s *server) pushNanodet(version string, threshold float64) {
	s.t.Helper()
	m, dir, err := testdata.Repository().Resolve("nanodet", "")
	if err != nil {
		s.t.Fatal(err)
	}
	m.Vendor, m.Version, m.SHA256 = "platform", version, ""
	if threshold > 0 {
		var p map[string]any
		json.Unmarshal(m.Decoder.Params, &p)
		p["score_threshold"] = threshold
		m.Decoder.Params, _ = json.Marshal(p)
	}
	b, _ := json.Marshal(m)
	path := filepath.Join(s.t.TempDir(), "manifest.json")
	os.WriteFile(path, b, 0o644)
	if out := s.cli("model", "push", "--manifest", path, "--model", filepath.Join(dir, m.File)); !strings.Contains(out, "validated") {
		s.t.Fatalf("push %s:\n%s", version, out)
	}
}

// framesAt is how many frames the embedded worker's batcher of model@version analysed.
func (s *server) framesAt(model, version string) int64 {
	var st struct{ Batchers []batcherJSON }
	s.get("/api/v1/stats", &st)
	var n int64
	for _, b := range st.Batchers {
		if b.Model == model && b.Version == version {
			n += b.Frames
		}
	}
	return n
}

func (s *server) auditDetails(action string) []string {
	var out struct {
		Entries []struct {
			UserID string `json:"user_id"`
			Detail string
		}
	}
	s.get(s.url+"/api/v1/audit?action="+url.QueryEscape(action), &out)
	var ds []string
	for _, e := range out.Entries {
		ds = append(ds, e.UserID+": "+e.Detail)
	}
	return ds
}

// Issue 22 item 3 on the embedded server with its real worker and two cameras on
// vtest.avi running nanodet@1: a canary of nanodet@9.0.0 on camera A only, with a
// latency limit the real model cannot meet (1 ms per batch; the induced failure),
// runs on A alone and is rolled back by the monitor, A going back to version 1,
// with the measured latency in the audit log. A second canary with sound limits
// widens from camera A to every task, then is published; every step is audited.
func TestCanaryRollsBackThenPromotes(t *testing.T) {
	repo := t.TempDir()
	copyStarter(t, repo, "nanodet")
	if err := (models.Repository{Root: repo}).Publish("nanodet", "1"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir(), "--models", repo, "--loop-files")
	const camA, camB = "44150200001310000011", "44150200001310000012"
	s.addFlowCamera(camA)
	s.addFlowCamera(camB)
	testkit.WaitFor(t, 60*time.Second, "nanodet@1 to run", func() bool { return s.framesAt("nanodet", "1") > 0 })
	s.pushNanodet("9.0.0", 0)
	canary := "/api/v1/warehouse/models/platform/nanodet/9.0.0/canary"
	s.post(canary, map[string]any{"cameras": []string{"4415"}}, 400)
	s.post(canary, map[string]any{"cameras": []string{camA}, "steps": []int{0}, "step_seconds": 3600, "max_latency_ms": 1, "min_frames": 4}, 201)
	testkit.WaitFor(t, 60*time.Second, "the canary to be rolled back", func() bool {
		var c struct {
			Canary struct{ State, Reason string }
		}
		s.get(s.url+"/api/v1/warehouse/models/platform/nanodet/canary", &c)
		return c.Canary.State == "rolled_back" && len(s.auditDetails("model.canary_rollback")) == 1
	})
	ran := s.framesAt("nanodet", "9.0.0")
	if ran < 4 {
		t.Fatalf("the canary version analysed %d frames before its rollback", ran)
	}
	if d := s.auditDetails("model.canary_rollback"); len(d) != 1 || !strings.HasPrefix(d[0], "system: latency ") || !strings.Contains(d[0], "over 1.0 ms") {
		t.Fatalf("rollback audit %v", d)
	}
	// A is back on version 1: its frames go there, none to 9.0.0
	one := s.framesAt("nanodet", "1")
	testkit.WaitFor(t, 30*time.Second, "version 1 to serve again", func() bool { return s.framesAt("nanodet", "1") > one+4 })
	if now := s.framesAt("nanodet", "9.0.0"); now > ran+8 { // at most a batch or two in flight at the switch
		t.Fatalf("9.0.0 still analyses after the rollback: %d → %d frames", ran, now)
	}
	if p, _, _ := (models.Repository{Root: repo}).Published("nanodet"); p != "1" {
		t.Fatalf("the rollback moved the published version to %s", p)
	}
	t.Logf("rolled back after %d frames on 9.0.0: %v", ran, s.auditDetails("model.canary_rollback"))

	// a sound canary widens from camera A to every task, then is published
	s.post(canary, map[string]any{"cameras": []string{camA}, "steps": []int{0, 100}, "step_seconds": 2, "max_error_rate": 0.01, "min_frames": 4}, 201)
	testkit.WaitFor(t, 90*time.Second, "the canary to be published", func() bool {
		var c struct{ Canary struct{ State string } }
		s.get(s.url+"/api/v1/warehouse/models/platform/nanodet/canary", &c)
		return c.Canary.State == "promoted" && len(s.auditDetails("model.canary_promote")) == 1 // the audit entry follows the state
	})
	if p, _, _ := (models.Repository{Root: repo}).Published("nanodet"); p != "9.0.0" {
		t.Fatalf("promoted but published is %s", p)
	}
	widen, promote := s.auditDetails("model.canary_widen"), s.auditDetails("model.canary_promote")
	if len(widen) != 1 || !strings.Contains(widen[0], "step 1: 100% of the other tasks") || len(promote) != 1 || len(s.auditDetails("model.canary_start")) != 2 {
		t.Fatalf("audit: widen %v promote %v", widen, promote)
	}
	v9 := s.framesAt("nanodet", "9.0.0")
	testkit.WaitFor(t, 30*time.Second, "both cameras on 9.0.0", func() bool { return s.framesAt("nanodet", "9.0.0") > v9+8 })
	t.Logf("widened: %v; promoted: %v", widen, promote)
}
