package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // pure-Go SQLite: embedded mode needs no C toolchain for its database
)

// dialect isolates what differs between SQLite and PostgreSQL.
type dialect interface {
	rebind(q string) string
	insertIgnore(rest string) string
	mapErr(err error) error
	serialPK() string               // an auto-increment 64-bit primary key column type
	appendOnly(table string) string // DDL that makes the database refuse UPDATE and DELETE on table
	forUpdate() string              // suffix of a SELECT that locks the rows it reads until the transaction ends
	retryable(err error) bool       // the transaction failed on a conflict with another and may be run again
}

type sqliteDialect struct{}

func (sqliteDialect) serialPK() string { return "INTEGER PRIMARY KEY AUTOINCREMENT" }
func (sqliteDialect) appendOnly(t string) string {
	return "CREATE TRIGGER IF NOT EXISTS " + t + "_no_update BEFORE UPDATE ON " + t + " BEGIN SELECT RAISE(ABORT, '" + t + " is append-only'); END;\n" +
		"CREATE TRIGGER IF NOT EXISTS " + t + "_no_delete BEFORE DELETE ON " + t + " BEGIN SELECT RAISE(ABORT, '" + t + " is append-only'); END;\n"
}

// SQLite has one writer at a time (and OpenSQLite one connection): a transaction's
// reads cannot go stale, so there is nothing to lock and nothing to retry.
func (sqliteDialect) forUpdate() string               { return "" }
func (sqliteDialect) retryable(error) bool            { return false }
func (sqliteDialect) rebind(q string) string          { return q }
func (sqliteDialect) insertIgnore(rest string) string { return "INSERT OR IGNORE INTO " + rest }
func (sqliteDialect) mapErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return fmt.Errorf("%w: referenced row missing", ErrNotFound)
	}
	return err
}

// postgresDialect rewrites ? placeholders to $n.
type postgresDialect struct{}

func (postgresDialect) serialPK() string { return "BIGSERIAL PRIMARY KEY" }
func (postgresDialect) appendOnly(t string) string {
	return "CREATE OR REPLACE FUNCTION cityeye_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;\n" +
		"CREATE OR REPLACE TRIGGER " + t + "_append_only BEFORE UPDATE OR DELETE ON " + t + " FOR EACH ROW EXECUTE FUNCTION cityeye_append_only();\n" +
		// TRUNCATE fires no row trigger: refuse it with a statement trigger.
		"CREATE OR REPLACE TRIGGER " + t + "_no_truncate BEFORE TRUNCATE ON " + t + " FOR EACH STATEMENT EXECUTE FUNCTION cityeye_append_only();\n"
}

// Under READ COMMITTED (the default, kept on purpose: NextSerial's INSERT … ON
// CONFLICT DO UPDATE is atomic there and never fails with a serialization error),
// FOR UPDATE makes a read-modify-write wait for a concurrent one and see its result.
func (postgresDialect) forUpdate() string        { return " FOR UPDATE" }
func (postgresDialect) retryable(err error) bool { return pgRetryable(err) }

func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
func (postgresDialect) insertIgnore(rest string) string {
	return "INSERT INTO " + rest + " ON CONFLICT DO NOTHING"
}
func (postgresDialect) mapErr(err error) error {
	switch pgCode(err) {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: referenced row missing", ErrNotFound)
	}
	return err
}

const schema = `
CREATE TABLE IF NOT EXISTS streams (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, admin_division TEXT NOT NULL,
	longitude DOUBLE PRECISION NOT NULL, latitude DOUBLE PRECISION NOT NULL, owner_dept TEXT NOT NULL,
	point_type INTEGER NOT NULL, sharing INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
	id TEXT PRIMARY KEY, stream_id TEXT NOT NULL REFERENCES streams(id), algorithm TEXT NOT NULL,
	params TEXT NOT NULL, enabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_stream ON tasks(stream_id);
CREATE TABLE IF NOT EXISTS records (
	id TEXT PRIMARY KEY, type TEXT NOT NULL, device_id TEXT NOT NULL, task_id TEXT NOT NULL,
	track_key TEXT NOT NULL UNIQUE, shot_time BIGINT NOT NULL, score DOUBLE PRECISION NOT NULL,
	body TEXT NOT NULL, images TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS records_type_time ON records(type, shot_time);
CREATE INDEX IF NOT EXISTS records_device_time ON records(device_id, shot_time);
CREATE TABLE IF NOT EXISTS pending_objects (key TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS id_serials (device_id TEXT NOT NULL, second BIGINT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (device_id, second));
CREATE TABLE IF NOT EXISTS departments (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, areas TEXT NOT NULL, quota_streams INTEGER NOT NULL, quota_tasks INTEGER NOT NULL,
	quota_fps_share DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, dept_id TEXT NOT NULL REFERENCES departments(id), role TEXT NOT NULL,
	disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
	id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
	created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
	id TEXT PRIMARY KEY, device_id TEXT NOT NULL, dept_id TEXT NOT NULL, owner_dept TEXT NOT NULL, reason TEXT NOT NULL,
	rights TEXT NOT NULL, algorithms TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL, deadline BIGINT NOT NULL,
	state TEXT NOT NULL, created_by TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at BIGINT NOT NULL, note TEXT NOT NULL,
	reminded_at BIGINT NOT NULL, withdrawn_at BIGINT NOT NULL, withdrawn_by TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_grantee ON applications(dept_id, device_id, state);
CREATE INDEX IF NOT EXISTS applications_due ON applications(state, deadline);
CREATE TABLE IF NOT EXISTS notices (
	id {{serial}}, dept_id TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, message TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS notices_dept ON notices(dept_id, id);
CREATE TABLE IF NOT EXISTS audit_log (
	id {{serial}}, at BIGINT NOT NULL, user_id TEXT NOT NULL, dept_id TEXT NOT NULL, token_id TEXT NOT NULL,
	action TEXT NOT NULL, target TEXT NOT NULL, grant_id TEXT NOT NULL, remote TEXT NOT NULL, status INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_user_at ON audit_log(user_id, at);
CREATE INDEX IF NOT EXISTS audit_target ON audit_log(target);
CREATE TABLE IF NOT EXISTS model_versions (
	vendor TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, task TEXT NOT NULL, labels TEXT NOT NULL,
	sha256 TEXT NOT NULL, size BIGINT NOT NULL, manifest TEXT NOT NULL, state TEXT NOT NULL, stage TEXT NOT NULL,
	progress INTEGER NOT NULL, report TEXT NOT NULL, bench TEXT NOT NULL, uploaded_by TEXT NOT NULL,
	created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, published_at BIGINT NOT NULL, PRIMARY KEY (vendor, name, version));
CREATE INDEX IF NOT EXISTS model_versions_state ON model_versions(state);
CREATE TABLE IF NOT EXISTS alerts (
	id TEXT PRIMARY KEY, kind TEXT NOT NULL, level INTEGER NOT NULL, task_id TEXT NOT NULL, device_id TEXT NOT NULL,
	dept_id TEXT NOT NULL, admin_division TEXT NOT NULL, grant_id TEXT NOT NULL, longitude DOUBLE PRECISION NOT NULL,
	latitude DOUBLE PRECISION NOT NULL, zone TEXT NOT NULL, at BIGINT NOT NULL, image TEXT NOT NULL, boxes TEXT NOT NULL,
	details TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_dept_at ON alerts(dept_id, at);
CREATE INDEX IF NOT EXISTS alerts_device_at ON alerts(device_id, at);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts(created_at);
CREATE TABLE IF NOT EXISTS measures (
	task_id TEXT NOT NULL, device_id TEXT NOT NULL, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, unit TEXT NOT NULL,
	at BIGINT NOT NULL, PRIMARY KEY (task_id, name, at));
`

// columns added after the first release: (table, column, definition); migrate adds
// the ones an older database lacks.
var addedColumns = [][3]string{
	{"tasks", "dept_id", "TEXT NOT NULL DEFAULT ''"},
	{"records", "dept_id", "TEXT NOT NULL DEFAULT ''"},
	{"records", "admin_division", "TEXT NOT NULL DEFAULT ''"},
	{"records", "grant_id", "TEXT NOT NULL DEFAULT ''"},
}

// execer is what migrate needs: a *sql.DB, or one *sql.Conn (PostgreSQL migrates on
// the connection that holds the migration lock).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// migrate creates the schema and brings an older database up to it. The schema is
// one multi-statement string: SQLite runs it whole, and so does PostgreSQL, since
// pgx sends a statement without arguments over the simple query protocol.
func migrate(ctx context.Context, db execer, d dialect) error {
	if _, err := db.ExecContext(ctx, strings.ReplaceAll(schema, "{{serial}}", d.serialPK())); err != nil {
		return err
	}
	for _, c := range addedColumns {
		if _, err := db.ExecContext(ctx, "SELECT "+c[1]+" FROM "+c[0]+" WHERE 1=0"); err == nil {
			continue
		}
		if _, err := db.ExecContext(ctx, "ALTER TABLE "+c[0]+" ADD COLUMN "+c[1]+" "+c[2]); err != nil {
			return fmt.Errorf("add %s.%s: %w", c[0], c[1], err)
		}
	}
	for _, ddl := range []string{
		"CREATE INDEX IF NOT EXISTS records_dept_time ON records(dept_id, shot_time)",
		"CREATE INDEX IF NOT EXISTS tasks_dept ON tasks(dept_id)",
		d.appendOnly("audit_log"),
	} {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return err
		}
	}
	return nil
}

// OpenSQLite opens (creating) the embedded database at path. WAL mode and
// synchronous=FULL make every committed record survive a process or power loss.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises anyway and this avoids SQLITE_BUSY
	if err := migrate(ctx, db, sqliteDialect{}); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &DB{db: db, dialect: sqliteDialect{}}, nil
}
