package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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
	indexExists() string            // a query with one parameter, the index name, that returns a row if it exists
	// plateTrigram creates the trigram index for plate substring search where the
	// database can have one (substring search scans without it).
	plateTrigram(ctx context.Context, db execer)
	// include is the INCLUDE clause of a covering index ("" where unsupported).
	include(cols string) string
	// freshPlan marks a query's arguments so that it is planned for their values at
	// every execution, never with a cached generic plan (searches: see search.go).
	freshPlan(args []any) []any
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
func (sqliteDialect) indexExists() string {
	return "SELECT 1 FROM sqlite_master WHERE type='index' AND name=?"
}

// SQLite has no trigram index (FTS5's trigram tokenizer would need a second table
// kept in step): a plate substring search scans the rows the other conditions and
// the time window leave, which at embedded-mode sizes is fine.
func (sqliteDialect) plateTrigram(context.Context, execer) {}

// SQLite plans every statement when it is prepared, with no parameter values.
func (sqliteDialect) freshPlan(args []any) []any { return args }

// SQLite has no INCLUDE: its plate index stays plain (it still finds the rows; the
// covering only saves PostgreSQL heap reads).
func (sqliteDialect) include(string) string { return "" }
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
func (postgresDialect) indexExists() string {
	return "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?"
}

// plateTrigram: a GIN pg_trgm index on the plates dictionary answers plate_no LIKE
// '%B123%' without reading it all. The pg_trgm extension ships with PostgreSQL
// (Debian's postgresql-15 package includes it) and is "trusted" since PostgreSQL 13:
// the database owner, or any role with CREATE on the database, may create it;
// superuser is not needed. Where even that is not allowed, or the extension is not
// installed, the index is skipped with a warning and substring search still works,
// scanning the dictionary (one short row per distinct plate: tens of milliseconds at
// a million plates). An administrator can run CREATE EXTENSION pg_trgm later: the
// next start creates the index.
func (postgresDialect) plateTrigram(ctx context.Context, db execer) {
	if _, err := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
		slog.Warn("store: no pg_trgm extension; plate substring search will scan the plate dictionary instead of using a trigram index",
			"err", err, "fix", "CREATE EXTENSION pg_trgm (as the database owner or a superuser), then restart")
		return
	}
	if _, err := db.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS plates_trgm ON plates USING gin (plate_no gin_trgm_ops)"); err != nil {
		slog.Warn("store: could not create the plate trigram index; plate substring search will scan the plate dictionary", "err", err)
	}
}

func (postgresDialect) include(cols string) string { return " INCLUDE (" + cols + ")" }

// freshPlan: pgx prepares and caches statements by default, and after five runs
// PostgreSQL may switch a prepared statement to a generic plan, made without the
// parameter values. For a search the best plan depends on them (plate_no LIKE $1
// with a selective pattern wants the trigram index; a generic plan guesses 0.5% of
// the table), so searches go as an unnamed statement, planned with the values each
// time: a fraction of a millisecond of planning, still sent as parameters.
func (postgresDialect) freshPlan(args []any) []any {
	return append([]any{pgx.QueryExecModeExec}, args...)
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
	// search columns extracted from the body at write time (search.go); a constant
	// default makes ADD COLUMN instant on PostgreSQL 11+ (no table rewrite)
	{"records", "plate_no", "TEXT NOT NULL DEFAULT ''"},
	{"records", "plate_color", "TEXT NOT NULL DEFAULT ''"},
	{"records", "vehicle_color", "TEXT NOT NULL DEFAULT ''"},
	{"records", "vehicle_class", "TEXT NOT NULL DEFAULT ''"},
	{"records", "longitude", "DOUBLE PRECISION NOT NULL DEFAULT 0"}, // the camera's; 0, 0 is unknown
	{"records", "latitude", "DOUBLE PRECISION NOT NULL DEFAULT 0"},
}

// searchTables: plates is the dictionary of distinct plate numbers ever recorded
// (SaveRecord adds to it). A substring search finds the matching plates there, a few
// hundred short rows, and then their records through records_plate_time, instead of
// testing every vehicle record. Deleted records leave their plate behind: a plate
// that matches but has no records left costs one index probe.
var searchTables = []string{
	"CREATE TABLE IF NOT EXISTS plates (plate_no TEXT PRIMARY KEY)",
}

// searchIndexes serve SearchRecords (search.go). Every search is bounded by a shot-time
// window and sorted by shot_time DESC, so the indexes end (or, for the map, start) in
// shot_time: after an equality on the leading column the newest rows come first and
// the scan stops at the page size. Indexes that already existed serve searches too:
// records_device_time (device_id, shot_time) the device + time query (a camera's hour
// is a few hundred rows at most), records_type_time (type, shot_time) type + time for
// the platform office, and records_dept_time (dept_id, shot_time) the department
// scope, which is in every query a department runs (recordScope's records.dept_id =
// ?), so a department's search with no selective filter walks its own newest records.
// The trigram index on plates is PostgreSQL's plateTrigram.
func searchIndexes(d dialect) []string {
	return []string{
		// Plate exact and substring ("where was 粤B12345 this month"): a plate's
		// sightings, newest first. Partial: faces and people (most records) have no
		// plate and stay out of it; the query repeats the predicate (plate_no <> '') so
		// both databases use it. On PostgreSQL it also carries (INCLUDE) what the scope
		// and a type filter test, so a substring search, which ranks the sightings of
		// every matching plate, does so from the index alone and reads only the page's
		// rows from the table (search.go).
		"CREATE INDEX IF NOT EXISTS records_plate_time ON records(plate_no, shot_time)" + d.include("id, type, dept_id, admin_division, grant_id") + " WHERE plate_no <> ''",
		// Area + time: one district (441502) is an equality, newest first; a wider
		// prefix (4415) a range over a few district codes, queried with >= and <, which
		// a plain B-tree serves in any collation, unlike LIKE 'prefix%'.
		"CREATE INDEX IF NOT EXISTS records_area_time ON records(admin_division, shot_time)",
		// Type + time for a department ("our faces today"): with records_type_time
		// alone, the scope would filter every record of the type in the window, and a
		// department with none of that type would read the whole window. Also what the
		// VIID query path (records.type = ? within the scope) wants.
		"CREATE INDEX IF NOT EXISTS records_dept_type_time ON records(dept_id, type, shot_time)",
		// Map rectangle + time: there is no spatial type without PostGIS, and a B-tree
		// on (longitude, …) would read every record in the longitude strip over all
		// time. Time leads instead: the window is scanned newest first and the
		// rectangle is tested on the index entries (longitude and latitude are in the
		// key), so only matching rows are read from the table. Partial: records with no
		// position (0, 0) cannot match.
		"CREATE INDEX IF NOT EXISTS records_geo_time ON records(shot_time, longitude, latitude) WHERE longitude <> 0",
	}
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
	for _, ddl := range searchTables {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return err
		}
	}
	// Records written before the search columns existed are backfilled once. The plate
	// index is created after the backfill, so its absence means "not done yet": a
	// backfill cut short by a crash runs again at the next start. (On a large database,
	// create the indexes beforehand with CREATE INDEX CONCURRENTLY: IF NOT EXISTS then
	// skips them and nothing here locks the table for long. See docs/bench/search.md.)
	if q, ok := db.(querier); ok {
		rows, err := q.QueryContext(ctx, d.rebind(d.indexExists()), "records_plate_time")
		if err != nil {
			return err
		}
		done := rows.Next()
		rows.Close()
		if !done {
			if n, err := backfillSearch(ctx, q, d); err != nil {
				return fmt.Errorf("backfill search columns: %w", err)
			} else if n > 0 {
				slog.Info("store: search columns backfilled", "records", n)
			}
		}
	}
	for _, ddl := range searchIndexes(d) {
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("%s: %w", ddl, err)
		}
	}
	d.plateTrigram(ctx, db)
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
