package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flameClip writes the generated flame clip into the test's temp dir.
func flameClip(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "flame.avi")
	if err := writeFlameClip(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// A running fire task (the model-free baseline) raises alerts that reach a live
// Server-Sent Events subscriber with location, level and snapshot.
func TestAlertStreamFromRunningTask(t *testing.T) {
	clip := flameClip(t)
	s := startServer(t, t.TempDir(), "--loop-files", "--import-dirs", filepath.Dir(clip))
	s.post("/api/v1/departments", map[string]any{"id": "forestry", "name": "Forestry bureau", "areas": []string{"441500"}}, 201, 409)
	s.post("/api/v1/streams", map[string]any{"device_id": "44150200001310000031", "name": "hillside", "url": "file://" + clip,
		"admin_division": "441502", "longitude": 115.41, "latitude": 22.80, "owner_department": "forestry", "point_type": 2, "sharing": 2})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/v1/alerts/stream?kinds=fire.fire", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	s.post("/api/v1/tasks", map[string]any{"device_id": "44150200001310000031", "algorithm": "fire_smoke",
		"params": map[string]any{"sample_fps": 5, "options": map[string]any{"detector": "baseline"}}})
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var a map[string]any
		json.Unmarshal([]byte(data), &a)
		if a["kind"] != "fire.fire" || a["device_id"] != "44150200001310000031" || a["latitude"] != 22.8 || a["level"] != 3.0 {
			t.Fatalf("alert %s", data)
		}
		var img []byte
		if code := s.get(a["image"].(string), &img); code != 200 || len(img) < 1000 {
			t.Fatalf("alert snapshot %s: %d", a["image"], code)
		}
		t.Logf("live alert: %s", data)
		return
	}
	t.Fatalf("no alert on the stream: %v\n%s", sc.Err(), s.logs)
}
