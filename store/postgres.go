package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres:// URL or a
// key=value connection string) and brings its schema up to date. Many processes may
// open the same database at once: the migration runs under an advisory lock
// (postgresDialect.migrationLocker).
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
	if err := migrate(ctx, db, postgresDialect{}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open PostgreSQL: %w", err)
	}
	return &DB{db: db, dialect: postgresDialect{}}, nil
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
