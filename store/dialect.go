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
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // pure-Go SQLite: embedded mode needs no C toolchain for its database
)

// dialect isolates what differs between SQLite and PostgreSQL.
type dialect interface {
	rebind(q string) string
	insertIgnore(rest string) string
	mapErr(err error) error
	auditLock() string        // a statement serialising audit appends until the transaction ends ("": already serial)
	forUpdate() string        // suffix of a SELECT that locks the rows it reads until the transaction ends
	retryable(err error) bool // the transaction failed on a conflict with another and may be run again
	indexExists() string      // a query with one parameter, the index name, that returns a row if it exists
	columns() string          // a query with one parameter, a table name, that returns its column names
	// migrations names the dialect for goose and the folder of its migrations.
	migrations() (goose.Dialect, string)
	// migrationLocker keeps concurrent processes from migrating at once (nil: none needed).
	migrationLocker() (lock.SessionLocker, error)
	// plateTrigram creates the trigram index for plate substring search where the
	// database can have one (substring search scans without it).
	plateTrigram(ctx context.Context, db *sql.DB)
	// freshPlan marks a query's arguments so that it is planned for their values at
	// every execution, never with a cached generic plan (searches: see search.go).
	freshPlan(args []any) []any
	nextAlertSeq() string // SQL for the next alerts.seq
}

type sqliteDialect struct{}

// nextAlertSeq is the SQL expression that numbers a new alert (alerts.seq). SQLite
// has one writer at a time, so the next number after the largest is unique and in
// commit order (a number is reused only if the newest alerts are deleted, which
// retention, deleting the oldest first, does only when every alert expired);
// PostgreSQL draws it from the column's sequence.
func (sqliteDialect) nextAlertSeq() string   { return "(SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts)" }
func (postgresDialect) nextAlertSeq() string { return "nextval('alerts_seq_seq')" }

func (sqliteDialect) migrations() (goose.Dialect, string) { return goose.DialectSQLite3, "sqlite" }
func (sqliteDialect) columns() string                     { return "SELECT name FROM pragma_table_info(?)" }

// SQLite has one process and, in OpenSQLite, one connection: nobody to lock out.
func (sqliteDialect) migrationLocker() (lock.SessionLocker, error) { return nil, nil }

// SQLite: OpenSQLite's one connection runs one transaction at a time.
func (sqliteDialect) auditLock() string { return "" }

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
func (sqliteDialect) plateTrigram(context.Context, *sql.DB) {}

// SQLite plans every statement when it is prepared, with no parameter values.
func (sqliteDialect) freshPlan(args []any) []any { return args }

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

func (postgresDialect) migrations() (goose.Dialect, string) { return goose.DialectPostgres, "postgres" }
func (postgresDialect) columns() string {
	return "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
}

// Servers and workers starting at once all open the database: an advisory lock lets
// one migrate while the others wait and then find nothing left to do. They poll each
// second for up to an hour, since a migration that builds an index on a large table
// takes minutes (docs/bench/search.md, "Upgrading a large database").
func (postgresDialect) migrationLocker() (lock.SessionLocker, error) {
	return lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock), lock.WithLockTimeout(1, 3600))
}

// auditLockKey is the pg_advisory_xact_lock key that serialises audit appends.
const auditLockKey int64 = 0x43697479_41756431 // "CityAud1"

func (postgresDialect) auditLock() string {
	return "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(auditLockKey, 10) + ")"
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
func (postgresDialect) plateTrigram(ctx context.Context, db *sql.DB) {
	if _, err := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
		slog.Warn("store: no pg_trgm extension; plate substring search will scan the plate dictionary instead of using a trigram index",
			"err", err, "fix", "CREATE EXTENSION pg_trgm (as the database owner or a superuser), then restart")
		return
	}
	if _, err := db.ExecContext(ctx, "CREATE INDEX IF NOT EXISTS plates_trgm ON plates USING gin (plate_no gin_trgm_ops)"); err != nil {
		slog.Warn("store: could not create the plate trigram index; plate substring search will scan the plate dictionary", "err", err)
	}
}

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
