package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cityeye/cityeye/testdata/services"
)

// TestMain stops the PostgreSQL server the tests started.
func TestMain(m *testing.M) { services.Main(m) }

// backend makes fresh, empty databases of one kind.
type backend struct {
	name string
	// fresh creates a database for the test and returns how to open it: each call
	// opens the same database again, as a restarted process would. Every DB opened
	// is closed when the test ends.
	fresh func(t *testing.T) func() *DB
}

var backends = []backend{
	{"sqlite", func(t *testing.T) func() *DB {
		path := filepath.Join(t.TempDir(), "c.db")
		return func() *DB { return open(t, path) }
	}},
	{"postgres", func(t *testing.T) func() *DB {
		dsn := services.Postgres(t)
		return func() *DB { return openPostgres(t, dsn) }
	}},
}

// forEachBackend runs fn as a subtest per backend, each on a fresh database.
func forEachBackend(t *testing.T, fn func(t *testing.T, db *DB)) {
	forEachBackendReopen(t, func(t *testing.T, open func() *DB) { fn(t, open()) })
}

// forEachRecordPath is forEachBackend for the record path, which runs alone and
// in group commit (EnableGroupCommit): the test runs on both.
func forEachRecordPath(t *testing.T, fn func(t *testing.T, db *DB)) {
	forEachRecordPathReopen(t, func(t *testing.T, open func() *DB) { fn(t, open()) })
}

// forEachRecordPathReopen is forEachRecordPath for tests that reopen the database.
func forEachRecordPathReopen(t *testing.T, fn func(t *testing.T, open func() *DB)) {
	forEachBackendReopen(t, fn)
	for _, b := range backends {
		t.Run(b.name+"+groupcommit", func(t *testing.T) {
			open := b.fresh(t)
			fn(t, func() *DB {
				db := open()
				db.EnableGroupCommit(GroupCommit{})
				return db
			})
		})
	}
}

// forEachBackendReopen is forEachBackend for tests that reopen the database.
func forEachBackendReopen(t *testing.T, fn func(t *testing.T, open func() *DB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.fresh(t)) })
	}
}

func openPostgres(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
