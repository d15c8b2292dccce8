package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Dispositions on both databases: set with targets (vectors round-trip), listed,
// in force until withdrawn (once), the version moving with each change; a hit is
// stored once with its alert and notification, a second one for the same record
// is refused and stores nothing; the matcher's reads of changed plates and faces
// follow their cursors; cursors persist.
func TestDispositionsBothBackends(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		v0, _ := db.DispositionsVersion(ctx)
		d := &Disposition{ID: "441502000000012026112208000000001", DeptID: "police", UserID: "op", Category: "face", Title: "t", Reason: "r", Priority: 1,
			Begin: now.Add(-time.Hour), End: now.Add(time.Hour), Areas: []string{"441502"}, PlateMode: "exact", Threshold: 0.75, Body: []byte(`{"Title":"t"}`),
			Targets: []DispositionTarget{{N: 0, Model: "m", Vector: []float32{0.6, 0.8}, Image: "dispositions/x/0.jpg"}}}
		if err := db.CreateDisposition(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateDisposition(ctx, d); !errors.Is(err, ErrConflict) {
			t.Errorf("a taken ID: %v", err)
		}
		got, err := db.GetDisposition(ctx, d.ID)
		if err != nil || len(got.Targets) != 1 || got.Targets[0].Vector[1] != 0.8 || got.Areas[0] != "441502" || !got.End.Equal(d.End) {
			t.Fatalf("get: %+v %v", got, err)
		}
		if ds, total, err := db.ListDispositions(ctx, "police", 0, 10); err != nil || total != 1 || len(ds) != 1 {
			t.Errorf("list: %d %v", total, err)
		}
		if ds, _ := db.ActiveDispositions(ctx, now); len(ds) != 1 || len(ds[0].Targets) != 1 {
			t.Errorf("active: %+v", ds)
		}
		v1, _ := db.DispositionsVersion(ctx)

		a := &Alert{ID: "D1", Kind: "disposition.face", Level: 3, DeviceID: "dev", DeptID: "police", Time: now, Image: "alerts/x/D1.jpg", Boxes: []byte(`[]`), Details: []byte(`{}`)}
		n := &Notification{ID: "N1", SubID: d.ID, DeptID: "police", Items: []string{"R1"}, Body: []byte(`{}`)}
		if err := db.SaveDispositionHit(ctx, &DispositionHit{DispositionID: d.ID, RecordID: "R1", Score: 0.9, AlertID: "D1", NotificationID: "N1"}, a, n); err != nil {
			t.Fatal(err)
		}
		a2 := &Alert{ID: "D2", Kind: "disposition.face", Time: now, Image: "", Boxes: []byte(`[]`), Details: []byte(`{}`)}
		if err := db.SaveDispositionHit(ctx, &DispositionHit{DispositionID: d.ID, RecordID: "R1", AlertID: "D2"}, a2, nil); !errors.Is(err, ErrConflict) {
			t.Errorf("second hit of a record: %v", err)
		}
		if _, err := db.GetAlert(ctx, auth.Scope{All: true}, "D2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("the refused hit's alert was stored: %v", err)
		}
		if ok, _ := db.HasHit(ctx, d.ID, "R1"); !ok {
			t.Error("HasHit")
		}
		if hs, _ := db.ListHits(ctx, d.ID, 10); len(hs) != 1 || hs[0].NotificationID != "N1" {
			t.Errorf("hits: %+v", hs)
		}
		if nn, err := db.GetNotification(ctx, "N1"); err != nil || nn.State != "pending" {
			t.Errorf("notification: %+v %v", nn, err)
		}

		if err := db.WithdrawDisposition(ctx, d.ID, "op", "found", []byte(`{}`), now); err != nil {
			t.Fatal(err)
		}
		if err := db.WithdrawDisposition(ctx, d.ID, "op", "found", []byte(`{}`), now); !errors.Is(err, ErrState) {
			t.Errorf("withdrawn twice: %v", err)
		}
		if err := db.WithdrawDisposition(ctx, "nope", "op", "x", []byte(`{}`), now); !errors.Is(err, ErrNotFound) {
			t.Errorf("withdraw unknown: %v", err)
		}
		if ds, _ := db.ActiveDispositions(ctx, now); len(ds) != 0 {
			t.Errorf("active after withdrawal: %d", len(ds))
		}
		if v2, _ := db.DispositionsVersion(ctx); v0 == v1 || v1 == v2 {
			t.Errorf("versions %s %s %s do not move", v0, v1, v2)
		}

		// changed captures, in change order, after the cursor
		for i, r := range []*Record{
			{ID: "MV1", Type: "MotorVehicle", Body: []byte(`{"PlateNo":"粤b 12345"}`)},
			{ID: "MV2", Type: "MotorVehicle", Body: []byte(`{}`)}, // no plate: not watched
			{ID: "F1", Type: "Face", Body: []byte(`{}`)},
		} {
			r.DeviceID, r.DeptID, r.TaskID, r.TrackKey, r.ShotTime, r.Images = "dev", "police", "t", r.ID, now.Add(time.Duration(i)*time.Second), []string{}
			if _, err := db.SaveRecord(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SaveFeature(ctx, Feature{RecordID: "F1", Model: "m", Vector: []float32{1, 0}}); err != nil {
			t.Fatal(err)
		}
		start := ScanCursor{At: now.Add(-time.Minute).UnixMilli()}
		plates, err := db.ChangedSince(ctx, false, start, 10)
		if err != nil || len(plates) != 1 || plates[0].ID != "MV1" || plates[0].Plate != "粤B12345" || plates[0].Changed == 0 {
			t.Fatalf("plates: %+v %v", plates, err)
		}
		if after, _ := db.ChangedSince(ctx, false, ScanCursor{At: plates[0].Changed, ID: "MV1"}, 10); len(after) != 0 {
			t.Errorf("after the cursor: %+v", after)
		}
		faces, err := db.ChangedSince(ctx, true, start, 10)
		if err != nil || len(faces) != 1 || faces[0].ID != "F1" || faces[0].Model != "m" || len(faces[0].Vector) != 2 {
			t.Fatalf("faces: %+v %v", faces, err)
		}
		if _, ok, _ := db.GetScanCursor(ctx, "c"); ok {
			t.Error("a cursor before any was set")
		}
		for _, c := range []ScanCursor{{At: 5, ID: "a"}, {At: 7, ID: "b"}} {
			if err := db.SetScanCursor(ctx, "c", c); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := db.GetScanCursor(ctx, "c"); !ok || err != nil || got != c {
				t.Errorf("cursor %+v, want %+v (%v)", got, c, err)
			}
		}
	})
}
