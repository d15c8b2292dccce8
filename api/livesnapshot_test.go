package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/watermark"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

// getBytes sends a GET as user and returns the status, a header and the raw body.
func (f *fixture) getBytes(path, user, header string) (int, string, []byte) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+f.tok[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get(header), b
}

// A camera's live snapshot (issue 18): the in-process worker's latest frame,
// watermarked with the audit entry of the download; owner and the snapshots right
// only; 409 while no frame is at hand.
func TestLiveStreamSnapshot(t *testing.T) {
	f := newFixture(t)
	for _, c := range cameras[:3] {
		f.must("POST", "/api/v1/streams", "police_op", c.body(), 201)
	}
	cam := cameras[1].id // police's, shared unconditionally in 441502 (market's area)
	path := "/api/v1/streams/" + cam + "/snapshot"
	if code, _, b := f.getBytes(path, "police_op", ""); code != 409 {
		t.Fatalf("before any frame: %d %s", code, b)
	}
	st, _ := f.db.GetStream(context.Background(), cam)
	st.URL = "file://" + testdata.Media(t, "faceclip.mp4")
	f.srv.Worker = workers.New(context.Background(), workers.Config{LoopFiles: true}, nil) // a live camera, never ending
	t.Cleanup(func() { f.srv.Worker.Close() })
	f.srv.Worker.Apply([]plan.StreamPlan{{Stream: st, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t1", StreamID: cam, DeptID: "police", Algorithm: "no-such-algorithm"}, FPS: 5}}}})
	var code int
	var frameTime string
	var img []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, frameTime, img = f.getBytes(path, "police_op", "X-Frame-Time"); code != 409 {
			break
		}
	}
	if code != 200 || len(img) < 1000 || frameTime == "" {
		t.Fatalf("live snapshot: %d, frame time %q, %d bytes", code, frameTime, len(img))
	}
	id, err := watermark.Extract(img, f.srv.WatermarkKey)
	if err != nil {
		t.Fatalf("live snapshot carries no mark: %v", err)
	}
	e := f.must("GET", fmt.Sprintf("/api/v1/audit/%d", id), "admin", "", 200)
	if e["action"] != "stream.snapshot" || e["user_id"] != "police_op" || e["target"] != cam {
		t.Fatalf("the mark names %v", e)
	}
	// market (in the camera's area) has the snapshots right by unconditional sharing;
	// for police's conditional camera it has none without a grant; water, outside the
	// area, does not see the unshared camera at all
	if code, _, _ := f.getBytes(path, "market_analyst", ""); code != 200 {
		t.Errorf("market analyst on an unconditionally shared camera: %d", code)
	}
	if code, _, b := f.getBytes("/api/v1/streams/"+cameras[0].id+"/snapshot", "market_analyst", ""); code != 403 {
		t.Errorf("market analyst on a conditional camera without a grant: %d %s", code, b)
	}
	if code, _, _ := f.getBytes("/api/v1/streams/"+cameras[2].id+"/snapshot", "water_op", ""); code != 404 {
		t.Errorf("water on police's unshared camera: %d", code)
	}
	// a camera no task decodes is grabbed on request, but the fixtures' cameras are at
	// a private address the outbound guard refuses: no connection is even tried
	t0 := time.Now()
	if code, _, b := f.getBytes("/api/v1/streams/"+cameras[0].id+"/snapshot", "police_op", ""); code != 409 || !strings.Contains(string(b), "outbound_allow") || time.Since(t0) > time.Second {
		t.Errorf("a camera that decodes nothing, at rtsp://10.0.0.1: %d %s after %v", code, b, time.Since(t0))
	}
	// distributed mode: the frames are on remote workers
	f.srv.Cluster = scheduler.NewCluster(time.Minute)
	if code, _, b := f.getBytes(path, "police_op", ""); code != 409 {
		t.Errorf("distributed mode: %d %s", code, b)
	}
}
