package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/rtsp"
	"github.com/cityeye/cityeye/testdata/testkit"
	"github.com/cityeye/cityeye/watermark"
	"github.com/cityeye/cityeye/workers/plan"
)

// loopbackCamera registers police's camera id at a loopback RTSP camera the test
// starts (the fixture admits loopback as an outbound target, as an administrator
// would admit the camera network).
func (f *fixture) loopbackCamera(id string) *rtsp.Server {
	f.t.Helper()
	cam := rtsp.Start(f.t, testkit.FreeAddr(), rtsp.Clip(f.t, testdata.Media(f.t, "faceclip.mp4")))
	f.policeCamera(id, cam.URL())
	return cam
}

// policeCamera registers police's camera id, shared unconditionally, at url.
func (f *fixture) policeCamera(id, url string) {
	f.t.Helper()
	f.must("POST", "/api/v1/streams", "police_op", fmt.Sprintf(`{"device_id":%q,"name":"loopback","url":%q,"admin_division":"441502",
		"longitude":115.3,"latitude":22.7,"owner_department":"police","point_type":1,"sharing":1}`, id, url), 201)
}

// A camera no task decodes still shows its picture: one key frame grabbed on
// request, watermarked and audited like any snapshot, kept briefly so that viewers
// cost one stream open; only where the outbound guard admits the camera's address.
func TestKeyFrameSnapshot(t *testing.T) {
	f := newFixture(t)
	const id = "44150200001310000005"
	cam := f.loopbackCamera(id)
	path := "/api/v1/streams/" + id + "/snapshot"
	code, src, img := f.getBytes(path, "police_op", "X-Frame-Source")
	if code != 200 || src != "keyframe" || len(img) < 1000 {
		t.Fatalf("key frame snapshot: %d %q %.200s", code, src, img)
	}
	aid, err := watermark.Extract(img, f.srv.WatermarkKey)
	if err != nil {
		t.Fatalf("the key frame carries no mark: %v", err)
	}
	if e := f.must("GET", fmt.Sprintf("/api/v1/audit/%d", aid), "admin", "", 200); e["action"] != "stream.snapshot" || e["target"] != id || !strings.Contains(e["detail"].(string), "keyframe") {
		t.Fatalf("the mark names %v", e)
	}
	// another viewer a moment later: the same frame, the camera opened once
	_, t1, _ := f.getBytes(path, "market_analyst", "X-Frame-Time")
	_, t2, _ := f.getBytes(path, "police_op", "X-Frame-Time")
	if t1 == "" || t1 != t2 || cam.Plays() != 1 {
		t.Errorf("viewers within the cache: frame times %q %q, camera opened %d times", t1, t2, cam.Plays())
	}
	if code, _, _ := f.getBytes(path, "water_op", ""); code != 404 || cam.Plays() != 1 {
		t.Errorf("a department outside the camera's area: %d, camera opened %d times", code, cam.Plays())
	}

	// a server whose outbound guard does not admit loopback never opens the camera
	strict := newFixture(t, func(s *api.Server) { s.Outbound = netguard.MustNew() })
	strict.policeCamera(id, cam.URL())
	if code, _, b := strict.getBytes(path, "police_op", ""); code != 409 || !strings.Contains(string(b), "outbound_allow") || strings.Contains(string(b), "127.0.0.1") || cam.Plays() != 1 {
		t.Errorf("loopback not admitted: %d %s, camera opened %d times", code, b, cam.Plays())
	}
}

// Distributed mode: the frame of a camera a remote worker decodes is asked of that
// worker in its lease and uploaded by it; the API checks the viewer's rights before
// asking, and takes frames only from the worker running the stream, when asked.
func TestRemoteWorkerFrameSnapshot(t *testing.T) {
	f := newFixture(t)
	for _, c := range cameras[:2] {
		f.must("POST", "/api/v1/streams", "police_op", c.body(), 201)
	}
	f.srv.Cluster = scheduler.NewCluster(time.Minute)
	f.worker("w1")
	f.worker("w2")
	var plans []plan.StreamPlan
	for _, c := range cameras[:2] {
		st, _ := f.db.GetStream(context.Background(), c.id)
		plans = append(plans, plan.StreamPlan{Stream: st, Tasks: []plan.TaskPlan{{Task: store.Task{ID: "t" + c.id, StreamID: c.id}, FPS: 1}}})
	}
	f.srv.Cluster.Apply(plans)
	beat := func(w string) map[string]any {
		return f.must("POST", "/api/v1/workers/heartbeat", "wk-"+w, `{"id":"`+w+`","cores":8}`, 200)
	}
	beat("w2")
	runs := map[string]string{}
	for _, w := range []string{"w1", "w2"} {
		for _, p := range beat(w)["plans"].([]any) {
			runs[p.(map[string]any)["Stream"].(map[string]any)["device_id"].(string)] = w
		}
	}
	cam := cameras[1].id // police's, shared unconditionally with market
	w, other := runs[cam], map[string]string{"w1": "w2", "w2": "w1"}[runs[cam]]
	if w == "" {
		t.Fatalf("no worker leased %s: %v", cam, runs)
	}
	jpeg, err := os.ReadFile(testdata.Media(t, "dog.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(worker, stream string, body []byte) (int, string) {
		req, _ := http.NewRequest("PUT", f.url+"/api/v1/workers/frames/"+stream, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.tok["wk-"+worker])
		req.Header.Set("X-Frame-Time", "2026-12-06T06:00:00.5Z")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, b := put(w, cam, jpeg); code != 409 {
		t.Errorf("a frame nobody asked for: %d %s", code, b)
	}
	// a viewer without the snapshots right is refused before any worker is asked
	if code, _, _ := f.getBytes("/api/v1/streams/"+cameras[0].id+"/snapshot", "market_analyst", ""); code != 403 {
		t.Errorf("market on police's conditional camera: %d", code)
	}
	type result struct {
		code       int
		src, frame string
		img        []byte
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("GET", f.url+"/api/v1/streams/"+cam+"/snapshot", nil)
		req.Header.Set("Authorization", "Bearer "+f.tok["market_analyst"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{}
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		done <- result{resp.StatusCode, resp.Header.Get("X-Frame-Source"), resp.Header.Get("X-Frame-Time"), b.Bytes()}
	}()
	var asked []any
	for deadline := time.Now().Add(3 * time.Second); len(asked) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		asked, _ = beat(w)["want_frames"].([]any)
	}
	if len(asked) != 1 || asked[0] != cam {
		t.Fatalf("the lease of %s's worker asks for %v", cam, asked)
	}
	if l := beat(other); l["want_frames"] != nil {
		t.Errorf("the other worker is asked for %v", l["want_frames"])
	}
	if code, _ := put(other, cam, jpeg); code != 409 {
		t.Errorf("a frame from the worker not running the stream: %d", code)
	}
	if code, _ := put(w, cam, []byte("not a jpeg")); code != 400 {
		t.Errorf("a body that is not a JPEG: %d", code)
	}
	if code, b := put(w, cam, jpeg); code != 204 {
		t.Fatalf("the worker's answer: %d %s", code, b)
	}
	r := <-done
	if r.code != 200 || r.src != "live" || r.frame != "2026-12-06T06:00:00.500Z" {
		t.Fatalf("remote live snapshot: %d %q %q %.200s", r.code, r.src, r.frame, r.img)
	}
	if _, err := watermark.Extract(r.img, f.srv.WatermarkKey); err != nil {
		t.Errorf("the remote frame is served without the viewer's mark: %v", err)
	}
	// only workers upload frames
	req, _ := http.NewRequest("PUT", f.url+"/api/v1/workers/frames/"+cam, bytes.NewReader(jpeg))
	req.Header.Set("Authorization", "Bearer "+f.tok["police_op"])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("an operator uploading a frame: %v %v", resp.StatusCode, err)
	}
}
