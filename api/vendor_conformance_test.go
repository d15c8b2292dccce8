package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/vendorgraphs"
)

// conformance is one export style of the matrix: a vendor package and the task that
// runs it on a real clip, with what its records or alerts must show.
type conformance struct {
	style     string
	manifest  models.Manifest
	onnx      []byte
	clip      string
	algorithm string
	params    string // JSON; sample_fps defaults to 1
	check     func(t *testing.T, recs []store.Record, alerts []store.Alert)
}

// realModel is a starter model as a vendor's package.
func realModel(t *testing.T, name string) (models.Manifest, []byte) {
	m, onnx := starter(t, name)
	m.Vendor, m.Version, m.SHA256 = "acme", "1.0.0", ""
	return m, onnx
}

func style(s vendorgraphs.Style) (string, models.Manifest, []byte) { return s.Name, s.Manifest, s.ONNX }

// centred checks that every alert shows the synthetic detectors' box: the centre
// half of the 768×576 vtest frame (where stretch preprocessing maps it back).
func centred(kind string) func(t *testing.T, _ []store.Record, alerts []store.Alert) {
	return func(t *testing.T, _ []store.Record, alerts []store.Alert) {
		b := vendorgraphs.Box
		want := decode.Box{X1: b[0] * 768, Y1: b[1] * 576, X2: b[2] * 768, Y2: b[3] * 576}
		if len(alerts) == 0 {
			t.Fatalf("no %s alert", kind)
		}
		for _, a := range alerts {
			var boxes []struct{ Box decode.Box }
			json.Unmarshal(a.Boxes, &boxes)
			if a.Kind != kind || len(boxes) != 1 || decode.IoU(boxes[0].Box, want) < 0.95 {
				t.Errorf("alert %s %s, want %s at %+v", a.Kind, a.Boxes, kind, want)
			}
		}
	}
}

// Issue 23 item 5: the conformance matrix. Each vendor export style goes through
// the warehouse (upload, background validation in the sandbox, publish) and then a
// task on a real clip (an offline analysis, the same pipeline as live streams) that
// pins the vendor's build, and leaves records or alerts: real models where a
// registry package has one (BlazeFace, the importer's NanoDet), graphs built with
// the project's ONNX builder for the other styles. No style has code of its own.
func TestVendorConformanceMatrix(t *testing.T) {
	dir := t.TempDir()
	repo := models.Repository{Root: filepath.Join(dir, "repo")}
	f := newFixture(t, func(s *api.Server) { s.Repo = repo })   // analyses run on the warehouse's repository
	for _, name := range []string{"nanodet", "mobilefacenet"} { // the platform's person detector and face embedder
		installStarter(t, repo, name)
	}
	f.withWarehouseAt(dir, repo, f.objs)
	f.must("POST", "/api/v1/streams", "admin", cameras[1].body(), 201)
	vtest := "file://" + testdata.Media(t, "vtest.avi")
	alerting := func(model, options string) string {
		return `{"models":{"` + model + `":"acme/` + model + `"},"thresholds":{"score":0.2},"options":{"model":"` + model + `"` + options + `}}`
	}
	var rows []conformance
	add := func(name string, m models.Manifest, onnx []byte, clip, alg, params string, check func(*testing.T, []store.Record, []store.Alert)) {
		rows = append(rows, conformance{name, m, onnx, clip, alg, params, check})
	}
	n, m, o := style(vendorgraphs.Paddle())
	add(n, m, o, vtest, "detector_alert", alerting(m.Name, `,"rules":[{"kind":"city.garbage_overflow","labels":["garbage_overflow"],"min_score":0.2}]`), centred("city.garbage_overflow"))
	n, m, o = style(vendorgraphs.EndToEndUint8())
	add(n, m, o, vtest, "detector_alert", alerting(m.Name, ""), centred(m.Name+".garbage_overflow"))
	n, m, o = style(vendorgraphs.EfficientNMSFloat16())
	add(n, m, o, vtest, "detector_alert", alerting(m.Name, `,"rules":[{"kind":"city.overflow","labels":["garbage_overflow"],"min_score":0.2,"level":1,"levels":[{"min_count":1,"level":3}]}]`),
		func(t *testing.T, recs []store.Record, alerts []store.Alert) {
			centred("city.overflow")(t, recs, alerts)
			if len(alerts) > 0 && alerts[0].Level != 3 {
				t.Errorf("level %d, want 3 (escalated)", alerts[0].Level)
			}
		})
	n, m, o = style(vendorgraphs.SetPrediction())
	add(n, m, o, vtest, "detector_alert", alerting(m.Name, ""), centred(m.Name+".garbage_overflow"))
	n, m, o = style(vendorgraphs.SCRFD())
	add(n, m, o, vtest, "detector_alert", alerting(m.Name, ""), func(t *testing.T, _ []store.Record, alerts []store.Alert) {
		if len(alerts) == 0 || alerts[0].Kind != "scrfd-face.face" {
			t.Fatalf("alerts %+v, want scrfd-face.face", alerts)
		}
	})
	n, m, o = style(vendorgraphs.HatClassifier())
	add(n+": kitchen person_hat on nanodet persons", m, o, vtest, "kitchen_hygiene",
		`{"models":{"hat-classifier":"acme/hat-classifier"},"options":{"detector":"person_hat"}}`,
		func(t *testing.T, _ []store.Record, alerts []store.Alert) {
			if len(alerts) == 0 || alerts[0].Kind != "kitchen.no_hat" {
				t.Fatalf("alerts %+v, want kitchen.no_hat (dark heads)", alerts)
			}
		})
	n, m, o = style(vendorgraphs.Attributes())
	add(n+": person coat colour from a crop model", m, o, vtest, "person_vehicle_capture",
		`{"models":{"tone-attributes":"acme/tone-attributes"},"stage2":[{"name":"tone","model":"tone-attributes","classes":["person"],
		"region":[0,0.2,1,0.6],"fields":{"tone":"coat_color"},"values":{"dark":"purple","mid":"purple","light":"purple"}}]}`,
		func(t *testing.T, recs []store.Record, _ []store.Alert) {
			people := 0
			for _, r := range recs {
				var p gat1400.Person
				json.Unmarshal(r.Body, &p)
				if r.Type != "Person" {
					continue // the stage runs on person crops only
				}
				people++
				if p.CoatColor != gat1400.ColorPurple {
					t.Errorf("person %s coat colour %q, want the stage's purple", p.PersonID, p.CoatColor)
				}
			}
			if people == 0 {
				t.Fatal("no person records")
			}
		})
	m, o = realModel(t, "blazeface-back")
	add("real BlazeFace (SSD anchors, NHWC)", m, o, "file://"+testdata.Media(t, "faceclip.mp4"), "face_capture", `{"models":{"blazeface-back":"acme/blazeface-back"},"sample_fps":5}`,
		func(t *testing.T, recs []store.Record, _ []store.Alert) {
			if len(recs) == 0 || recs[0].Type != "Face" {
				t.Fatalf("records %d, want faces", len(recs))
			}
		})
	m, o = realModel(t, "nanodet")
	add("real NanoDet (imported TF.js, GFL head)", m, o, vtest, "person_vehicle_capture", `{"models":{"nanodet":"acme/nanodet"}}`,
		func(t *testing.T, recs []store.Record, _ []store.Alert) {
			if len(recs) < 3 || recs[0].Type != "Person" {
				t.Fatalf("%d records, want people", len(recs))
			}
		})

	for _, r := range rows {
		t.Run(r.style, func(t *testing.T) {
			code, v := f.upload("vendor", r.manifest, r.onnx, nil)
			if code != 202 {
				t.Fatalf("upload: %d %v", code, v)
			}
			path := fmt.Sprintf("/api/v1/warehouse/models/acme/%s/%s", r.manifest.Name, r.manifest.Version)
			if v = f.waitValidated(path); v["state"] != "validated" {
				t.Fatalf("validation: %v", v["report"])
			}
			f.publish(path)
			var params map[string]any
			if err := json.Unmarshal([]byte(r.params), &params); err != nil {
				t.Fatal(err)
			}
			if params["sample_fps"] == nil {
				params["sample_fps"] = 1 // key frames only: the matrix stays quick on the 80 s vtest clip
			}
			body, _ := json.Marshal(map[string]any{"device_id": cameras[1].id, "url": r.clip, "algorithm": r.algorithm, "params": params})
			a := f.must("POST", "/api/v1/analyses", "police_op", string(body), 202)
			start := time.Now()
			if got := f.waitAnalysis(a["id"].(string), "police_op", 3*time.Minute); got["state"] != "done" {
				t.Fatalf("analysis: %v", got)
			}
			task := "analysis-" + a["id"].(string)
			recs, _, err := f.db.ListRecords(context.Background(), store.RecordFilter{TaskID: task, Scope: auth.Scope{All: true}, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			alerts, err := f.db.ListAlerts(context.Background(), store.AlertFilter{TaskID: task, Scope: auth.Scope{All: true}, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d records, %d alerts in %s", r.style, len(recs), len(alerts), time.Since(start).Round(time.Second))
			r.check(t, recs, alerts)
		})
	}
}
