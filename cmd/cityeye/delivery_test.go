package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/services"
	"github.com/cityeye/cityeye/testdata/testkit"
)

type deliveredJSON struct {
	ID             string
	Installed      []string
	DeliveryErrors map[string]string `json:"delivery_errors"`
	Streams        []string
	Batchers       []batcherJSON
}

// worker returns the remote worker id as GET /api/v1/workers shows it.
func (s *server) worker(id string) deliveredJSON {
	var out struct{ Workers []deliveredJSON }
	s.get("/api/v1/workers", &out)
	for _, w := range out.Workers {
		if w.ID == id {
			return w
		}
	}
	return deliveredJSON{}
}

// Issue 22 item 4 with real processes, PostgreSQL, MinIO and Redis: a remote
// worker starts with an empty model repository; the platform admin pushes a
// nanodet build with the CLI and publishes it; a people_flow task is not placed
// on the worker until the worker has fetched the package from MinIO by content
// hash, verified and installed it (GET /api/v1/workers lists it); then it runs on
// it. Publishing a new version makes the worker fetch it and swap its batcher to
// it while the stream runs. Nothing is copied into the worker's folder by hand.
func TestRemoteWorkerReceivesPublishedModel(t *testing.T) {
	dsn, workerDSN := dbRoles(t, services.Postgres(t))
	e := services.MinIO(t)
	data, serverRepo, workerRepo := t.TempDir(), t.TempDir(), t.TempDir()
	addr := testkit.FreeAddr()
	s3 := map[string]any{"endpoint": e.Endpoint, "access_key": e.AccessKey, "secret_key": e.SecretKey, "bucket": "cityeye-delivery",
		"public_base": "http://" + addr + "/api/v1/objects/"}
	b, _ := json.Marshal(map[string]any{"database": dsn, "s3": s3, "redis": services.Redis(t), "heartbeat_timeout_s": 2})
	cfgPath := filepath.Join(data, "distributed.json")
	os.WriteFile(cfgPath, b, 0o600)
	s := startServerAt(t, addr, data, "--config", cfgPath, "--models", serverRepo)
	s3j, _ := json.Marshal(s3)
	w := s.startWorkerArgs(t, "w1", workerDSN, string(s3j), nil, "--models", workerRepo)
	testkit.WaitFor(t, 20*time.Second, "the worker to join with an empty repository", func() bool {
		return s.worker("w1").Installed != nil && len(s.worker("w1").Installed) == 0
	})

	const cam = "44150200001310000003"
	s.pushNanodet("9.0.0", 0)
	s.cli("model", "publish", "platform/nanodet@9.0.0")
	s.addFlowCamera(cam)

	t0 := time.Now()
	testkit.WaitFor(t, 60*time.Second, "the worker to install nanodet@9.0.0 and run the stream", func() bool {
		wk := s.worker("w1")
		return slices.Contains(wk.Installed, "nanodet@9.0.0") && slices.Contains(wk.Streams, cam)
	})
	t.Logf("nanodet@9.0.0 delivered and the stream placed %.1f s after the task", time.Since(t0).Seconds())
	batcher := func() batcherJSON {
		for _, b := range s.worker("w1").Batchers {
			if b.Model == "nanodet" {
				return b
			}
		}
		return batcherJSON{}
	}
	testkit.WaitFor(t, 60*time.Second, "nanodet 9.0.0 to analyse frames on the worker", func() bool {
		b := batcher()
		return b.Version == "9.0.0" && b.Frames > 0
	})
	if got, err := os.ReadFile(filepath.Join(workerRepo, "nanodet", "9.0.0", "model.onnx")); err != nil || len(got) == 0 {
		t.Fatalf("the worker's repository lacks the model file: %v", err)
	}
	before := batcher()
	s.pushNanodet("9.1.0", 0)
	s.cli("model", "publish", "platform/nanodet@9.1.0")
	testkit.WaitFor(t, 60*time.Second, "the worker to fetch 9.1.0 and swap to it", func() bool {
		b := batcher()
		return b.Version == "9.1.0" && b.Frames > before.Frames && b.Swaps >= 1
	})
	wk := s.worker("w1")
	if !slices.Contains(wk.Installed, "nanodet@9.1.0") || len(wk.DeliveryErrors) != 0 || !slices.Contains(wk.Streams, cam) {
		t.Fatalf("after the second publish: %+v\n%s", wk, w.logs)
	}
	t.Logf("worker: installed %v, batcher %+v", wk.Installed, batcher())
}
