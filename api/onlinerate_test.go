package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/catalogue"
	catcams "github.com/cityeye/cityeye/testdata/cameras"
	"github.com/cityeye/cityeye/workers"
)

// Online time per camera and day adds up per camera, department and area; each
// department sees its own; the daily report lists the cameras under 95 % worst first
// with their last diagnosis; /metrics has today's rates.
func TestOnlineRateAggregation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b, m := catcams.Valid(1, "police", "441502"), catcams.Valid(2, "police", "441521"), catcams.Valid(3, "market", "441502")
	if code, out := f.importFile("admin", "c.csv", catalogueFile(t, catalogue.CSV, catalogue.English, a, b, m)); code != 200 {
		t.Fatalf("import: %d %v", code, out)
	}
	const day1, day2 = 20261121, 20261122 // the fixture's clock is 2026-11-22 16:00 in China
	h := time.Hour
	for _, o := range []struct {
		cam          store.Camera
		day          int
		online, seen time.Duration
	}{{a, day1, 22 * h, 24 * h}, {a, day2, 8 * h, 8 * h}, {b, day1, 12 * h, 24 * h}, {m, day1, 24 * h, 24 * h}} {
		// in two parts: online time adds up within a day
		if err := f.db.RecordOnline(ctx, o.cam.DeviceID, o.day, o.cam.OwnerDept, o.cam.AdminDivision, o.online, true); err != nil {
			t.Fatal(err)
		}
		if err := f.db.RecordOnline(ctx, o.cam.DeviceID, o.day, o.cam.OwnerDept, o.cam.AdminDivision, o.seen-o.online, false); err != nil {
			t.Fatal(err)
		}
	}
	f.db.SaveDiagnosis(ctx, store.Diagnosis{DeviceID: b.DeviceID, ProbedAt: f.now, DueAt: f.now, Online: true, Defects: []string{"black", "noisy"}})

	rates := func(user, query string) map[string]float64 {
		out := map[string]float64{}
		for _, r := range f.must("GET", "/api/v1/online-rate?"+query, user, "", 200)["rates"].([]any) {
			m := r.(map[string]any)
			out[m["key"].(string)] = m["rate"].(float64)
		}
		return out
	}
	near := func(what string, got map[string]float64, want map[string]float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || g < w-1e-9 || g > w+1e-9 {
				t.Errorf("%s %s: %v, want %v", what, k, got[k], w)
			}
		}
	}
	near("by camera", rates("admin", "by=camera&from=2026-11-21&to=2026-11-22"), map[string]float64{a.DeviceID: 30.0 / 32, b.DeviceID: 0.5, m.DeviceID: 1})
	near("by department", rates("admin", "by=department&from=20261121&to=20261122"), map[string]float64{"police": 42.0 / 56, "market": 1})
	near("by area", rates("admin", "by=area&from=20261121&to=20261121"), map[string]float64{"441502": 46.0 / 48, "441521": 0.5})
	near("market's view", rates("market_admin", "by=department&from=20261121&to=20261122"), map[string]float64{"market": 1})
	f.must("GET", "/api/v1/online-rate?by=street", "admin", "", 400)
	f.must("GET", "/api/v1/online-rate?from=yesterday", "admin", "", 400)

	rep, err := csv.NewReader(bytes.NewReader(f.download("/api/v1/online-rate/report.csv?day=2026-11-21", "admin", 200))).ReadAll()
	if err != nil || len(rep) != 3 || rep[1][1] != b.DeviceID || rep[1][5] != "0.5000" || rep[1][10] != "black noisy" || rep[2][1] != a.DeviceID || rep[2][8] != "" {
		t.Errorf("report: %v %v", rep, err)
	}
	if rep, _ := csv.NewReader(bytes.NewReader(f.download("/api/v1/online-rate/report.csv?day=2026-11-21", "market_admin", 200))).ReadAll(); len(rep) != 1 {
		t.Errorf("market's report lists police cameras: %v", rep)
	}
	metrics := string(f.download("/metrics", "admin", 200))
	if !strings.Contains(metrics, `cityeye_online_rate{by="department",key="police"} 1`) || !strings.Contains(metrics, `cityeye_online_rate{by="area",key="441502"} 1`) {
		t.Errorf("metrics lack today's online rates:\n%s", metrics)
	}

	// thresholds: a camera's own (its owner's admins), an area's default (the platform office)
	f.must("PUT", "/api/v1/diagnosis/params/"+a.DeviceID, "market_admin", `{"options":{"blur_sharpness":20}}`, 403)
	f.must("PUT", "/api/v1/diagnosis/params/441502", "police_admin", `{"options":{"blur_sharpness":20}}`, 403)
	if code, out := f.do("PUT", "/api/v1/diagnosis/params/"+a.DeviceID, "police_admin", `{"options":{"blur_sharpnes":20}}`); code != 400 || out["field"] != "options" {
		t.Errorf("unknown option: %d %v", code, out)
	}
	f.must("PUT", "/api/v1/diagnosis/params/441500", "admin", `{"options":{"persist":4}}`, 200)
	f.must("PUT", "/api/v1/diagnosis/params/"+a.DeviceID, "police_admin", `{"options":{"blur_sharpness":20}}`, 200)
	for _, c := range []struct {
		cam  store.Camera
		want string
	}{{a, `{"blur_sharpness":20}`}, {m, `{"persist":4}`}} {
		if got, err := f.db.DiagnosisParams(ctx, c.cam.DeviceID, c.cam.AdminDivision); err != nil || string(got) != c.want {
			t.Errorf("params of %s: %s %v, want %s", c.cam.DeviceID, got, err, c.want)
		}
	}
}

// A camera's picture diagnosis (issue 20): the last visit and every visit's measures,
// for those who may see the camera; others get a 404 naming the camera.
func TestCameraDiagnosisMeasures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cam := catcams.Valid(1, "police", "441502")
	if code, out := f.importFile("admin", "c.csv", catalogueFile(t, catalogue.CSV, catalogue.English, cam)); code != 200 {
		t.Fatalf("import: %d %v", code, out)
	}
	task := workers.DiagnosisTask(cam.DeviceID)
	if err := f.db.SaveMeasures(ctx, []store.Measure{
		{TaskID: task, DeviceID: cam.DeviceID, Name: "quality.brightness", Value: 0.4, Time: f.now.Add(-time.Minute)},
		{TaskID: task, DeviceID: cam.DeviceID, Name: "quality.sharpness", Value: 1.5, Time: f.now.Add(-time.Minute)},
		{TaskID: task, DeviceID: cam.DeviceID, Name: "quality.brightness", Value: 0.5, Time: f.now},
	}); err != nil {
		t.Fatal(err)
	}
	f.db.SaveDiagnosis(ctx, store.Diagnosis{DeviceID: cam.DeviceID, ProbedAt: f.now, DueAt: f.now, Online: true, Defects: []string{"black"}})
	path := "/api/v1/cameras/" + cam.DeviceID + "/diagnosis"
	out := f.must("GET", path+"?name=quality.brightness", "police_op", "", 200)
	ms := out["measures"].([]any)
	if len(ms) != 2 || ms[0].(map[string]any)["value"] != 0.4 || ms[1].(map[string]any)["value"] != 0.5 {
		t.Errorf("brightness measures %v", ms)
	}
	if last := out["last"].(map[string]any); fmt.Sprint(last["defects"]) != "[black]" {
		t.Errorf("last visit %v", last)
	}
	if all := f.must("GET", path, "admin", "", 200); all["total"] != 3.0 {
		t.Errorf("all measures: %v", all["total"])
	}
	if code, out := f.do("GET", path, "water_op", ""); code != 404 || out["field"] != "id" {
		t.Errorf("another department outside the area: %d %v", code, out)
	}
}
