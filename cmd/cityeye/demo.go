package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models/engine"
)

// demoCamera is one looped clip registered as a live camera.
type demoCamera struct {
	id, name, file, algorithm string
	fps                       float64
	lon, lat                  float64
	generated                 bool           // the clip is the one writeFlameClip wrote, not from the media cache
	params                    map[string]any // more task params
}

var demoCameras = []demoCamera{
	{id: "44150200001310000001", name: "演示 街景 (opencv vtest.avi)", file: "vtest.avi", algorithm: "person_vehicle_capture", fps: 4, lon: 115.372, lat: 22.787},
	{id: "44150200001310000002", name: "演示 人像 (facedetect Grace Hopper)", file: "faceclip.mp4", algorithm: "face_capture", fps: 4, lon: 115.381, lat: 22.781},
	// the fire baseline on a generated flame: live alerts for the console's map, one
	// a minute rather than the default one per 10 minutes
	{id: "44150200001310000003", name: "演示 林区山坡 (生成的火焰片段)", file: "flame.avi", algorithm: "fire_smoke", fps: 5, lon: 115.41, lat: 22.80,
		generated: true, params: map[string]any{"options": map[string]any{"detector": "baseline"}, "cooldown_seconds": 60}},
}

func runDemo(args []string) error {
	fs := newFlags("demo", "demo [--duration 60s] [--listen ADDR] [--data DIR]")
	duration := fs.Duration("duration", 60*time.Second, "stop after this long (0: until Ctrl-C)")
	cfgp, apply := serveFlags(fs)
	fs.Lookup("data").DefValue = "./data/demo"
	if err := parse(fs, args); err != nil {
		return err
	}
	cfgp.Data = "./data/demo"
	cfgp.LoopFiles = true
	if err := apply(); err != nil {
		return err
	}
	cfg := *cfgp
	// the demo's clips are file:// cameras: their folder is an import folder
	cfg.ImportDirs = append(cfg.ImportDirs, filepath.Join(engine.Home(), "media"))
	// the generated flame clip goes to the data folder's clips/, an import folder too
	clips, err := filepath.Abs(filepath.Join(cfg.Data, "clips"))
	if err == nil {
		err = os.MkdirAll(clips, 0o755)
	}
	if err == nil {
		err = writeFlameClip(filepath.Join(clips, "flame.avi"))
	}
	if err != nil {
		return fmt.Errorf("demo flame clip: %w", err)
	}
	cfg.ImportDirs = append(cfg.ImportDirs, clips)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	e, err := startEmbedded(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.Stop()
	for _, cam := range demoCameras {
		path := filepath.Join(engine.Home(), "media", cam.file)
		if cam.generated {
			path = filepath.Join(clips, cam.file)
		} else if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s missing: run `make setup`", path)
		}
		if err := demoRegister(e.URL(), e.AdminToken(), cam, path); err != nil {
			return err
		}
	}
	fmt.Printf("\nCityEye demo running at %s for %v (Ctrl-C stops earlier)\n", e.URL(), *duration)
	fmt.Printf("  console: open %s/ in a browser and log in with the token %s\n", e.URL(), e.AdminToken())
	fmt.Printf("           (the demo stops after %v: `./bin/cityeye demo --duration 0` keeps it running)\n", *duration)
	fmt.Printf("  streams: %s/api/v1/streams\n  records: %s/api/v1/records\n  stats:   %s/api/v1/stats\n  openapi: %s/openapi.json\n", e.URL(), e.URL(), e.URL(), e.URL())
	fmt.Printf("  token:   send Authorization: Bearer $(cat %s)\n\n", filepath.Join(e.cfg.Data, "admin.token"))
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			counts, _ := e.db.CountRecords(context.Background())
			fmt.Printf("  … records so far: %v\n", counts)
		}
	}
	return demoSummary(e)
}

func demoRegister(base, token string, cam demoCamera, path string) error {
	dept := map[string]any{"id": "city-video-office", "name": "市视频办（演示）", "areas": []string{"441500"}}
	if err := postJSON(base+"/api/v1/departments", token, dept, http.StatusCreated, http.StatusConflict); err != nil {
		return err
	}
	stream := map[string]any{"device_id": cam.id, "name": cam.name, "url": "file://" + path, "admin_division": "441502",
		"longitude": cam.lon, "latitude": cam.lat, "owner_department": "city-video-office", "point_type": 3, "sharing": 1}
	if err := postJSON(base+"/api/v1/streams", token, stream, http.StatusCreated, http.StatusConflict); err != nil {
		return err
	}
	params := map[string]any{"sample_fps": cam.fps}
	for k, v := range cam.params {
		params[k] = v
	}
	task := map[string]any{"device_id": cam.id, "algorithm": cam.algorithm, "params": params}
	return postJSON(base+"/api/v1/tasks", token, task, http.StatusCreated)
}

func postJSON(url, token string, body any, ok ...int) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	for _, c := range ok {
		if resp.StatusCode == c {
			return nil
		}
	}
	return fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg)
}

func demoSummary(e *embedded) error {
	ctx := context.Background()
	counts, err := e.db.CountRecords(ctx)
	if err != nil {
		return err
	}
	streams, _ := e.db.ListStreams(ctx, auth.Scope{All: true}, time.Now())
	tasks, _ := e.db.ListTasks(ctx, auth.Scope{All: true}, "")
	status := e.worker.Status()
	fmt.Println("\n=== CityEye demo summary ===")
	for _, st := range streams {
		s := status[st.ID]
		fmt.Printf("stream %s %-45q state=%s fps_in=%.1f frames=%d\n", st.ID, st.Name, s.Source.State, s.Source.FPSIn, s.Source.Frames)
	}
	for _, t := range tasks {
		g, _ := e.sched.Grant(t.ID)
		fmt.Printf("task   %s %-24s on %s %s: granted %.1f of %.1f fps, duty %.0f%%%s\n", t.ID, t.Algorithm, t.StreamID, g.State, g.GrantedFPS, g.RequestedFPS, g.Duty*100,
			map[bool]string{true: " (" + g.Reason + ")"}[g.Reason != ""])
	}
	var types []string
	total := 0
	for k, n := range counts {
		types = append(types, k)
		total += n
	}
	sort.Strings(types)
	fmt.Printf("records: %d total", total)
	for _, k := range types {
		fmt.Printf(", %s %d", k, counts[k])
	}
	abs, _ := filepath.Abs(filepath.Join(e.cfg.Data, "objects", "snapshots"))
	fmt.Printf("\nsnapshots: %s\n", abs)
	for _, b := range e.worker.Batchers() {
		fmt.Printf("model %-15s on %s: %d frames in %d batches (mean batch %.2f, sizes %v), %.1fs busy, p99 added wait %.1f ms\n",
			b.Model, b.Provider, b.Frames, b.Batches, b.MeanBatch, b.BatchSizes, b.BusySec, b.AddedWaitP99Sec*1e3)
	}
	fmt.Printf("browse: curl -H \"Authorization: Bearer $(cat %s)\" %s/api/v1/records?type=Person  (run `cityeye serve --data %s --import-dirs %s` to keep browsing)\n",
		filepath.Join(e.cfg.Data, "admin.token"), e.URL(), e.cfg.Data, strings.Join(e.cfg.ImportDirs, ","))
	if total == 0 {
		return fmt.Errorf("the demo produced no captures")
	}
	return nil
}

func init() {
	register("demo", "run the embedded system on looped real clips and print what it captured", runDemo)
}
