package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// migrationLock is the pg_advisory_lock key that serialises schema migrations: every
// process opening the database (servers and workers starting at once) takes it, so
// only one creates or alters tables at a time and the others find the work done.
const migrationLock int64 = 0x43697479_45796531 // "CityEye1"

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres:// URL or a
// key=value connection string) and brings its schema up to date. Many processes may
// open the same database at once: the migration runs under an advisory lock.
// PostgreSQL 14 or later is required (CREATE OR REPLACE TRIGGER).
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	// A server or worker issues short statements from a few dozen goroutines; 20
	// connections keep them busy without exhausting max_connections (100 by default)
	// when several processes share one server. Recycling connections lets a pool
	// follow a fail-over and bounds per-connection memory on the server.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	return &DB{db: db, dialect: postgresDialect{}}, nil
}

// migratePostgres runs migrate on one connection holding the session-level advisory
// lock. (A transaction-level lock would put the migration in one transaction, but
// migrate probes for columns with statements that may fail, which would abort it.)
func migratePostgres(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); uerr != nil {
			// The lock is held until this session ends: end it rather than give a
			// connection holding it back to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("release migration lock: %w", uerr)
			}
		}
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	if err := migrate(ctx, conn, postgresDialect{}); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgRetryable reports errors after which a transaction may simply be run again:
// serialization failures and deadlocks.
func pgRetryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}
