package store

import (
	"context"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// The catalogue import, its stream sync and the online-rate queries on both
// databases (the API tests run on SQLite only).
func TestCatalogueOnBothBackends(t *testing.T) { forEachBackend(t, testCatalogue) }

func testCatalogue(t *testing.T, db *DB) {
	ctx := context.Background()
	db.CreateDepartment(ctx, &Department{ID: "police", Name: "Police", Areas: []string{"441500"}})
	cam := func(id, name, url string) Camera {
		return Camera{DeviceID: id, Name: name, AdminDivision: "441502", OwnerDept: "police", PointType: 1, Sharing: 1, Longitude: 115.3, Latitude: 22.7, URL: url}
	}
	old := &Stream{ID: "44150200001320000002", Name: "old", URL: "rtsp://u:pw@10.0.0.2/s", AdminDivision: "441502", OwnerDept: "police", PointType: 2, Sharing: 2}
	if err := db.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	cams := []Camera{cam("44150200001320000001", "one", "rtsp://u:pw@10.0.0.1/s"), cam("44150200001320000002", "two", "rtsp://10.0.0.2/s")}
	if err := db.ImportCameras(ctx, cams); err != nil {
		t.Fatal(err)
	}
	if st, err := db.GetStream(ctx, "44150200001320000002"); err != nil || st.Name != "two" || st.URL != old.URL || st.Sharing != 1 || st.PointType != 1 {
		t.Errorf("synced stream: %+v %v (the URL without credentials keeps the stored ones)", st, err)
	}
	if st, err := db.GetStream(ctx, "44150200001320000001"); err != nil || st.URL != "rtsp://u:pw@10.0.0.1/s" {
		t.Errorf("new stream: %+v %v", st, err)
	}
	list, total, err := db.ListCameras(ctx, CameraFilter{Scope: auth.Scope{Dept: "water", Areas: []string{"440300"}}})
	if err != nil || total != 0 || len(list) != 0 {
		t.Errorf("another department outside the area sees %d cameras, %v", total, err)
	}
	list, total, err = db.ListCameras(ctx, CameraFilter{Scope: auth.Scope{All: true}, Area: "441500"})
	if err != nil || total != 2 || list[0].URL != "rtsp://10.0.0.1/s" {
		t.Errorf("list: %d %+v %v", total, list, err)
	}
	due, err := db.DueCameras(ctx, time.Now(), 10)
	if err != nil || len(due) != 2 {
		t.Errorf("due: %v %v", due, err)
	}
	db.RecordOnline(ctx, cams[0].DeviceID, 20261205, "police", "441502", time.Hour, false)
	db.RecordOnline(ctx, cams[0].DeviceID, 20261205, "police", "441502", 3*time.Hour, true)
	db.SaveDiagnosis(ctx, Diagnosis{DeviceID: cams[0].DeviceID, ProbedAt: time.Now(), DueAt: time.Now(), Defects: []string{"signal_lost"}})
	if got, div, err := db.CameraPlace(ctx, cams[0].DeviceID); err != nil || got != "police" || div != "441502" {
		t.Errorf("place: %s %s %v", got, div, err)
	}
	rates, err := db.OnlineRates(ctx, "area", 20261205, 20261205, []string{"police"})
	if err != nil || len(rates) != 1 || rates[0].Rate != 0.75 {
		t.Errorf("rates: %+v %v", rates, err)
	}
	below, err := db.CamerasBelow(ctx, 20261205, 0.95, nil)
	if err != nil || len(below) != 1 || below[0].Name != "one" || below[0].Diagnosis == nil || below[0].Diagnosis.Defects[0] != "signal_lost" {
		t.Errorf("below: %+v %v", below, err)
	}
	db.SetDiagnosisParams(ctx, "441500", []byte(`{"persist":4}`))
	if p, err := db.DiagnosisParams(ctx, cams[0].DeviceID, "441502"); err != nil || string(p) != `{"persist":4}` {
		t.Errorf("params: %s %v", p, err)
	}
}
