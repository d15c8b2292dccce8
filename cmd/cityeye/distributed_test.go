package main

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"

	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/services"
)

type workerProc struct {
	id   string
	cmd  *exec.Cmd
	logs *lockedBuffer
}

// startWorker starts a remote worker with a token bound to its ID (created once per
// ID by the platform admin); its secrets travel in the environment, not in argv. It
// heartbeats to s, or to the servers given (URLs, in order).
func (s *server) startWorker(t *testing.T, id, dsn, s3 string, servers ...string) *workerProc {
	return s.startWorkerArgs(t, id, dsn, s3, servers)
}

// startWorkerArgs is startWorker with extra flags after the usual ones.
func (s *server) startWorkerArgs(t *testing.T, id, dsn, s3 string, servers []string, extra ...string) *workerProc {
	w := &workerProc{id: id, logs: &lockedBuffer{}}
	if s.workerTokens == nil {
		s.workerTokens = map[string]string{}
	}
	if s.workerTokens[id] == "" {
		s.post("/api/v1/users", map[string]any{"id": "worker-" + id, "name": "worker " + id, "department": "platform", "role": "worker"})
		s.workerTokens[id] = s.post("/api/v1/users/worker-"+id+"/tokens", map[string]any{"name": id, "worker_id": id})["token"].(string)
	}
	if len(servers) == 0 {
		servers = []string{s.url}
	}
	extra = withPrivateModels(t, extra, filepath.Join(t.TempDir(), "models"))
	w.cmd = exec.Command(binary, append([]string{"worker", "--server", strings.Join(servers, ","), "--id", id, "--provider", "cpu", "--loop-files", "--capacity-fps", "10"}, extra...)...)
	w.cmd.Env = append(os.Environ(), "CITYEYE_WORKER_TOKEN="+s.workerTokens[id], "CITYEYE_DATABASE="+dsn, "CITYEYE_S3="+s3)
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill(); w.cmd.Wait() })
	return w
}

type memberJSON struct {
	ID      string
	Alive   bool
	Streams []string
	Status  map[string]any // the streams the worker reports running
}

func (s *server) members() map[string]memberJSON {
	var out struct{ Workers []memberJSON }
	s.get("/api/v1/workers", &out)
	m := map[string]memberJSON{}
	for _, w := range out.Workers {
		m[w.ID] = w
	}
	return m
}

// owner returns the live worker running the stream, or "".
func (s *server) owner(stream string) string {
	for id, m := range s.members() {
		if m.Alive && slices.Contains(m.Streams, stream) {
			return id
		}
	}
	return ""
}

// Distributed mode with real PostgreSQL (the server and the workers connected as the
// roles `cityeye db grant` set up), MinIO and Redis and three processes: the
// server places a stream on one of two workers; kill -9 that worker mid-stream and
// the other takes the stream within the heartbeat timeout + 1 s; the killed worker
// comes back and does not run it again; no committed record is lost or duplicated.
func TestDistributedWorkerFailover(t *testing.T) {
	dsn, workerDSN := dbRoles(t, services.Postgres(t)) // the server as the application role, workers as the worker role
	e := services.MinIO(t)
	redis := services.Redis(t)
	data := t.TempDir()
	addr := testkit.FreeAddr()
	s3 := map[string]any{"endpoint": e.Endpoint, "access_key": e.AccessKey, "secret_key": e.SecretKey, "bucket": "cityeye-dist",
		"public_base": "http://" + addr + "/api/v1/objects/"}
	cfg := map[string]any{"database": dsn, "s3": s3, "redis": redis, "heartbeat_timeout_s": 2, "capacity_fps": 20}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(data, "distributed.json")
	os.WriteFile(cfgPath, b, 0o600)
	s := startServerAt(t, addr, data, "--config", cfgPath)
	s3j, _ := json.Marshal(s3)
	w1 := s.startWorker(t, "w1", workerDSN, string(s3j))
	w2 := s.startWorker(t, "w2", workerDSN, string(s3j))
	procs := map[string]*workerProc{"w1": w1, "w2": w2}
	for deadline := time.Now().Add(20 * time.Second); len(s.members()) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("workers did not join: %v\n%s\n%s", s.members(), w1.logs, w2.logs)
		}
	}
	const cam = "44150200001310000002"
	s.post("/api/v1/departments", map[string]any{"id": "police", "name": "Public security bureau", "areas": []string{"441500"}}, 201, 409)
	s.post("/api/v1/streams", map[string]any{"device_id": cam, "name": "faces", "url": "file://" + testdata.Media(t, "faceclip.mp4"),
		"admin_division": "441502", "longitude": 115.37, "latitude": 22.78, "owner_department": "police", "point_type": 1, "sharing": 1})
	s.post("/api/v1/tasks", map[string]any{"device_id": cam, "algorithm": "face_capture", "params": map[string]any{"sample_fps": 5}})

	var first string
	for deadline := time.Now().Add(30 * time.Second); first == ""; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stream never placed: %v\n%s", s.members(), s.logs)
		}
		first = s.owner(cam)
	}
	var before []recordJSON
	for deadline := time.Now().Add(90 * time.Second); len(before) < 2; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no records from %s\n%s", first, procs[first].logs)
		}
		before = s.records()
	}
	// a viewer's live picture of the camera comes from the remote worker decoding it
	resp := s.request(http.MethodGet, s.url+"/api/v1/streams/"+cam+"/snapshot", nil)
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(img)); resp.StatusCode != 200 || resp.Header.Get("X-Frame-Source") != "live" || err != nil || cfg.Width != 640 {
		t.Errorf("live snapshot from worker %s: %d %q %v %+v %.300s", first, resp.StatusCode, resp.Header.Get("X-Frame-Source"), err, cfg, img)
	}
	procs[first].cmd.Process.Signal(syscall.SIGKILL) // mid-stream
	killed := time.Now()
	var second string
	for second == "" || second == first {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("stream not re-placed: %v", s.members())
		}
		time.Sleep(100 * time.Millisecond)
		second = s.owner(cam)
	}
	took := time.Since(killed)
	t.Logf("stream moved from %s to %s %.1f s after the kill (timeout 2 s)", first, second, took.Seconds())
	if took > 3*time.Second+500*time.Millisecond { // timeout + 1 s, plus polling slack
		t.Errorf("re-placement took %v, want ≤ timeout + 1 s", took)
	}
	// the killed worker comes back under the same ID: it gets nothing back
	back := s.startWorker(t, first, workerDSN, string(s3j))
	time.Sleep(3 * time.Second)
	if m := s.members()[first]; !m.Alive || len(m.Streams) != 0 || s.owner(cam) != second {
		t.Fatalf("after %s returned: %+v, owner %s\n%s", first, s.members(), s.owner(cam), back.logs)
	}
	after := s.recordsAfter(t, before, procs[second])
	noneLostOrDuplicated(t, before, after)
	s.checkRecord(after[0]) // its snapshots resolve from MinIO through the API
	// /metrics sees the remote workers: the stream decoding on the new owner, its model
	var metrics []byte
	s.get("/metrics", &metrics)
	for _, want := range []string{`cityeye_stream_frames_total{device_id="` + cam + `",worker="` + second + `"}`,
		`cityeye_model_frames_total{model="blazeface-back"`, `cityeye_worker_up{worker="` + second + `"} 1`, `cityeye_model_queue_wait_seconds_total{`, `cityeye_placement_tasks{state="ok"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s:\n%.3000s", want, metrics)
		}
	}
	t.Logf("%d records before the kill, %d after the fail-over", len(before), len(after))
}

// recordsAfter waits up to 60 s for more records than before and returns them all;
// w's logs explain a failure.
func (s *server) recordsAfter(t *testing.T, before []recordJSON, w *workerProc) []recordJSON {
	t.Helper()
	var after []recordJSON
	for deadline := time.Now().Add(60 * time.Second); len(after) <= len(before); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no new records after the fault\n%s", w.logs)
		}
		after = s.records()
	}
	return after
}

// noneLostOrDuplicated fails the test if a record of before is missing from after
// or a record appears twice in after.
func noneLostOrDuplicated(t *testing.T, before, after []recordJSON) {
	t.Helper()
	ids := map[string]bool{}
	for _, r := range after {
		if ids[r.ID] {
			t.Fatalf("record %s duplicated", r.ID)
		}
		ids[r.ID] = true
	}
	for _, r := range before {
		if !ids[r.ID] {
			t.Fatalf("record %s lost", r.ID)
		}
	}
}

// lockedBuffer collects a subprocess's output safely while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
