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
}

type sqliteDialect struct{}

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
	if err != nil && strings.Contains(err.Error(), "SQLSTATE 23505") {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	if err != nil && strings.Contains(err.Error(), "SQLSTATE 23503") {
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
`

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
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &DB{db: db, dialect: sqliteDialect{}}, nil
}
