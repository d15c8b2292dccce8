package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

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

// appRole creates a login role on the test PostgreSQL server, has `cityeye db grant`
// migrate the database as its owner and grant the role, and returns the role's DSN:
// the deployment docs/security.md describes, for the server and its workers.
func appRole(t *testing.T, ownerDSN string) string {
	t.Helper()
	owner, err := sql.Open("pgx", ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	role := "app_" + regexp.MustCompile(`[^a-z0-9_]`).ReplaceAllString(strings.ToLower(filepath.Base(t.TempDir())), "")
	if _, err := owner.Exec(`CREATE ROLE ` + role + ` LOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Exec(`DROP OWNED BY ` + role); owner.Exec(`DROP ROLE ` + role); owner.Close() })
	if out, ok := cityeye(t, []string{"CITYEYE_DATABASE=" + ownerDSN}, "db", "grant", "--role", role); !ok {
		t.Fatalf("db grant: %s", out)
	}
	return strings.Replace(ownerDSN, "postgres://postgres@", "postgres://"+role+"@", 1)
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

// Issue 14 item 9, PostgreSQL: the server and workers connect as an application role
// that `cityeye db grant` gave INSERT and SELECT on audit_log only. With it the log
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
	appDSN := appRole(t, ownerDSN)
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
