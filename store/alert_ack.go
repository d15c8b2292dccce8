package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// AckAlert records that userID acknowledged an alert the scope may see. The first
// acknowledgement stands: acknowledging again changes nothing and returns the alert
// as it is, so two operators clicking at once do not overwrite each other.
// ErrNotFound when the alert does not exist or is not visible. Live feeds find the
// acknowledgement by when it was stored (ListAcked), whatever clock at is from.
func (s *DB) AckAlert(ctx context.Context, sc auth.Scope, id, userID string, at time.Time) (Alert, error) {
	if _, err := s.GetAlert(ctx, sc, id); err != nil {
		return Alert{}, err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE alerts SET acked_by=?, acked_at=?, ack_noted=? WHERE id=? AND acked_at=0`), userID, ms(at), ms(now()), id); err != nil {
		return Alert{}, s.dialect.mapErr(err)
	}
	return s.GetAlert(ctx, sc, id)
}

// LastAckNoted is when the latest acknowledgement was stored (zero: none yet): the
// feeds' one poller compares it to wake the feeds.
func (s *DB) LastAckNoted(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(ack_noted) FROM alerts`).Scan(&v); err != nil || v.Int64 == 0 {
		return time.Time{}, err
	}
	return fromMS(v.Int64), nil
}

// ListAcked returns the alerts the scope may see whose acknowledgement was stored
// after after, oldest acknowledgement first, for live feeds.
func (s *DB) ListAcked(ctx context.Context, sc auth.Scope, after time.Time, limit int) ([]Alert, error) {
	cond, args := alertScope(sc)
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, s, `SELECT `+alertCols+` FROM alerts WHERE ack_noted>? AND `+cond+` ORDER BY ack_noted, id LIMIT ?`,
		append(append([]any{ms(after)}, args...), limit), scanAlert)
}
