package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/scheduler"
)

// Issue 14 items 3 and 11: camera credentials and camera details stay with the
// camera's owner; only the worker a token was issued for receives them, in its lease.

// credCam is a police camera, shared unconditionally in market's district, whose URL
// carries the camera's credentials.
const (
	credCam    = "44150200001310000002"
	credSecret = "Kam3ra-pw"
	credURL    = "rtsp://camuser:" + credSecret + "@10.9.8.7:554/Streaming/Channels/101"
	credStream = `{"device_id":"` + credCam + `","name":"north gate","url":"` + credURL + `","admin_division":"441502","longitude":115.3,"latitude":22.7,"owner_department":"police","point_type":1,"sharing":1}`
)

// raw sends a request as user and returns the status and the body as text.
func (f *fixture) raw(method, path, user, body string) (int, string) {
	f.t.Helper()
	code, out := f.do(method, path, user, body)
	b, _ := json.Marshal(out)
	return code, string(b)
}

// worker creates (as the platform admin) a worker user and a token bound to id,
// and turns the server distributed so that heartbeats are taken.
func (f *fixture) worker(id string) *scheduler.Cluster {
	f.t.Helper()
	if f.srv.Cluster == nil {
		f.srv.Cluster = scheduler.NewCluster(time.Minute)
	}
	f.must("POST", "/api/v1/users", "admin", `{"id":"wk-`+id+`","name":"worker","department":"platform","role":"worker"}`, 201)
	f.tok["wk-"+id] = f.must("POST", "/api/v1/users/wk-"+id+"/tokens", "admin", `{"name":"w","worker_id":"`+id+`"}`, 201)["token"].(string)
	return f.srv.Cluster
}

// A department admin cannot mint the accounts that see every department's cameras
// (a worker gets all stream URLs in its lease) or run code on them (a vendor).
func TestDeptAdminCannotCreateWorkerOrVendor(t *testing.T) {
	f := newFixture(t)
	for _, role := range []string{"worker", "vendor"} {
		code, out := f.do("POST", "/api/v1/users", "police_admin", `{"id":"x-`+role+`","name":"x","role":"`+role+`"}`)
		if code != 403 || out["field"] != "role" {
			t.Errorf("dept admin creating a %s: %d %v, want 403 naming role", role, code, out)
		}
	}
	f.must("POST", "/api/v1/users", "admin", `{"id":"acme-2","name":"x","department":"acme","role":"vendor"}`, 201)
}

// A worker token heartbeats only as the worker it was issued for; nothing else gets
// a lease, and a worker cannot issue itself tokens for other IDs.
func TestWorkerTokenBoundToItsWorkerID(t *testing.T) {
	f := newFixture(t)
	cluster := f.worker("w1")
	f.must("POST", "/api/v1/streams", "police_op", credStream, 201)
	f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+credCam+`","algorithm":"face_capture","params":{"sample_fps":2}}`, 201)
	if err := scheduler.New(f.db, cluster, 10).Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, out := f.do("POST", "/api/v1/users/wk-w1/tokens", "admin", `{"name":"unbound"}`); code != 400 || out["field"] != "worker_id" {
		t.Fatalf("unbound worker token: %d %v", code, out)
	}
	if code, out := f.do("POST", "/api/v1/users/wk-w1/tokens", "wk-w1", `{"name":"mine","worker_id":"w2"}`); code != 403 {
		t.Fatalf("worker minting a token for another ID: %d %v", code, out)
	}
	for _, c := range []struct{ user, id string }{{"wk-w1", "w2"}, {"admin", "w1"}, {"police_admin", "w1"}} {
		code, body := f.raw("POST", "/api/v1/workers/heartbeat", c.user, `{"id":"`+c.id+`","cores":64,"capacity_fps":10000}`)
		if code != 403 || strings.Contains(body, credSecret) {
			t.Errorf("heartbeat as %s claiming %s: %d %s, want 403 and no credentials", c.user, c.id, code, body)
		}
	}
	code, body := f.raw("POST", "/api/v1/workers/heartbeat", "wk-w1", `{"id":"w1","cores":4}`)
	if code != 200 || !strings.Contains(body, credURL) {
		t.Fatalf("the bound worker's lease must carry the real URL: %d %s", code, body)
	}
}

// Stream credentials are encrypted in the database and no read API returns them,
// not even to the owner; a client writing back the redacted URL keeps them.
func TestStreamCredentialsNeverRead(t *testing.T) {
	f := newFixture(t)
	code, body := f.raw("POST", "/api/v1/streams", "police_op", credStream)
	if code != 201 || strings.Contains(body, credSecret) {
		t.Fatalf("create: %d %s", code, body)
	}
	for _, user := range []string{"police_op", "police_admin", "admin", "market_op"} {
		for _, path := range []string{"/api/v1/streams", "/api/v1/streams/" + credCam} {
			code, body := f.raw("GET", path, user, "")
			if code != 200 || strings.Contains(body, credSecret) || strings.Contains(body, "camuser") {
				t.Errorf("GET %s as %s: %d %s", path, user, code, body)
			}
		}
	}
	_, got := f.do("GET", "/api/v1/streams/"+credCam, "police_op", "")
	if got["url"] != "rtsp://REDACTED@10.9.8.7:554/Streaming/Channels/101" {
		t.Errorf("owner's view of the URL: %v", got["url"])
	}
	// at rest: the database file holds neither the password nor the camera's address
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(f.dir, "c.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored string
	if err := raw.QueryRow(`SELECT url FROM streams WHERE id=?`, credCam).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, credSecret) || strings.Contains(stored, "10.9.8.7") {
		t.Fatalf("stream URL stored readable: %q", stored)
	}
	// a PUT of what GET returned keeps the credentials
	put := strings.Replace(credStream, credURL, got["url"].(string), 1)
	put = strings.Replace(put, "north gate", "north gate 2", 1)
	f.must("PUT", "/api/v1/streams/"+credCam, "police_op", put, 200)
	if st, err := f.db.GetStream(context.Background(), credCam); err != nil || st.URL != credURL || st.Name != "north gate 2" {
		t.Fatalf("after PUT of the redacted URL: %+v %v", st, err)
	}
}

// A department that may use another's camera sees whether it runs and its own tasks
// on it, not the camera's user, host and path nor the owner's tasks (issue 14 item 11).
func TestNonOwnerSeesOnlyItsGrant(t *testing.T) {
	f := newFixture(t)
	cluster := f.worker("w1")
	f.must("POST", "/api/v1/streams", "police_op", credStream, 201)
	police := f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+credCam+`","algorithm":"face_capture","params":{"sample_fps":2}}`, 201)["id"].(string)
	market := f.must("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+credCam+`","algorithm":"person_vehicle_capture","params":{"sample_fps":2}}`, 201)["id"].(string)
	if err := scheduler.New(f.db, cluster, 10).Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	hb := `{"id":"w1","cores":4,"status":{"` + credCam + `":{"device_id":"` + credCam + `","source":{"state":"offline","url":"rtsp://camuser:xxxxx@10.9.8.7:554/Streaming/Channels/101",
		"reason":"open rtsp://10.9.8.7:554/Streaming/Channels/101: 401 Unauthorized","fps_in":0},
		"tasks":[{"task_id":"` + police + `","algorithm":"face_capture"},{"task_id":"` + market + `","algorithm":"person_vehicle_capture"}]}}}`
	f.must("POST", "/api/v1/workers/heartbeat", "wk-w1", hb, 200)

	for _, path := range []string{"/api/v1/streams/" + credCam, "/api/v1/streams"} {
		code, body := f.raw("GET", path, "market_op", "")
		if code != 200 || !strings.Contains(body, market) || !strings.Contains(body, `"state":"offline"`) {
			t.Fatalf("GET %s as market: %d %s, want its own task and the state", path, code, body)
		}
		for _, leak := range []string{"10.9.8.7", "camuser", "Channels", "Unauthorized", police, "face_capture"} {
			if strings.Contains(body, leak) {
				t.Errorf("GET %s as market shows %q: %s", path, leak, body)
			}
		}
		code, body = f.raw("GET", path, "police_op", "")
		if code != 200 || !strings.Contains(body, police) || !strings.Contains(body, market) || !strings.Contains(body, "Unauthorized") || strings.Contains(body, "camuser") {
			t.Errorf("GET %s as the owner: %d %s, want every task, the reason, no user", path, code, body)
		}
	}
}
