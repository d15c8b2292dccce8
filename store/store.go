// Package store keeps CityEye's metadata and structured records in SQL: SQLite in
// embedded mode, PostgreSQL in distributed mode, one schema and one code path with
// the dialect differences isolated in dialect.go and the migration folders.
//
// Records and their snapshots live in two systems (SQL and an object store), so a
// record write is a small protocol that never leaves a record pointing at a missing
// image nor an image no record points at, whatever crashes when:
//
//  1. Intend(keys): the snapshot keys are logged as pending, committed.
//  2. The caller writes the objects.
//  3. SaveRecord: one transaction upserts the record (by its track key), removes its
//     keys from pending and moves the keys of the snapshot it replaces into pending.
//  4. The caller deletes the replaced objects and calls Forget on them.
//
// Anything still pending at start-up belongs to no record: Sweep deletes it.
//
// The schema lives in migrations/sqlite and migrations/postgres as numbered SQL
// files, embedded and applied by goose at every open (migrate.go). To change it, add
// the next numbered file to both folders; never edit one already released.
package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"time"
)

// ErrNotFound is returned for a missing row; ErrConflict for a duplicate key.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// DB is the SQL store. Open it with OpenSQLite or OpenPostgres.
type DB struct {
	db        *sql.DB
	dialect   dialect
	streamKey cipher.AEAD  // encrypts stream URLs at rest (secrets.go); nil: plain text
	gc        *groupCommit // batches Intend and SaveRecord (EnableGroupCommit); nil: one transaction each
}

// Ping checks the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close stops group commit, if on, and closes the database.
func (s *DB) Close() error {
	if s.gc != nil {
		s.gc.close()
	}
	return s.db.Close()
}

func (s *DB) q(query string) string { return s.dialect.rebind(query) }

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// tx runs fn in a transaction at the database's default isolation (READ COMMITTED on
// PostgreSQL, serialisable on SQLite), and again, a few times, if it fails on a
// conflict with a concurrent transaction (a deadlock, say). fn must therefore be safe
// to run more than once.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil || attempt == 5 || !s.dialect.retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

func (s *DB) tx1(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
