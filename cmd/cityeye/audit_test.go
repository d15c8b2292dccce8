package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata/services"
)

// cityeye runs the binary with extra environment; it returns the output and whether
// it exited 0.
func cityeye(t *testing.T, env []string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// appendAudit writes n entries the way the API does, from 4 goroutines at once.
func appendAudit(t *testing.T, db *store.DB, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				errs <- db.Audit(context.Background(), &store.AuditEntry{UserID: "analyst", DeptID: "police", TokenID: "t1",
					Action: "record.read", Target: fmt.Sprintf("record-%d", i), Remote: "10.0.0.9", Status: 200})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// dbRoles creates two login roles on the test PostgreSQL server, has `cityeye db
// grant` migrate the database as its owner and grant them, and returns their DSNs:
// the application role's for the API server and the worker role's for the remote
// workers, the deployment docs/security.md describes.
func dbRoles(t *testing.T, ownerDSN string) (appDSN, workerDSN string) {
	t.Helper()
	owner, err := sql.Open("pgx", ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/") // unique per test; roles are the cluster's
	app, worker := "app_"+db[:min(len(db), 50)], "wrk_"+db[:min(len(db), 50)]
	for _, r := range []string{app, worker} {
		if _, err := owner.Exec(`CREATE ROLE ` + r + ` LOGIN`); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, r := range []string{app, worker} {
			owner.Exec(`DROP OWNED BY ` + r)
			owner.Exec(`DROP ROLE ` + r)
		}
		owner.Close()
	})
	if out, ok := cityeye(t, []string{"CITYEYE_DATABASE=" + ownerDSN}, "db", "grant", "--role", app, "--worker-role", worker); !ok {
		t.Fatalf("db grant: %s", out)
	}
	as := func(role string) string {
		v := *u
		v.User = url.User(role)
		return v.String()
	}
	return as(app), as(worker)
}

var headRE = regexp.MustCompile(`head (\d+:[0-9a-f]{64})`)

// Issue 14 item 9, embedded mode: whoever holds the SQLite file can drop the
// append-only triggers and rewrite the log; `cityeye audit verify` shows each of a
// changed entry, a deleted one and a truncated tail (against the head it printed).
func TestAuditVerifyDetectsTamperingSQLite(t *testing.T) {
	for _, c := range []struct{ name, sql, want string }{
		{"changed", `UPDATE audit_log SET target='record-innocent' WHERE id=5`, "entry 5 was changed"},
		{"deleted", `DELETE FROM audit_log WHERE id=7`, "entries 7 to 7 are missing"},
		{"truncated", `DELETE FROM audit_log WHERE id=12`, "the recorded head, entry 12, is gone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := t.TempDir()
			db, err := store.OpenSQLite(context.Background(), filepath.Join(data, "cityeye.db"))
			if err != nil {
				t.Fatal(err)
			}
			appendAudit(t, db, 12)
			db.Close()
			out, ok := cityeye(t, nil, "audit", "verify", "--data", data)
			head := headRE.FindStringSubmatch(out)
			if !ok || head == nil || !strings.Contains(out, "12 entries") {
				t.Fatalf("intact log: ok=%v\n%s", ok, out)
			}
			raw, err := sql.Open("sqlite", filepath.Join(data, "cityeye.db"))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`, c.sql} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			raw.Close()
			out, ok = cityeye(t, nil, "audit", "verify", "--data", data, "--head", head[1])
			if ok || !strings.Contains(out, c.want) {
				t.Fatalf("after the entry was %s: ok=%v\n%s\nwant %q", c.name, ok, out, c.want)
			}
		})
	}
}

// Issue 14 item 9, PostgreSQL: the server connects as an application role that
// `cityeye db grant` gave INSERT and SELECT on audit_log only, the workers as a
// worker role that reads none of it. With it the log
// can be appended to from many connections at once (the chain stays one line) but
// not changed, deleted, truncated, nor its triggers disabled or dropped; what the
// owner does behind it shows in `cityeye audit verify`.
func TestAuditLogPostgresAppRole(t *testing.T) {
	ownerDSN := services.Postgres(t)
	owner, err := sql.Open("pgx", ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	appDSN, workerDSN := dbRoles(t, ownerDSN)
	app, err := store.OpenPostgres(context.Background(), appDSN) // what the server does: no migration as the app role
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if owns, err := app.OwnsAuditLog(context.Background()); err != nil || owns {
		t.Fatalf("app role owns audit_log: %v %v", owns, err)
	}
	if err := app.CreateDepartment(context.Background(), &store.Department{ID: "police", Name: "P", Areas: []string{"441500"}}); err != nil {
		t.Fatalf("the app role cannot do the server's work: %v", err)
	}
	appendAudit(t, app, 40)

	raw, err := sql.Open("pgx", appDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`UPDATE audit_log SET target='record-innocent' WHERE id=5`, `DELETE FROM audit_log WHERE id=7`, `TRUNCATE audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER ALL`, `DROP TRIGGER audit_log_append_only ON audit_log`, `DROP TABLE audit_log`,
		`INSERT INTO audit_log (id, at, user_id, dept_id, token_id, action, target, grant_id, remote, status, detail) VALUES (1000, 0, 'x', 'x', 'x', 'x', 'x', '', '', 200, '')`,
	} {
		if _, err := raw.Exec(q); err == nil && !strings.HasPrefix(q, "INSERT") {
			t.Errorf("the app role may %s", q)
		}
	}
	// a worker's DSN opens the database (what `cityeye worker` does) and writes what
	// the frame path writes, but reads nothing else
	wdb, err := store.OpenPostgres(context.Background(), workerDSN)
	if err != nil {
		t.Fatalf("the worker role cannot open the database: %v", err)
	}
	alert := &store.Alert{ID: "a-worker", Kind: "fire.fire", Image: "alerts/a.jpg", Boxes: json.RawMessage(`[]`), Details: json.RawMessage(`{}`)}
	if err := wdb.SaveAlert(context.Background(), alert); err != nil { // it numbers the alert (alerts.seq) too
		t.Errorf("the worker role cannot write an alert: %v", err)
	}
	workerWrites(t, wdb)
	wdb.Close()
	wraw, err := sql.Open("pgx", workerDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer wraw.Close()
	for _, q := range []string{`SELECT count(*) FROM audit_log`, `SELECT count(*) FROM users`, `SELECT count(*) FROM tokens`,
		`SELECT count(*) FROM streams`, `SELECT count(*) FROM viid_peers`, `INSERT INTO audit_log (id, at, user_id, dept_id, token_id, action, target, grant_id, remote, status, detail) VALUES (2000, 0, 'x', 'x', 'x', 'x', 'x', '', '', 200, '')`} {
		if _, err := wraw.Exec(q); err == nil {
			t.Errorf("the worker role may %s", q)
		}
	}
	if _, err := wraw.Exec(`INSERT INTO measures (task_id, device_id, name, value, unit, at) VALUES ('t', 'd', 'n', 1, 'u', 1)`); err != nil {
		t.Errorf("the worker role cannot write a measure: %v", err)
	}
	appEnv := []string{"CITYEYE_DATABASE=" + appDSN}
	// the forged INSERT above (no hash) went in: the chain shows it
	if out, ok := cityeye(t, appEnv, "audit", "verify"); ok || !strings.Contains(out, "entries 41 to 999 are missing") {
		t.Fatalf("forged entry not found:\n%s", out)
	}
	// the owner can still get past the triggers; the chain shows what it changed
	for _, q := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `DELETE FROM audit_log WHERE id=1000`, `ALTER TABLE audit_log ENABLE TRIGGER USER`} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	out, ok := cityeye(t, appEnv, "audit", "verify")
	if !ok || !strings.Contains(out, "40 entries (0 before the chain began)") {
		t.Fatalf("40 concurrent appends must form one intact chain:\n%s", out)
	}
	for _, q := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`, `UPDATE audit_log SET target='record-innocent' WHERE id=5`} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if out, ok := cityeye(t, appEnv, "audit", "verify"); ok || !strings.Contains(out, "entry 5 was changed") {
		t.Fatalf("owner's change not found:\n%s", out)
	}
}

// workerWrites runs, as the worker role, everything a worker's recorder does: the
// record protocol in group commit (a new record, then an update of its track), a
// replay's Reintend, a feature, and an alert written twice (a replay).
func workerWrites(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	db.EnableGroupCommit(store.GroupCommit{})
	shot := time.Now()
	if _, err := db.NextSerial(ctx, "44150200001310000001", shot); err != nil {
		t.Errorf("the worker role cannot take a serial: %v", err)
	}
	for v, imgs := range [][]string{{"w/a1.jpg", "w/a2.jpg"}, {"w/b1.jpg", "w/b2.jpg"}} {
		if err := db.Intend(ctx, imgs); err != nil {
			t.Errorf("the worker role cannot Intend: %v", err)
		}
		if err := db.Reintend(ctx, imgs); err != nil {
			t.Errorf("the worker role cannot Reintend: %v", err)
		}
		r := &store.Record{ID: "WR1", Type: "Person", DeviceID: "44150200001310000001", TaskID: "t", DeptID: "d", TrackKey: "w/1",
			ShotTime: shot, Body: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)), Images: imgs}
		if _, err := db.SaveRecord(ctx, r); err != nil {
			t.Errorf("the worker role cannot save a record (version %d): %v", v+1, err)
		}
	}
	if err := db.SaveFeature(ctx, store.Feature{RecordID: "WR1", Model: "m", Vector: []float32{1, 0}}); err != nil {
		t.Errorf("the worker role cannot save a feature: %v", err)
	}
	for range 2 {
		a := &store.Alert{ID: "AW1", Kind: "fire.smoke", DeviceID: "44150200001310000001", Time: shot, Image: "w/alert.jpg", Boxes: json.RawMessage(`[]`), Details: json.RawMessage(`{}`)}
		if err := db.SaveAlert(ctx, a); err != nil {
			t.Errorf("the worker role cannot save (or save again) an alert: %v", err)
		}
	}
}
