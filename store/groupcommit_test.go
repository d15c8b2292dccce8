package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Group commit shares transactions among concurrent writers (fewer batches than
// operations) and every writer's record lands with its images out of pending; a
// refused save in the middle of a batch (another department's update) fails only
// its own caller.
func TestGroupCommitBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		db.EnableGroupCommit(GroupCommit{MaxWait: 5 * time.Millisecond})
		shot := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		rec := func(id, dept string) *Record {
			return &Record{ID: id, Type: "MotorVehicle", DeviceID: "d", TaskID: "t", DeptID: dept, TrackKey: "track/" + id, ShotTime: shot,
				Body: json.RawMessage(`{"PlateNo":"粤B` + id[len(id)-5:] + `"}`), Images: []string{id + "-scene.jpg", id + "-crop.jpg"}}
		}
		if _, err := db.SaveRecord(ctx, rec("X0000", "market")); err != nil {
			t.Fatal(err)
		}
		const writers, each = 32, 10
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				for i := range each {
					r := rec(fmt.Sprintf("R%02d%03d", w, i), "police")
					if err := db.Intend(ctx, r.Images); err != nil {
						t.Error(err)
						return
					}
					if _, err := db.SaveRecord(ctx, r); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var conflict error
		wg.Go(func() {
			<-start
			time.Sleep(5 * time.Millisecond)
			_, conflict = db.SaveRecord(ctx, rec("X0000", "police"))
		})
		close(start)
		wg.Wait()
		if !errors.Is(conflict, ErrConflict) {
			t.Fatalf("another department's update in a batch: %v, want ErrConflict", conflict)
		}
		_, total, err := db.ListRecords(ctx, RecordFilter{Scope: all})
		if err != nil || total != writers*each+1 {
			t.Fatalf("%d records (%v), want %d", total, err, writers*each+1)
		}
		if p, _ := db.Pending(ctx); len(p) != 0 {
			t.Fatalf("%d images still pending, e.g. %v", len(p), p[0])
		}
		var plates int
		db.db.QueryRowContext(ctx, `SELECT count(*) FROM plates`).Scan(&plates)
		if plates != writers*each+1 {
			t.Errorf("%d plates in the dictionary, want %d", plates, writers*each+1)
		}
		batches, ops := db.GroupCommitStats()
		if ops != 2*writers*each+2 || float64(ops)/float64(batches) < 2 {
			t.Fatalf("%d operations in %d transactions: not batched", ops, batches)
		}
		t.Logf("%d operations in %d transactions", ops, batches)
	})
}
