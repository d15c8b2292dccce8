package api

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
)

func TestPlateMatches(t *testing.T) {
	for _, c := range []struct {
		mode, target, plate string
		want                bool
	}{
		{"exact", "粤B12345", "粤B12345", true},
		{"exact", "粤B12345", "粤B12346", false},
		{"fuzzy", "粤B12345", "粤B12346", true},  // one misread
		{"fuzzy", "粤B12345", "粤B1245", true},   // one missing
		{"fuzzy", "粤B12345", "粤B123455", true}, // one extra
		{"fuzzy", "粤B12345", "粤B12366", false}, // two misread
		{"fuzzy", "粤B12345", "粤B1234", true},   // the last one missing
		{"fuzzy", "粤B1?345", "粤B1X345", true},  // ? is one character
		{"fuzzy", "粤B1?345", "粤B1345", false},  // … exactly one
		{"fuzzy", "粤B*45", "粤B12345", true},    // * any run
		{"fuzzy", "粤B*45", "粤B12346", false},   // … but the rest must match
		{"fuzzy", "*D12345", "粤BD12345", true}, // leading run
		{"fuzzy", "粤B*", "粤A12345", false},     // province and authority fixed
	} {
		if got := plateMatches(c.mode, c.target, c.plate); got != c.want {
			t.Errorf("%s %s ~ %s = %v, want %v", c.mode, c.target, c.plate, got, c.want)
		}
	}
}

// plateDisposition sets a police plate disposition in force around now and lets
// the matcher place its cursors.
func (f *faceFixture) plateDisposition(now time.Time, priority int, mode, plate string) *store.Disposition {
	f.t.Helper()
	ctx := context.Background()
	d := &store.Disposition{ID: fmt.Sprintf("4415020000000120261122080000%05d", priority), DeptID: "police", UserID: "police_an", Category: "plate",
		Title: "t", Reason: "r", Priority: priority, Begin: now.Add(-time.Hour), End: now.Add(time.Hour), PlateMode: mode,
		Threshold: DefaultFaceThreshold, Body: []byte(`{}`), Targets: []store.DispositionTarget{{N: 0, Plate: plate}}}
	if err := f.db.CreateDisposition(ctx, d); err != nil {
		f.t.Fatal(err)
	}
	if err := f.srv.MatchDispositions(ctx); err != nil { // places the cursors
		f.t.Fatal(err)
	}
	return d
}

// A capture stamped before the matcher's cursor but committed after it moved on (a
// slow transaction) is still caught: the matcher reads a window behind its cursor
// again. Read twice, it alarms once.
func TestMatcherCatchesLateCommits(t *testing.T) {
	f := newFaceFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	d := f.plateDisposition(now, 2, "exact", "粤B12345")
	img, _ := os.ReadFile(testdata.Media(t, "car1.jpg"))
	const dev = "44150200001310000001"
	id := gat1400.ContentID(gat1400.SourceID(dev, gat1400.SourceImage, now, 1), gat1400.SubtypeMotorVehicle, 1)
	keys := []string{"snapshots/" + dev + "/x/" + id + "-v1-scene.jpg", "snapshots/" + dev + "/x/" + id + "-v1-crop.jpg"}
	for _, k := range keys {
		f.srv.Objects.Put(ctx, k, img, "image/jpeg")
	}
	rec := &store.Record{ID: id, Type: "MotorVehicle", DeviceID: dev, TaskID: "t", DeptID: "police", Division: "441502", TrackKey: id, ShotTime: now,
		Body: []byte(`{"MotorVehicleID":"` + id + `","PlateNo":"粤B12345"}`), Images: keys}
	if _, err := f.db.SaveRecord(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// the cursor moved past the record's stamp before it was seen
	late := store.ScanCursor{At: rec.UpdatedAt.UnixMilli() + 1000, ID: ""}
	if err := f.db.SetScanCursor(ctx, "disposition.plates", late); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.srv.MatchDispositions(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hits, _ := f.db.ListHits(ctx, d.ID, 10)
	if len(hits) != 1 || hits[0].RecordID != id {
		t.Fatalf("hits %+v, want the late record once", hits)
	}
	if cur, _, _ := f.db.GetScanCursor(ctx, "disposition.plates"); cur != late {
		t.Errorf("cursor %+v moved back from %+v", cur, late)
	}
}

// A caught record with no readable image (a peer pushed none, or retention took
// it) still alarms, with an alert without image, and does not stall the matcher.
func TestHitWithoutImages(t *testing.T) {
	f := newFaceFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	d := f.plateDisposition(now, 1, "fuzzy", "粤B1234?")
	const dev = "44150200001310000001"
	for i, images := range [][]string{{"snapshots/" + dev + "/x/gone-scene.jpg"}, {}} {
		id := gat1400.ContentID(gat1400.SourceID(dev, gat1400.SourceImage, now, i+1), gat1400.SubtypeMotorVehicle, 1)
		if _, err := f.db.SaveRecord(ctx, &store.Record{ID: id, Type: "MotorVehicle", DeviceID: dev, TaskID: "t", DeptID: "police", Division: "441502",
			TrackKey: id, ShotTime: now, Body: []byte(`{"PlateNo":"粤B12345"}`), Images: images}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.srv.MatchDispositions(ctx); err != nil {
		t.Fatal(err)
	}
	hits, _ := f.db.ListHits(ctx, d.ID, 10)
	as, _ := f.db.ListAlerts(ctx, store.AlertFilter{Kind: "disposition.plate", Scope: auth.Scope{All: true}})
	if len(hits) != 2 || len(as) != 2 || as[0].Image != "" || as[0].Level != 3 {
		t.Fatalf("hits %+v, alerts %+v", hits, as)
	}
	if n, _, err := f.db.ExpireAlerts(ctx, now.Add(time.Hour), 10); err != nil || n != 2 {
		t.Errorf("retention of image-less alerts: %d %v", n, err)
	}
}
