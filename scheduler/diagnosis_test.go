package scheduler

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/cameras"
	"github.com/cityeye/cityeye/testdata/testkit"
	"github.com/cityeye/cityeye/workers"
)

// clip encodes 6 s of vtest.avi through filter as H.264 with a key frame a second.
func clip(t *testing.T, name, filter string) string {
	t.Helper()
	return clipOf(t, "vtest.avi", name, filter)
}

// clipOf encodes 6 s of a test video through filter as H.264, a key frame a second.
func clipOf(t *testing.T, media, name, filter string) string {
	t.Helper()
	testdata.Tool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), name+".mp4")
	vf := "scale=384:288,fps=10"
	if filter != "" {
		vf += "," + filter
	}
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-i", testdata.Media(t, media), "-t", "6", "-vf", vf,
		"-an", "-c:v", "libx264", "-preset", "veryfast", "-g", "10", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", name, err, b)
	}
	return out
}

// policeDB is an SQLite store in a test folder with the police department (areas
// 441500), closed when the test ends, and the folder.
func policeDB(t *testing.T) (*store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.CreateDepartment(context.Background(), &store.Department{ID: "police", Name: "Police", Areas: []string{"441500"}})
	return db, dir
}

// The rotation visits every catalogue camera with a pull URL (none has a task),
// finds the black one black and the unreachable one lost with an alert carrying the
// camera's location, raises nothing on the untouched clip, clears the lost signal
// when the stream comes back, and counts the time between visits as online or not.
func TestRotationDiagnosesEveryCamera(t *testing.T) {
	ctx := context.Background()
	db, dir := policeDB(t)
	orig, black := clip(t, "original", ""), clip(t, "black", "eq=brightness=-0.9")
	cams := []store.Camera{cameras.Valid(1, "police", "441502"), cameras.Valid(2, "police", "441502"), cameras.Valid(3, "police", "441521"), cameras.Valid(4, "police", "441502")}
	cams[0].URL, cams[1].URL, cams[2].URL = "file://"+orig, "file://"+black, "file://"+filepath.Join(dir, "gone.mp4")
	if err := db.ImportCameras(ctx, cams); err != nil { // camera 4 has no URL: it is not visited
		t.Fatal(err)
	}
	objs, _ := objects.NewLocal(filepath.Join(dir, "objects"), "")
	rec := workers.NewRecorder(db, objs, nil)
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := &Rotation{DB: db, Sched: New(db, &recordingWorker{}, 100), Diagnose: rec.Diagnose, Now: func() time.Time { return clock },
		Visit: workers.Visit{Frames: 5, Timeout: 20 * time.Second, Files: true, ImportDirs: []string{dir, filepath.Dir(orig), filepath.Dir(black)}}}
	if n := r.Visits(10 * time.Second); n != 100 { // 100 fps spare × 0.5 × 10 s / 5 frames
		t.Errorf("visits a 10 s tick: %d, want 100", n)
	}
	cpu := testkit.CPUTime()
	if n, err := r.Tick(ctx, 10*time.Second); err != nil || n != 3 {
		t.Fatalf("tick: %d visits, %v", n, err)
	}
	t.Logf("3 visits of 5 key frames (384×288): %v CPU", testkit.CPUTime()-cpu)
	diag, _ := db.Diagnoses(ctx, []string{cams[0].DeviceID, cams[1].DeviceID, cams[2].DeviceID})
	for i, want := range [][]string{{}, {"black"}, {"signal_lost"}} {
		d := diag[cams[i].DeviceID]
		if !slices.Equal(d.Defects, want) || d.Online != (i < 2) || !d.DueAt.Equal(clock.Add(15*time.Minute)) || strings.Contains(d.Reason, dir) {
			t.Errorf("camera %d: %+v, want defects %v", i+1, d, want)
		}
	}
	alerts, err := db.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]store.Alert{}
	for _, a := range alerts {
		kinds[a.DeviceID[len(a.DeviceID)-1:]+":"+a.Kind] = a
	}
	if len(alerts) != 2 {
		t.Errorf("alerts %v, want quality.black and quality.signal_lost", kinds)
	}
	if a, ok := kinds["3:quality.signal_lost"]; !ok || a.Longitude != cams[2].Longitude || a.Division != "441521" || a.Image == "" {
		t.Errorf("signal lost alert: %+v", a)
	}
	if _, ok := kinds["2:quality.black"]; !ok {
		t.Errorf("no black alert: %v", kinds)
	}
	if ms, _ := db.ListMeasures(ctx, workers.DiagnosisTask(cams[0].DeviceID), "quality.brightness", time.Time{}, time.Now().Add(time.Hour), 100); len(ms) != 5 {
		t.Errorf("%d brightness measures of the original, want 5", len(ms))
	}
	// nothing is due before the revisit time
	if n, _ := r.Tick(ctx, 10*time.Second); n != 0 {
		t.Errorf("%d visits before anything is due", n)
	}
	// the lost camera comes back; a revisit later every camera is visited again
	cams[2].URL = "file://" + orig
	if err := db.ImportCameras(ctx, cams[2:3]); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(15 * time.Minute)
	if n, err := r.Tick(ctx, 10*time.Second); err != nil || n != 3 {
		t.Fatalf("second round: %d, %v", n, err)
	}
	alerts, _ = db.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}})
	if len(alerts) != 3 || alerts[0].Kind != "quality.recovered" || alerts[0].DeviceID != cams[2].DeviceID || !strings.Contains(string(alerts[0].Details), `"defect":"signal_lost"`) {
		t.Errorf("after the signal came back: %d alerts, newest %+v", len(alerts), alerts[0])
	}
	rates, err := db.OnlineRates(ctx, "camera", 20261205, 20261205, nil)
	if err != nil || len(rates) != 3 {
		t.Fatalf("online rates %+v %v", rates, err)
	}
	for _, o := range rates {
		if o.ObservedMS != (15*time.Minute).Milliseconds() || o.Rate != 1 {
			t.Errorf("%s: %+v, want 15 min observed, all online", o.Key, o)
		}
	}
}

// A camera turned to another view raises scene_changed against the reference its
// earlier visits kept (in the database, not the visit), keeps it raised, and after
// AdoptAfter the new view becomes the reference and the alarm clears.
func TestRotationTellsAMovedCamera(t *testing.T) {
	ctx := context.Background()
	db, dir := policeDB(t)
	street, other := clip(t, "street", ""), clipOf(t, "Megamind.avi", "other", "")
	cam := cameras.Valid(1, "police", "441502")
	cam.URL = "file://" + street
	if err := db.ImportCameras(ctx, []store.Camera{cam}); err != nil {
		t.Fatal(err)
	}
	objs, _ := objects.NewLocal(filepath.Join(dir, "objects"), "")
	rec := workers.NewRecorder(db, objs, nil)
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := &Rotation{DB: db, Sched: New(db, &recordingWorker{}, 100), Diagnose: rec.Diagnose, Now: func() time.Time { return clock },
		Visit: workers.Visit{Frames: 5, Timeout: 20 * time.Second, Files: true, ImportDirs: []string{filepath.Dir(street), filepath.Dir(other)}}}
	defects := func() []string {
		t.Helper()
		clock = clock.Add(15 * time.Minute)
		if n, err := r.Tick(ctx, 10*time.Second); err != nil || n != 1 {
			t.Fatalf("tick: %d visits, %v", n, err)
		}
		d, _ := db.Diagnoses(ctx, []string{cam.DeviceID})
		return d[cam.DeviceID].Defects
	}
	if got := defects(); len(got) != 0 {
		t.Fatalf("first visit: %v", got)
	}
	if ref, _, _ := db.SceneReference(ctx, cam.DeviceID); len(ref) == 0 {
		t.Fatal("no reference kept after the first visit")
	}
	cam.URL = "file://" + other // turned away
	if err := db.ImportCameras(ctx, []store.Camera{cam}); err != nil {
		t.Fatal(err)
	}
	if got := defects(); !slices.Equal(got, []string{"scene_changed"}) {
		t.Fatalf("after the camera was turned: %v", got)
	}
	if got := defects(); !slices.Equal(got, []string{"scene_changed"}) {
		t.Fatalf("the next visit forgot the change: %v", got)
	}
	r.Visit.AdoptAfter = time.Nanosecond // seen long enough: the new view is adopted
	if got := defects(); len(got) != 0 {
		t.Fatalf("after adoption: %v", got)
	}
	alerts, _ := db.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}})
	var kinds []string
	for _, a := range alerts {
		kinds = append(kinds, a.Kind)
	}
	if !slices.Equal(kinds, []string{"quality.recovered", "quality.scene_changed"}) {
		t.Errorf("alerts (newest first) %v, want the change once and its clearing", kinds)
	}
}
