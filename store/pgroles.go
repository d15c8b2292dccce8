package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
)

// On PostgreSQL the append-only triggers on audit_log bind everyone but the table's
// owner, who may disable or drop them. So the schema belongs to an owner role that
// only migrates (`cityeye db grant`, run by an administrator); the API servers
// connect as an application role that may read and write the other tables but only
// INSERT and SELECT audit_log (it cannot change, delete or truncate an entry,
// disable a trigger or alter the table); and the remote workers, whose machines
// hold their DSN, connect as a worker role that may only write what the frame path
// writes (records, their snapshots' bookkeeping, features, alerts, measures) and
// reads nothing else: not the audit log, users, tokens, streams or peers.
//
//	CREATE ROLE cityeye_owner LOGIN PASSWORD '…';   -- owns the database's tables
//	CREATE ROLE cityeye_app LOGIN PASSWORD '…';     -- the API servers
//	CREATE ROLE cityeye_worker LOGIN PASSWORD '…';  -- the remote workers
//	CITYEYE_DATABASE=postgres://cityeye_owner@db/cityeye cityeye db grant --role cityeye_app --worker-role cityeye_worker

var roleRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// GrantApp gives role what the API servers need, as the owner of the schema (after
// OpenPostgres migrated it): every table's rows, except audit_log's, which it may
// only insert and read. Run again after an upgrade adds tables.
func (s *DB) GrantApp(ctx context.Context, role string) error {
	return s.grant(ctx, role, func(schema string) []string {
		return []string{
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + role,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + schema + ` TO ` + role,
			`REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM ` + role,
			// it reads which migrations ran (to refuse a schema behind the code), no more
			`REVOKE INSERT, UPDATE, DELETE ON goose_db_version FROM ` + role,
		}
	})
}

// GrantWorker gives role what a remote worker writes, and nothing to read beyond it
// (workers.Recorder: SaveRecord, NextSerial, Intend/Forget, SaveFeature, SaveAlert,
// SaveMeasures), plus which migrations ran.
func (s *DB) GrantWorker(ctx context.Context, role string) error {
	return s.grant(ctx, role, func(string) []string {
		return []string{
			`GRANT SELECT ON goose_db_version TO ` + role,
			`GRANT SELECT, INSERT, UPDATE ON records, id_serials, record_features TO ` + role,
			`GRANT SELECT, INSERT, DELETE ON pending_objects TO ` + role,
			`GRANT SELECT, INSERT ON plates, alerts, measures TO ` + role,
			`GRANT USAGE ON SEQUENCE alerts_seq_seq TO ` + role, // SaveAlert numbers the alert
		}
	})
}

// grant runs the statements stmts(schema) for an existing role, as the owner.
func (s *DB) grant(ctx context.Context, role string, stmts func(schema string) []string) error {
	if _, ok := s.dialect.(postgresDialect); !ok {
		return errors.New("roles are PostgreSQL's: an embedded SQLite database has none")
	}
	if !roleRE.MatchString(role) {
		return fmt.Errorf("role %q: lower-case letters, digits and _", role)
	}
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("role %s does not exist: CREATE ROLE %s LOGIN PASSWORD '…' first", role, role)
	}
	owner, err := s.OwnsAuditLog(ctx)
	if err != nil {
		return err
	}
	if !owner {
		return errors.New("connect as the owner of the tables to grant")
	}
	var schema string
	if err := s.db.QueryRowContext(ctx, `SELECT quote_ident(current_schema())`).Scan(&schema); err != nil {
		return err
	}
	for _, q := range append([]string{`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role}, stmts(schema)...) {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// OwnsAuditLog reports whether this connection's role owns audit_log (and so could
// disable its triggers) or may create it (a fresh database). Always false on SQLite,
// where roles do not exist and the hash chain is the defence.
func (s *DB) OwnsAuditLog(ctx context.Context) (bool, error) {
	if _, ok := s.dialect.(postgresDialect); !ok {
		return false, nil
	}
	return ownsAuditLog(ctx, s.db)
}

// isAppRole reports whether this is PostgreSQL and the role does not own the tables.
func isAppRole(ctx context.Context, db *sql.DB, d dialect) (bool, error) {
	if _, ok := d.(postgresDialect); !ok {
		return false, nil
	}
	owns, err := ownsAuditLog(ctx, db)
	return !owns, err
}

func ownsAuditLog(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) (bool, error) {
	var owns bool
	err := q.QueryRowContext(ctx, `SELECT COALESCE((SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c
		WHERE c.oid = to_regclass('audit_log')), true)`).Scan(&owns)
	return owns, err
}
