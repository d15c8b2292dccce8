package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/api/objects"
	"github.com/cityeye/cityeye/api/store"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/workers"
)

type noWorker struct{}

func (noWorker) Apply([]workers.StreamPlan) {}

func newServer(t *testing.T) (*httptest.Server, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	objs, _ := objects.NewLocal(filepath.Join(dir, "objects"), "")
	w := workers.New(context.Background(), workers.Config{}, nil)
	s := &api.Server{DB: db, Objects: objs, Scheduler: scheduler.New(db, noWorker{}, 10), Worker: w, Repo: models.Repository{Root: dir}, Started: time.Now()}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, db
}

func do(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

const goodStream = `{"device_id":"44150200001310000001","name":"gate","url":"rtsp://127.0.0.1:1/none","admin_division":"441502","longitude":115.3,"latitude":22.7,"owner_department":"police","point_type":1,"sharing":1}`

func withField(field string, value any) string {
	var m map[string]any
	json.Unmarshal([]byte(goodStream), &m)
	m[field] = value
	b, _ := json.Marshal(m)
	return string(b)
}

func TestBadInputIsA4xxNamingTheField(t *testing.T) {
	ts, db := newServer(t)
	u := ts.URL + "/api/v1"
	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"short device id", "POST", "/streams", withField("device_id", "4415020000131000001"), 400, "device_id"},
		{"letters in device id", "POST", "/streams", withField("device_id", "4415020000131000000A"), 400, "device_id"},
		{"bad province", "POST", "/streams", withField("device_id", "99150200001310000001"), 400, "device_id"},
		{"not a camera type", "POST", "/streams", withField("device_id", "44150200002000000001"), 400, "device_id"},
		{"bad scheme", "POST", "/streams", withField("url", "ftp://x/y"), 400, "url"},
		{"relative file", "POST", "/streams", withField("url", "file://video.mp4"), 400, "url"},
		{"bad division", "POST", "/streams", withField("admin_division", "4415"), 400, "admin_division"},
		{"latitude range", "POST", "/streams", withField("latitude", 91), 400, "latitude"},
		{"point type", "POST", "/streams", withField("point_type", 7), 400, "point_type"},
		{"wrong type", "POST", "/streams", withField("longitude", "east"), 400, "longitude"},
		{"unknown field", "POST", "/streams", withField("colour", "red"), 400, "colour"},
		{"malformed json", "POST", "/streams", `{"device_id":`, 400, "body"},
		{"unknown algorithm", "POST", "/tasks", `{"device_id":"44150200001310000001","algorithm":"mind_reading"}`, 400, "algorithm"},
		{"task on unknown stream", "POST", "/tasks", `{"device_id":"44150200001310000009","algorithm":"face_capture"}`, 400, "device_id"},
		{"invalid roi", "POST", "/tasks", `{"device_id":"44150200001310000001","algorithm":"face_capture","params":{"roi":[[0,0],[1,1]]}}`, 400, "params.roi"},
		{"roi out of range", "POST", "/tasks", `{"device_id":"44150200001310000001","algorithm":"face_capture","params":{"roi":[[0,0],[1.5,0],[1,1]]}}`, 400, "params.roi[1]"},
		{"bad fps", "POST", "/tasks", `{"device_id":"44150200001310000001","algorithm":"face_capture","params":{"sample_fps":-1}}`, 400, "params.sample_fps"},
		{"bad record type", "GET", "/records?type=Cat", "", 400, "type"},
		{"bad time", "GET", "/records?from=yesterday", "", 400, "from"},
		{"bad limit", "GET", "/records?limit=100000", "", 400, "limit"},
		{"oversize body", "POST", "/streams", `{"name":"` + strings.Repeat("x", api.MaxBody) + `"}`, 413, "body"},
		{"missing record", "GET", "/records/123", "", 404, ""},
		{"missing snapshot", "GET", "/objects/snapshots/nope.jpg", "", 404, ""},
		{"unknown route", "GET", "/nothing", "", 404, ""},
	}
	// the stream the task cases refer to
	if code, body := do(t, "POST", u+"/streams", goodStream); code != 201 {
		t.Fatalf("good stream refused: %d %v", code, body)
	}
	for _, c := range cases {
		code, body := do(t, c.method, u+c.path, c.body)
		if code != c.status || body["error"] == nil || body["error"] == "" {
			t.Errorf("%s: got %d %v, want %d with an error message", c.name, code, body, c.status)
			continue
		}
		if c.field != "" && body["field"] != c.field {
			t.Errorf("%s: field %v, want %s (%v)", c.name, body["field"], c.field, body["error"])
		}
	}
	// nothing already accepted was lost by the rejected requests
	sts, _ := db.ListStreams(context.Background())
	if len(sts) != 1 || sts[0].Name != "gate" {
		t.Fatalf("streams after bad input: %+v", sts)
	}
	if code, _ := do(t, "POST", u+"/streams", goodStream); code != 409 {
		t.Fatalf("duplicate stream: %d", code)
	}
}

func TestCRUDAndUnreachableStreamTaskAccepted(t *testing.T) {
	ts, _ := newServer(t)
	u := ts.URL + "/api/v1"
	do(t, "POST", u+"/streams", goodStream)
	code, task := do(t, "POST", u+"/tasks", `{"device_id":"44150200001310000001","algorithm":"face_capture","params":{"sample_fps":2}}`)
	if code != 201 || task["id"] == "" || task["enabled"] != true {
		t.Fatalf("task on an unreachable stream must be accepted: %d %v", code, task)
	}
	id := task["id"].(string)
	if code, got := do(t, "PUT", u+"/tasks/"+id, `{"enabled":false}`); code != 200 || got["enabled"] != false {
		t.Fatalf("update: %d %v", code, got)
	}
	if code, list := do(t, "GET", u+"/tasks?device_id=44150200001310000001", ""); code != 200 || list["total"].(float64) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	if code, _ := do(t, "DELETE", u+"/tasks/"+id, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := do(t, "GET", u+"/tasks/"+id, ""); code != 404 {
		t.Fatalf("deleted task: %d", code)
	}
	if code, st := do(t, "GET", u+"/streams/44150200001310000001", ""); code != 200 || st["status"] == nil {
		t.Fatalf("stream: %d %v", code, st)
	}
}

// The OpenAPI document lists exactly the routes the router serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts, _ := newServer(t)
	code, doc := do(t, "GET", ts.URL+"/openapi.json", "")
	if code != 200 || doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi: %d", code)
	}
	var documented []string
	for p, item := range doc["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	gin.SetMode(gin.ReleaseMode)
	var served []string
	s := &api.Server{}
	for _, r := range s.Handler().(*gin.Engine).Routes() {
		p := r.Path
		for _, part := range strings.Split(p, "/") {
			if strings.HasPrefix(part, ":") || strings.HasPrefix(part, "*") {
				p = strings.Replace(p, part, "{"+part[1:]+"}", 1)
			}
		}
		served = append(served, r.Method+" "+p)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("documented:\n%s\nserved:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	if len(served) < 15 {
		t.Fatalf("only %d routes", len(served))
	}
}
