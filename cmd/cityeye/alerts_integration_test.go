package main

import (
	"bufio"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// flameClip writes a 12 s clip of a hillside with a flickering flame (MJPG in AVI).
func flameClip(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "flame.avi")
	w, err := gocv.VideoWriterFile(path, "MJPG", 10, 640, 360, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	orange, yellow := color.RGBA{R: 255, G: 120, B: 20, A: 255}, color.RGBA{R: 255, G: 230, B: 80, A: 255}
	for i := range 120 {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(150, 140, 130, 0), 360, 640, gocv.MatTypeCV8UC3)
		gocv.Rectangle(&m, image.Rect(0, 150, 640, 360), color.RGBA{R: 40, G: 70, B: 35, A: 255}, -1)
		if i%2 == 0 || rng.IntN(3) == 0 { // the flame flickers
			wd, h := 35+rng.IntN(25), 55+rng.IntN(40)
			gocv.Ellipse(&m, image.Pt(320+rng.IntN(8)-4, 250-h/2), image.Pt(wd/2, h/2), 0, 0, 360, orange, -1)
			gocv.Ellipse(&m, image.Pt(320, 250-h/3), image.Pt(wd/4, h/4), 0, 0, 360, yellow, -1)
		}
		w.Write(m)
		m.Close()
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
