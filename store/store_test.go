package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store/objects"
)

var all = auth.Scope{All: true}

func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStreamsAndTasks(t *testing.T) { forEachBackend(t, testStreamsAndTasks) }

func testStreamsAndTasks(t *testing.T, db *DB) {
	ctx := context.Background()
	st := &Stream{ID: "44150200001310000001", Name: "gate", URL: "file:///x.avi", AdminDivision: "441502", OwnerDept: "police", PointType: 1, Sharing: 1}
	if err := db.CreateStream(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateStream(ctx, st); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate stream: %v", err)
	}
	if err := db.CreateTask(ctx, &Task{ID: "t1", StreamID: "00000000000000000000", Algorithm: "face_capture"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("task on missing stream: %v", err)
	}
	task := &Task{ID: "t1", StreamID: st.ID, Algorithm: "face_capture", Params: json.RawMessage(`{"sample_fps":5}`), Enabled: true}
	if err := db.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetTask(ctx, "t1")
	if err != nil || got.Algorithm != "face_capture" || !got.Enabled || string(got.Params) != `{"sample_fps":5}` {
		t.Fatalf("%+v %v", got, err)
	}
	st.Name = "north gate"
	if err := db.UpdateStream(ctx, st); err != nil {
		t.Fatal(err)
	}
	if s2, _ := db.GetStream(ctx, st.ID); s2.Name != "north gate" {
		t.Fatalf("update lost: %+v", s2)
	}
	if err := db.DeleteStream(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetTask(ctx, "t1"); !errors.Is(err, ErrNotFound) {
		t.Fatal("task survived its stream")
	}
}

func TestRecordProtocolAndSweep(t *testing.T) { forEachRecordPathReopen(t, testRecordProtocolAndSweep) }

func testRecordProtocolAndSweep(t *testing.T, open func() *DB) {
	ctx := context.Background()
	dir := t.TempDir()
	db := open()
	objs, _ := objects.NewLocal(filepath.Join(dir, "objects"), "")
	shot := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	write := func(r *Record) {
		t.Helper()
		if err := db.Intend(ctx, r.Images); err != nil {
			t.Fatal(err)
		}
		for _, k := range r.Images {
			objs.Put(ctx, k, []byte("jpeg"), "image/jpeg")
		}
		old, err := db.SaveRecord(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range old {
			objs.Delete(ctx, k)
		}
		db.Forget(ctx, old)
	}
	r := &Record{ID: "A", Type: "Person", DeviceID: "d", TaskID: "t", TrackKey: "t/1", ShotTime: shot, Score: 0.5, Body: json.RawMessage(`{}`), Images: []string{"a1.jpg", "a2.jpg"}}
	write(r)
	// a better snapshot updates the same record and replaces its images
	r2 := &Record{ID: "A", Type: "Person", DeviceID: "d", TaskID: "t", TrackKey: "t/1", ShotTime: shot.Add(time.Second), Score: 0.9, Body: json.RawMessage(`{"v":2}`), Images: []string{"b1.jpg", "b2.jpg"}}
	write(r2)
	recs, total, err := db.ListRecords(ctx, RecordFilter{Scope: all})
	if err != nil || total != 1 || recs[0].Score != 0.9 || recs[0].Images[0] != "b1.jpg" {
		t.Fatalf("after update: %d %+v %v", total, recs, err)
	}
	keys, _ := objs.List(ctx, "")
	if len(keys) != 2 {
		t.Fatalf("replaced snapshots not deleted: %v", keys)
	}
	// crash after Intend+Put, before SaveRecord: the images are orphans until Sweep
	db.Intend(ctx, []string{"c1.jpg"})
	objs.Put(ctx, "c1.jpg", []byte("x"), "")
	db.Close()
	db = open()
	n, err := db.Sweep(ctx, objs)
	if err != nil || n != 1 {
		t.Fatalf("sweep %d %v", n, err)
	}
	keys, _ = objs.List(ctx, "")
	if len(keys) != 2 {
		t.Fatalf("after sweep: %v", keys)
	}
	if p, _ := db.Pending(ctx); len(p) != 0 {
		t.Fatalf("pending after sweep %v", p)
	}
	if _, err := db.GetRecord(ctx, all, "A"); err != nil {
		t.Fatal("committed record lost across reopen")
	}
}

func TestListRecordsFilters(t *testing.T) { forEachBackend(t, testListRecordsFilters) }

func testListRecordsFilters(t *testing.T, db *DB) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 30; i++ {
		typ := "Person"
		if i%3 == 0 {
			typ = "Face"
		}
		db.SaveRecord(ctx, &Record{ID: string(rune('a'+i%26)) + string(rune('0'+i/26)), Type: typ, DeviceID: "d", TaskID: "t",
			TrackKey: "k" + string(rune('a'+i)), ShotTime: base.Add(time.Duration(i) * time.Minute), Body: json.RawMessage(`{}`)})
	}
	faces, total, _ := db.ListRecords(ctx, RecordFilter{Type: "Face", Scope: all})
	if total != 10 || len(faces) != 10 {
		t.Fatalf("faces %d", total)
	}
	page, total, _ := db.ListRecords(ctx, RecordFilter{From: base.Add(10 * time.Minute), To: base.Add(19 * time.Minute), Limit: 4, Offset: 4, Scope: all})
	if total != 10 || len(page) != 4 || !page[0].ShotTime.Equal(base.Add(15*time.Minute)) {
		t.Fatalf("page total %d first %v", total, page[0].ShotTime)
	}
	counts, _ := db.CountRecords(ctx)
	if counts["Face"] != 10 || counts["Person"] != 20 {
		t.Fatal(counts)
	}
}

func TestSerialsSurviveRestart(t *testing.T) { forEachBackendReopen(t, testSerialsSurviveRestart) }

func testSerialsSurviveRestart(t *testing.T, open func() *DB) {
	ctx := context.Background()
	db := open()
	ts := time.Unix(1700000000, 0)
	a, _ := db.NextSerial(ctx, "dev", ts)
	b, _ := db.NextSerial(ctx, "dev", ts)
	db.Close()
	db = open()
	c, err := db.NextSerial(ctx, "dev", ts)
	if err != nil || a != 1 || b != 2 || c != 3 {
		t.Fatalf("serials %d %d %d %v", a, b, c, err)
	}
	if d, _ := db.NextSerial(ctx, "dev", ts.Add(time.Second)); d != 1 {
		t.Fatalf("new second serial %d", d)
	}
	// k at once: the first of k consecutive ones, the next call goes on after them
	if e, err := db.NextSerials(ctx, "dev", ts, 2); err != nil || e != 4 {
		t.Fatalf("two serials from %d (%v), want 4 and 5", e, err)
	}
	if f, _ := db.NextSerials(ctx, "dev2", ts, 2); f != 1 {
		t.Fatalf("two serials of a new device from %d, want 1", f)
	}
	if g, _ := db.NextSerial(ctx, "dev", ts); g != 6 {
		t.Fatalf("serial after two at once %d, want 6", g)
	}
}

// The audit log is append-only in the database itself, not just in the API.
func TestAuditLogIsAppendOnly(t *testing.T) { forEachBackend(t, testAuditLogIsAppendOnly) }

func testAuditLogIsAppendOnly(t *testing.T, db *DB) {
	ctx := context.Background()
	e := &AuditEntry{UserID: "u", DeptID: "d", Action: "record.read", Target: "r1", Status: 200}
	if err := db.Audit(ctx, e); err != nil || e.ID == 0 {
		t.Fatalf("append: %v %d", err, e.ID)
	}
	// The statements are valid: they fail only because the database refuses them.
	tamper := []string{`UPDATE audit_log SET user_id='someone else' WHERE id=?`, `DELETE FROM audit_log`}
	if _, ok := db.dialect.(postgresDialect); ok {
		tamper = append(tamper, `TRUNCATE audit_log`)
	}
	for _, q := range tamper {
		args := []any{e.ID}
		if !strings.Contains(q, "?") {
			args = nil
		}
		if _, err := db.db.ExecContext(ctx, db.q(q), args...); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s on the audit log: %v, want the append-only refusal", q, err)
		}
	}
	got, err := db.GetAudit(ctx, e.ID)
	if err != nil || got.UserID != "u" || got.Target != "r1" {
		t.Fatalf("entry after tampering attempts: %+v %v", got, err)
	}
}
