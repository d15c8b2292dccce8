package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/jobs"
	"github.com/cityeye/cityeye/workers/plan"
)

type noWorker struct{}

func (noWorker) Apply([]plan.StreamPlan) {}

// fixture is a server with the platform office, three departments and one user of
// every role, each with a token (tok[user id]).
type fixture struct {
	t    *testing.T
	dir  string // holds the SQLite database c.db and the objects
	url  string
	db   *store.DB
	srv  *api.Server
	objs objects.Store
	tok  map[string]string
	now  time.Time
}

// newFixture configures what a platform administrator would: the test media folder
// as the import folder for file:// sources, and loopback as an allowed outbound
// target (the tests' webhook receivers and video servers run on 127.0.0.1). opts
// change the configuration before the server starts.
func newFixture(t *testing.T, opts ...func(*api.Server)) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.SetStreamKey(context.Background(), []byte("fedcba9876543210fedcba9876543210")); err != nil {
		t.Fatal(err)
	}
	objs, _ := objects.NewLocal(filepath.Join(dir, "objects"), "")
	w := workers.New(context.Background(), workers.Config{}, nil)
	f := &fixture{t: t, dir: dir, db: db, objs: objs, tok: map[string]string{}, now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	sched := scheduler.New(db, noWorker{}, 10)
	sched.Now = func() time.Time { return f.now }
	f.srv = &api.Server{DB: db, Objects: objs, Scheduler: sched, Worker: w, Repo: testdata.PrivateRepository(t, filepath.Join(dir, "models")), Started: time.Now(),
		WatermarkKey: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return f.now },
		ImportDirs: []string{testdata.MediaDir()}, Outbound: netguard.MustNew("127.0.0.1/32")}
	for _, o := range opts {
		o(f.srv)
	}
	q := jobs.NewInProcess(2)
	q.RetryDelay = func(int, error) time.Duration { return 100 * time.Millisecond }
	q.MaxRetry = 100
	f.srv.Jobs = q
	f.srv.RegisterJobs()
	jctx, jcancel := context.WithCancel(context.Background())
	q.Start(jctx)
	f.srv.RunRelay(jctx)
	t.Cleanup(func() { jcancel(); q.Close() })
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	f.url = ts.URL
	tok, created, err := api.Bootstrap(context.Background(), db, 0)
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	f.tok["admin"] = tok
	for _, d := range []string{
		`{"id":"police","name":"Public security bureau","areas":["441500"]}`,
		`{"id":"market","name":"Market supervision","areas":["441502"]}`,
		`{"id":"water","name":"Water affairs (Shenzhen)","areas":["440300"]}`,
		`{"id":"acme","name":"Acme AI (vendor)","areas":["441500"]}`,
	} {
		f.must("POST", "/api/v1/departments", "admin", d, 201)
	}
	for _, u := range [][3]string{
		{"police_admin", "police", "dept_admin"}, {"police_op", "police", "operator"},
		{"market_admin", "market", "dept_admin"}, {"market_op", "market", "operator"}, {"market_analyst", "market", "analyst"},
		{"market_sub", "market", "subscriber"}, {"water_op", "water", "operator"}, {"vendor", "acme", "vendor"},
	} {
		f.must("POST", "/api/v1/users", "admin", fmt.Sprintf(`{"id":%q,"name":%q,"department":%q,"role":%q}`, u[0], u[0], u[1], u[2]), 201)
		f.tok[u[0]] = f.must("POST", "/api/v1/users/"+u[0]+"/tokens", "admin", `{"name":"test"}`, 201)["token"].(string)
	}
	return f
}

// do sends a request as user (empty: no token) and decodes the JSON answer.
func (f *fixture) do(method, path, user, body string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tok[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (f *fixture) must(method, path, user, body string, status int) map[string]any {
	f.t.Helper()
	code, out := f.do(method, path, user, body)
	if code != status {
		f.t.Fatalf("%s %s as %s: %d %v, want %d", method, path, user, code, out, status)
	}
	return out
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
	f := newFixture(t)
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
		{"bad area", "POST", "/departments", `{"id":"x1","name":"x","areas":["4415"]}`, 400, "areas[0]"},
		{"bad department id", "POST", "/departments", `{"id":"X Y","name":"x","areas":["441500"]}`, 400, "id"},
		{"bad fps share", "POST", "/departments", `{"id":"x2","name":"x","areas":["441500"],"quota":{"fps_share":2}}`, 400, "quota.fps_share"},
		{"bad role", "POST", "/users", `{"id":"u1","name":"u","department":"police","role":"king"}`, 400, "role"},
		{"user of unknown department", "POST", "/users", `{"id":"u2","name":"u","department":"nope","role":"analyst"}`, 400, "department"},
		{"unknown owner department", "POST", "/streams", withField("owner_department", "nope"), 400, "owner_department"},
		{"camera outside owner's areas", "POST", "/streams", withField("admin_division", "440305"), 400, "admin_division"},
		{"bad token expiry", "POST", "/users/police_op/tokens", `{"expires_in_days":-1}`, 400, "expires_in_days"},
		{"bad audit id", "GET", "/audit/abc", "", 400, "id"},
	}
	// the stream the task cases refer to
	f.must("POST", "/api/v1/streams", "admin", goodStream, 201)
	for _, c := range cases {
		path := c.path
		if path != "/nothing" {
			path = "/api/v1" + path
		}
		code, body := f.do(c.method, path, "admin", c.body)
		if code != c.status || body["error"] == nil || body["error"] == "" {
			t.Errorf("%s: got %d %v, want %d with an error message", c.name, code, body, c.status)
			continue
		}
		if c.field != "" && body["field"] != c.field {
			t.Errorf("%s: field %v, want %s (%v)", c.name, body["field"], c.field, body["error"])
		}
	}
	// nothing already accepted was lost by the rejected requests
	sts, _ := f.db.ListStreams(context.Background(), auth.Scope{All: true}, f.now)
	if len(sts) != 1 || sts[0].Name != "gate" {
		t.Fatalf("streams after bad input: %+v", sts)
	}
	f.must("POST", "/api/v1/streams", "admin", goodStream, 409)
}

func TestCRUDAndUnreachableStreamTaskAccepted(t *testing.T) {
	f := newFixture(t)
	u := "/api/v1"
	do := func(_ *testing.T, method, path, body string) (int, map[string]any) {
		return f.do(method, path, "police_op", body)
	}
	do(t, "POST", u+"/streams", goodStream)
	code, task := do(t, "POST", u+"/tasks", `{"device_id":"44150200001310000001","algorithm":"face_capture","params":{"sample_fps":2}}`)
	if code != 201 || task["id"] == "" || task["enabled"] != true {
		t.Fatalf("task on an unreachable stream must be accepted: %d %v", code, task)
	}
	id := task["id"].(string)
	if task["priority"] != 0.0 {
		t.Fatalf("default priority %v, want 0 (normal)", task["priority"])
	}
	if code, got := do(t, "PUT", u+"/tasks/"+id, `{"enabled":false}`); code != 200 || got["enabled"] != false {
		t.Fatalf("update: %d %v", code, got)
	}
	if code, got := do(t, "PUT", u+"/tasks/"+id, `{"priority":2}`); code != 200 || got["priority"] != 2.0 || got["enabled"] != false {
		t.Fatalf("priority update: %d %v", code, got)
	}
	if code, got := do(t, "PUT", u+"/tasks/"+id, `{"priority":3}`); code != 400 || got["field"] != "priority" {
		t.Fatalf("priority 3: %d %v", code, got)
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
	f := newFixture(t)
	code, doc := f.do("GET", "/openapi.json", "", "")
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
	for _, r := range f.srv.Handler().(*gin.Engine).Routes() {
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
