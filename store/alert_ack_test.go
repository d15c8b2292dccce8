package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// The first acknowledgement of an alert stands, on both backends (migration
// 00008), and an alert outside the caller's scope cannot be acknowledged.
func TestAckAlert(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
		a := Alert{ID: "A1", Kind: "fire.fire", Level: 3, TaskID: "t1", DeviceID: "44150200001310000001", DeptID: "police", Division: "441502",
			Time: at, Image: "alerts/x.jpg", Boxes: json.RawMessage(`[]`), Details: json.RawMessage(`{}`)}
		if err := db.SaveAlert(ctx, &a); err != nil {
			t.Fatal(err)
		}
		all := auth.Scope{All: true}
		if _, err := db.AckAlert(ctx, auth.Scope{Dept: "water", Areas: []string{"440300"}}, "A1", "water_op", at); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another department acknowledged: %v", err)
		}
		got, err := db.AckAlert(ctx, all, "A1", "op1", at.Add(time.Minute))
		if err != nil || got.AckedBy != "op1" || got.AckedAt == nil || !got.AckedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("ack: %+v %v", got, err)
		}
		if got, _ := db.AckAlert(ctx, all, "A1", "op2", at.Add(time.Hour)); got.AckedBy != "op1" || !got.AckedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("the second acknowledgement replaced the first: %+v", got)
		}
		if l, err := db.ListAlerts(ctx, AlertFilter{Scope: all}); err != nil || len(l) != 1 || l[0].AckedBy != "op1" {
			t.Fatalf("list: %+v %v", l, err)
		}
		// live feeds find the acknowledgement by when it was stored, within their scope
		noted, err := db.LastAckNoted(ctx)
		if err != nil || noted.IsZero() || time.Since(noted) > time.Minute {
			t.Fatalf("last acknowledgement stored at %v (%v), want about now", noted, err)
		}
		if l, err := db.ListAcked(ctx, all, noted.Add(-time.Millisecond), 10); err != nil || len(l) != 1 || l[0].ID != "A1" || !l[0].AckNoted.Equal(noted) {
			t.Fatalf("acknowledged since just before: %+v %v", l, err)
		}
		if l, err := db.ListAcked(ctx, all, noted, 10); err != nil || len(l) != 0 {
			t.Fatalf("acknowledged after the last one: %+v %v", l, err)
		}
		if l, err := db.ListAcked(ctx, auth.Scope{Dept: "water", Areas: []string{"440300"}}, time.Time{}, 10); err != nil || len(l) != 0 {
			t.Fatalf("another department's feed sees the acknowledgement: %+v %v", l, err)
		}
	})
}
