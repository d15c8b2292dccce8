package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/testdata"
)

// copyStarter copies a starter model version into repo so a test can publish into
// its own repository without touching the shared one.
func copyStarter(t *testing.T, repo, name string) (models.Manifest, string) {
	m, dir, err := testdata.Repository().Resolve(name, "")
	if err != nil {
		t.Fatalf("%v (run make setup)", err)
	}
	dst := filepath.Join(repo, name, m.Version)
	os.MkdirAll(dst, 0o755)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return m, filepath.Join(dst, m.File)
}

func (s *server) cli(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "CITYEYE_SERVER="+s.url, "CITYEYE_TOKEN="+s.token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("cityeye %v: %v\n%s", args, err, out)
	}
	return string(out)
}

type batcherJSON struct {
	Model, Version string
	Frames, Swaps  int64
	SwapError      string `json:"swap_error"`
}

func (s *server) batcher(model string) batcherJSON {
	var st struct{ Batchers []batcherJSON }
	s.get("/api/v1/stats", &st)
	for _, b := range st.Batchers {
		if b.Model == model {
			return b
		}
	}
	return batcherJSON{}
}

// waitBatcher waits until the model's batcher serves version with more frames than after.
func (s *server) waitBatcher(model, version string, after int64) batcherJSON {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b := s.batcher(model); b.Version == version && b.Frames > after {
			return b
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("%s never served version %s past frame %d: %+v\n%s", model, version, after, s.batcher(model), s.logs)
	return batcherJSON{}
}

// The platform admin pushes a new build of the platform's own model with the CLI
// (progress bar, validation report, benchmark), lists it, publishes it while a face
// capture task runs on it: the task's batcher switches version without the stream
// stopping; rollback switches back. (Another vendor's build never reaches tasks that
// name the bare model: see api's TestWarehouseVendorCannotReplaceAnothersModel.)
func TestWarehouseCLIAndHotSwap(t *testing.T) {
	repo := t.TempDir()
	m, onnx := copyStarter(t, repo, "blazeface-back")
	s := startServer(t, t.TempDir(), "--models", repo, "--loop-files")
	s.addCamera("44150200001310000002", "faceclip.mp4", "face_capture", 5)
	before := s.waitBatcher("blazeface-back", m.Version, 0)

	dir := t.TempDir()
	push := func(version string) string {
		mm := m
		mm.Vendor, mm.Version, mm.SHA256 = "platform", version, ""
		b, _ := json.Marshal(mm)
		path := filepath.Join(dir, version+".json")
		os.WriteFile(path, b, 0o644)
		return s.cli("model", "push", "--manifest", path, "--model", onnx)
	}
	out := push("9.0.0")
	if !strings.Contains(out, "platform/blazeface-back@9.0.0: validated") || !strings.Contains(out, "benchmark cpu batch 1") || !strings.Contains(out, "100%") {
		t.Fatalf("push output:\n%s", out)
	}
	push("9.1.0")
	if out := s.cli("model", "list", "--vendor", "platform"); !strings.Contains(out, "9.0.0") || !strings.Contains(out, "9.1.0") || !strings.Contains(out, "validated") {
		t.Fatalf("list:\n%s", out)
	}

	recsBefore := len(s.records())
	s.cli("model", "publish", "platform/blazeface-back@9.0.0")
	swapped := s.waitBatcher("blazeface-back", "9.0.0", before.Frames)
	s.cli("model", "publish", "platform/blazeface-back@9.1.0")
	s.waitBatcher("blazeface-back", "9.1.0", swapped.Frames)
	if out := s.cli("model", "rollback", "platform/blazeface-back"); !strings.Contains(out, "9.0.0 is published") {
		t.Fatalf("rollback: %s", out)
	}
	b := s.waitBatcher("blazeface-back", "9.0.0", swapped.Frames)
	if b.Swaps != 3 || b.SwapError != "" {
		t.Fatalf("batcher after publish, publish, rollback: %+v", b)
	}
	// the stream never stopped: the pipeline is online and frames kept flowing
	var st struct {
		Status struct {
			Source struct{ State string } `json:"source"`
		} `json:"status"`
	}
	s.get("/api/v1/streams/44150200001310000002", &st)
	if st.Status.Source.State != "online" {
		t.Fatalf("stream after three swaps: %+v", st)
	}
	// and the task kept producing records across the swaps (the portrait keeps passing)
	deadline := time.Now().Add(60 * time.Second)
	for len(s.records()) <= recsBefore {
		if time.Now().After(deadline) {
			t.Fatalf("no record after the swaps (had %d)\n%s", recsBefore, s.logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("blazeface-back: %d frames before the first swap, %d after three swaps; records %d → %d", before.Frames, b.Frames, recsBefore, len(s.records()))
}
