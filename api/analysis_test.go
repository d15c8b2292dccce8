package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/jobs"
)

// waitAnalysis polls an analysis until it is done or failed.
func (f *fixture) waitAnalysis(id, user string, limit time.Duration) map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		a := f.must("GET", "/api/v1/analyses/"+id, user, "", 200)
		if a["state"] == "done" || a["state"] == "failed" {
			return a
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("analysis %s still %v after %s: %v", id, a["state"], limit, a)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// An offline analysis of a recorded video runs as a background job over a camera the
// department may analyse; its records are ordinary records of task analysis-<id>.
func TestAnalysisOfARecordedVideo(t *testing.T) {
	f := newFixture(t)
	for _, c := range cameras[1:3] {
		f.must("POST", "/api/v1/streams", "admin", c.body(), 201)
	}
	clip := "file://" + testdata.Media(t, "faceclip.mp4")
	body := func(device, url string) string {
		return fmt.Sprintf(`{"device_id":%q,"url":%q,"algorithm":"face_capture","params":{"sample_fps":5}}`, device, url)
	}

	a := f.must("POST", "/api/v1/analyses", "police_op", body(cameras[1].id, clip), 202)
	id := a["id"].(string)
	if a["state"] != "queued" || a["department"] != "police" || a["user_id"] != "police_op" {
		t.Fatalf("created: %v", a)
	}
	got := f.waitAnalysis(id, "police_op", 90*time.Second)
	if got["state"] != "done" || got["error"] != nil {
		t.Fatalf("analysis: %v", got)
	}
	n := int(got["records"].(float64))
	if n < 2 || got["frames_analysed"].(float64) < 1 || got["started_at"] == nil || got["finished_at"] == nil {
		t.Fatalf("analysis done with %d records: %v", n, got)
	}
	t.Logf("analysis: %v", got)
	task := "analysis-" + id
	recs, total, err := f.db.ListRecords(context.Background(), store.RecordFilter{TaskID: task, Scope: auth.Scope{All: true}, Limit: 1000})
	if err != nil || total != n || len(recs) != n {
		t.Fatalf("stored records of %s: %d (%d) %v, analysis says %d", task, total, len(recs), err, n)
	}
	for _, r := range recs {
		if r.Type != "Face" || r.DeviceID != cameras[1].id || r.DeptID != "police" || r.Division != cameras[1].division {
			t.Fatalf("record %+v", r)
		}
	}
	if out := f.must("GET", "/api/v1/records?task_id="+task, "police_op", "", 200); int(out["total"].(float64)) != n {
		t.Errorf("police_op sees %v records of %s, want %d", out["total"], task, n)
	}
	if out := f.must("GET", "/api/v1/records?task_id="+task, "water_op", "", 200); int(out["total"].(float64)) != 0 {
		t.Errorf("water_op sees %v records of police's analysis", out["total"])
	}
	// listing and reading: the department's own, admins all
	if l := f.must("GET", "/api/v1/analyses", "police_op", "", 200); l["total"].(float64) != 1 {
		t.Errorf("police lists %v", l)
	}
	if l := f.must("GET", "/api/v1/analyses", "market_op", "", 200); l["total"].(float64) != 0 {
		t.Errorf("market lists %v", l)
	}
	f.must("GET", "/api/v1/analyses", "admin", "", 200)
	f.must("GET", "/api/v1/analyses/"+id, "market_op", "", 404)
	f.must("GET", "/api/v1/analyses/"+id, "admin", "", 200)
	// running the job again (at least once) leaves a finished analysis alone
	if err := f.srv.Jobs.Enqueue(context.Background(), jobs.Job{Kind: workers.KindAnalysis, Key: id}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if again := f.must("GET", "/api/v1/analyses/"+id, "police_op", "", 200); again["finished_at"] != got["finished_at"] || again["records"] != got["records"] {
		t.Errorf("a second run changed it: %v, was %v", again, got)
	}

	// bad input
	for _, u := range []string{"ftp://example.com/v.mp4", "rtsp://10.0.0.1/live", "file://relative.mp4", ""} {
		code, out := f.do("POST", "/api/v1/analyses", "police_op", body(cameras[1].id, u))
		if code != 400 || out["field"] != "url" || !strings.Contains(fmt.Sprint(out["error"]), "url") {
			t.Errorf("url %q: %d %v", u, code, out)
		}
	}
	if code, out := f.do("POST", "/api/v1/analyses", "police_op", `{"device_id":"`+cameras[1].id+`","url":"`+clip+`","algorithm":"nope"}`); code != 400 || out["field"] != "algorithm" {
		t.Errorf("unknown algorithm: %d %v", code, out)
	}
	// market may not analyse police's camera that is not shared: validateTask decides
	if code, out := f.do("POST", "/api/v1/analyses", "market_op", body(cameras[2].id, clip)); (code != 403 && code != 400) || out["field"] != "device_id" {
		t.Errorf("market_op on a not-shared camera: %d %v", code, out)
	}
	f.must("POST", "/api/v1/analyses", "market_analyst", body(cameras[1].id, clip), 403) // analysts may not create

	// a missing file in the import folder ends failed, with the reason
	a = f.must("POST", "/api/v1/analyses", "police_op", body(cameras[1].id, "file://"+testdata.MediaDir()+"/cityeye-missing.mp4"), 202)
	got = f.waitAnalysis(a["id"].(string), "police_op", 30*time.Second)
	t.Logf("missing file: %v", got)
	if got["state"] != "failed" || !strings.Contains(fmt.Sprint(got["error"]), "missing.mp4") {
		t.Fatalf("missing file: %v", got)
	}

	// an http(s) video is read once, to its end, not reconnected to forever
	hs := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(testdata.Media(t, "faceclip.mp4")))))
	defer hs.Close()
	a = f.must("POST", "/api/v1/analyses", "police_op", body(cameras[1].id, hs.URL+"/faceclip.mp4"), 202)
	got = f.waitAnalysis(a["id"].(string), "police_op", 90*time.Second)
	t.Logf("http: %v", got)
	if got["state"] != "done" || got["records"].(float64) < 2 {
		t.Fatalf("http video: %v", got)
	}
	// an http video that cannot be fetched ends failed
	a = f.must("POST", "/api/v1/analyses", "police_op", body(cameras[1].id, "http://127.0.0.1:1/none.mp4"), 202)
	if got = f.waitAnalysis(a["id"].(string), "police_op", 60*time.Second); got["state"] != "failed" || got["error"] == nil {
		t.Fatalf("unreachable http video: %v", got)
	}
}
