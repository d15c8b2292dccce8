package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Stream is a registered camera with the catalogue fields of the city resource
// catalogue (seed plan 003, appendix 5): the GB/T 28181 ID is its key.
type Stream struct {
	ID            string    `json:"device_id"`
	Name          string    `json:"name"`
	URL           string    `json:"url"`
	AdminDivision string    `json:"admin_division"`
	Longitude     float64   `json:"longitude"`
	Latitude      float64   `json:"latitude"`
	OwnerDept     string    `json:"owner_department"`
	PointType     int       `json:"point_type"`
	Sharing       int       `json:"sharing"` // 0 conditional, 1 unconditional, 2 not shared
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// CreateStream inserts a stream; ErrConflict if its device ID exists.
func (s *DB) CreateStream(ctx context.Context, st *Stream) error {
	st.CreatedAt, st.UpdatedAt = now(), now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO streams (id, name, url, admin_division, longitude, latitude, owner_dept, point_type, sharing, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`), st.ID, st.Name, s.sealURL(st.ID, st.URL), st.AdminDivision, st.Longitude, st.Latitude, st.OwnerDept, st.PointType, st.Sharing, ms(st.CreatedAt), ms(st.UpdatedAt))
	return s.dialect.mapErr(err)
}

// UpdateStream replaces a stream's mutable fields.
func (s *DB) UpdateStream(ctx context.Context, st *Stream) error {
	st.UpdatedAt = now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE streams SET name=?, url=?, admin_division=?, longitude=?, latitude=?, owner_dept=?, point_type=?, sharing=?, updated_at=? WHERE id=?`),
		st.Name, s.sealURL(st.ID, st.URL), st.AdminDivision, st.Longitude, st.Latitude, st.OwnerDept, st.PointType, st.Sharing, ms(st.UpdatedAt), st.ID)
	return affected(res, err)
}

const streamCols = `id, name, url, admin_division, longitude, latitude, owner_dept, point_type, sharing, created_at, updated_at`

// scanStream reads a stream row, decrypting its URL.
func (s *DB) scanStream(row interface{ Scan(...any) error }) (Stream, error) {
	var st Stream
	var c, u int64
	err := row.Scan(&st.ID, &st.Name, &st.URL, &st.AdminDivision, &st.Longitude, &st.Latitude, &st.OwnerDept, &st.PointType, &st.Sharing, &c, &u)
	st.CreatedAt, st.UpdatedAt = fromMS(c), fromMS(u)
	if err == nil {
		st.URL, err = s.openURL(st.ID, st.URL)
	}
	return st, err
}

// GetStream returns one stream.
func (s *DB) GetStream(ctx context.Context, id string) (Stream, error) {
	st, err := s.scanStream(s.db.QueryRowContext(ctx, s.q(`SELECT `+streamCols+` FROM streams WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	return st, err
}

// VisibleStream returns one stream if the scope may see it at t.
func (s *DB) VisibleStream(ctx context.Context, sc auth.Scope, id string, t time.Time) (Stream, error) {
	cond, args := streamScope(sc, t)
	st, err := s.scanStream(s.db.QueryRowContext(ctx, s.q(`SELECT `+streamCols+` FROM streams WHERE id=? AND `+cond), append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	return st, err
}

// ListStreams returns the streams a scope may see at t, by ID.
func (s *DB) ListStreams(ctx context.Context, sc auth.Scope, t time.Time) ([]Stream, error) {
	cond, args := streamScope(sc, t)
	return queryAll(ctx, s, `SELECT `+streamCols+` FROM streams WHERE `+cond+` ORDER BY id`, args, s.scanStream)
}

// DeleteStream deletes a stream and its tasks (records stay: they are evidence).
func (s *DB) DeleteStream(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tasks WHERE stream_id=?`), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM streams WHERE id=?`), id)
		return affected(res, err)
	})
}
