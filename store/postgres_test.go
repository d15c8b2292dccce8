package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/testdata/services"
)

// Servers and workers start at once and all open (and migrate) the same database:
// the migration lock lets every one of them succeed.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := services.Postgres(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	dbs := make([]*DB, n)
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = OpenPostgres(context.Background(), dsn) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		if err := dbs[i].Ping(context.Background()); err != nil {
			t.Errorf("ping %d: %v", i, err)
		}
		dbs[i].Close()
	}
	// And once more on the migrated database.
	openPostgres(t, dsn)
}

// Saves of one track from many goroutines (several workers, one camera) make one
// record, and the snapshot protocol holds: every image but the last record's is
// replaced exactly once and pending, none is lost.
func TestConcurrentSaveRecord(t *testing.T) { forEachRecordPath(t, testConcurrentSaveRecord) }

func testConcurrentSaveRecord(t *testing.T, db *DB) {
	ctx := context.Background()
	const n = 24
	var imgs []string
	for i := range n {
		imgs = append(imgs, fmt.Sprintf("snap-%02d.jpg", i))
	}
	if err := db.Intend(ctx, imgs); err != nil {
		t.Fatal(err)
	}
	shot := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var replaced []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := &Record{ID: "R1", Type: "Face", DeviceID: "d", TaskID: "t", TrackKey: "t/7", ShotTime: shot.Add(time.Duration(i) * time.Second),
				Score: float64(i) / n, Body: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), Images: []string{imgs[i]}}
			old, err := db.SaveRecord(ctx, r)
			if err != nil {
				t.Errorf("save %d: %v", i, err)
				return
			}
			mu.Lock()
			replaced = append(replaced, old...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	recs, total, err := db.ListRecords(ctx, RecordFilter{Scope: all})
	if err != nil || total != 1 || len(recs) != 1 || len(recs[0].Images) != 1 {
		t.Fatalf("want one record with one image: %d %+v %v", total, recs, err)
	}
	last := recs[0].Images[0]
	want := slices.DeleteFunc(slices.Clone(imgs), func(k string) bool { return k == last })
	slices.Sort(replaced)
	if !slices.Equal(replaced, want) {
		t.Fatalf("replaced images %v, want every image but the record's (%s) once", replaced, last)
	}
	pending, err := db.Pending(ctx)
	if err != nil || !slices.Equal(pending, want) {
		t.Fatalf("pending %v %v, want %v", pending, err, want)
	}
	// A different record (ID) for the same track is still refused.
	_, err = db.SaveRecord(ctx, &Record{ID: "R2", Type: "Face", TrackKey: "t/7", ShotTime: shot, Body: json.RawMessage(`{}`)})
	if err == nil {
		t.Fatal("a second record ID for one track was accepted")
	}
}

// Serials handed out concurrently for one device and second are distinct and dense.
func TestConcurrentNextSerial(t *testing.T) { forEachBackend(t, testConcurrentNextSerial) }

func testConcurrentNextSerial(t *testing.T, db *DB) {
	ctx := context.Background()
	const goroutines, each = 16, 10
	ts := time.Unix(1700000000, 0)
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				n, err := db.NextSerial(ctx, "44150200001310000001", ts)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("serials not distinct 1..%d: %v", goroutines*each, got)
		}
	}
	if len(got) != goroutines*each {
		t.Fatalf("%d serials, want %d", len(got), goroutines*each)
	}
}

// A record belongs to the department that produced it: an update of its track from
// another department is refused and changes nothing (issue 14 item 5, the last line
// of defence when two departments' pushes of one ID race).
func TestSaveRecordKeepsDepartment(t *testing.T) {
	forEachRecordPath(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := &Record{ID: "R1", Type: "Face", DeviceID: "d", TaskID: "viid:a", DeptID: "market", TrackKey: "viid:R1",
			ShotTime: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Body: json.RawMessage(`{"v":1}`), Images: []string{}}
		if _, err := db.SaveRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		other := *r
		other.DeptID, other.TaskID, other.Body = "police", "viid:b", json.RawMessage(`{"v":2}`)
		if _, err := db.SaveRecord(ctx, &other); !errors.Is(err, ErrConflict) {
			t.Fatalf("another department's update: %v, want ErrConflict", err)
		}
		got, err := db.GetRecord(ctx, auth.Scope{All: true}, "R1")
		if err != nil || got.DeptID != "market" || string(got.Body) != `{"v":1}` {
			t.Errorf("record after the refused update: %+v %v", got, err)
		}
	})
}
