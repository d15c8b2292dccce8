package api

import (
	"context"
	"os"
	"testing"
	"time"

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

// A capture stamped before the matcher's cursor but committed after it moved on (a
// slow transaction) is still caught: the matcher reads a window behind its cursor
// again. Read twice, it alarms once.
func TestMatcherCatchesLateCommits(t *testing.T) {
	f := newFaceFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	d := &store.Disposition{ID: "441502000000012026112208000000001", DeptID: "police", UserID: "police_an", Category: "plate", Title: "t", Reason: "r",
		Priority: 2, Begin: now.Add(-time.Hour), End: now.Add(time.Hour), PlateMode: "exact", Threshold: DefaultFaceThreshold,
		Body: []byte(`{}`), Targets: []store.DispositionTarget{{N: 0, Plate: "粤B12345"}}}
	if err := f.db.CreateDisposition(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.MatchDispositions(ctx); err != nil { // places the cursors
		t.Fatal(err)
	}
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
