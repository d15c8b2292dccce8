package store

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/cityeye/cityeye/auth"
)

// QueryRecords runs a GA/T 1400 query (where/args from package viid/query, whose SQL
// names only records columns) for one object type, inside the caller's scope.
func (s *DB) QueryRecords(ctx context.Context, sc auth.Scope, typ, where string, args []any, orderBy string, offset, limit int) ([]Record, int, error) {
	scope, sargs := recordScope(sc)
	cond := " WHERE records.type=? AND " + scope
	all := append([]any{typ}, sargs...)
	if where != "" {
		cond += " AND (" + where + ")"
		all = append(all, args...)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM records`+cond), all...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if orderBy == "" {
		orderBy = "shot_time DESC"
	}
	recs, err := queryAll(ctx, s, `SELECT `+recordCols+` FROM records`+cond+` ORDER BY `+orderBy+`, id LIMIT ? OFFSET ?`,
		append(all, limit, offset), scanRecord)
	return recs, total, err
}

// DeleteRecord removes a record; its images move to pending in the same transaction,
// so the caller deletes them and calls Forget (a crash in between is swept at start).
func (s *DB) DeleteRecord(ctx context.Context, id string) (images []string, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var imgs string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT images FROM records WHERE id=?`+s.dialect.forUpdate()), id).Scan(&imgs); err != nil {
			if err == sql.ErrNoRows {
				return ErrNotFound
			}
			return err
		}
		images = nil
		_ = json.Unmarshal([]byte(imgs), &images)
		for _, k := range images {
			if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`pending_objects (key, created_at) VALUES (?,?)`)), k, ms(now())); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM records WHERE id=?`), id)
		return err
	})
	return images, err
}
