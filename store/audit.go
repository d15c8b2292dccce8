package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// AuditEntry is one access to evidence (调阅追溯): who read what, when, from where,
// under which grant, and with what result. The table is append-only: the database
// itself refuses UPDATE and DELETE on it (on PostgreSQL the server connects as a
// role that may only INSERT and SELECT it, pgroles.go), the API offers no route that
// would, and the entries are hash-chained (auditchain.go), so a row changed or
// deleted by whoever owns the database shows in VerifyAudit.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	UserID  string    `json:"user_id"`
	DeptID  string    `json:"department"`
	TokenID string    `json:"token_id"`
	Action  string    `json:"action"` // record.read, record.search, record.export, snapshot.read
	Target  string    `json:"target"` // record ID, object key, or the query string
	GrantID string    `json:"grant_id,omitempty"`
	Remote  string    `json:"remote"`
	Status  int       `json:"status"` // the HTTP status the caller got
	Detail  string    `json:"detail,omitempty"`
	// PrevHash is the previous entry's Hash; Hash is SHA-256 over this entry's
	// fields and PrevHash (auditHash). Both empty on entries older than the chain.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Audit appends an entry, chained to the previous one, and returns its ID (the
// invisible watermark carries it). Appends are serialised so that the chain is one
// line: on PostgreSQL by a transaction-level advisory lock, on SQLite by its single
// connection. The entry takes the next ID after the last one, so IDs have no gaps.
func (s *DB) Audit(ctx context.Context, e *AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if lock := s.dialect.auditLock(); lock != "" {
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return err
			}
		}
		var last int64
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&last, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		e.ID, e.PrevHash = last+1, prev
		e.Hash = auditHash(*e)
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (id, at, user_id, dept_id, token_id, action, target, grant_id, remote, status, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`),
			e.ID, ms(e.At), e.UserID, e.DeptID, e.TokenID, e.Action, e.Target, e.GrantID, e.Remote, e.Status, e.Detail, e.PrevHash, e.Hash)
		return err
	})
}

const auditCols = `id, at, user_id, dept_id, token_id, action, target, grant_id, remote, status, detail, prev_hash, hash`

func scanAudit(row interface{ Scan(...any) error }) (AuditEntry, error) {
	var e AuditEntry
	var at int64
	err := row.Scan(&e.ID, &at, &e.UserID, &e.DeptID, &e.TokenID, &e.Action, &e.Target, &e.GrantID, &e.Remote, &e.Status, &e.Detail, &e.PrevHash, &e.Hash)
	e.At = fromMS(at)
	return e, err
}

// GetAudit returns one entry.
func (s *DB) GetAudit(ctx context.Context, id int64) (AuditEntry, error) {
	e, err := scanAudit(s.db.QueryRowContext(ctx, s.q(`SELECT `+auditCols+` FROM audit_log WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// AuditFilter selects entries; zero fields match everything.
type AuditFilter struct {
	UserID, DeptID, Action, Target string
	From, To                       time.Time
	Offset, Limit                  int
}

// ListAudit returns entries, newest first.
func (s *DB) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"user_id", f.UserID}, {"dept_id", f.DeptID}, {"action", f.Action}, {"target", f.Target}} {
		if c.v != "" {
			where, args = append(where, c.col+"=?"), append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		where, args = append(where, "at>=?"), append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at<=?"), append(args, ms(f.To))
	}
	q := `SELECT ` + auditCols + ` FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return queryAll(ctx, s, q+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, min(limit, 1000), max(f.Offset, 0)), scanAudit)
}
