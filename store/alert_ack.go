package store

import (
	"context"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// AckAlert records that userID acknowledged an alert the scope may see. The first
// acknowledgement stands: acknowledging again changes nothing and returns the alert
// as it is, so two operators clicking at once do not overwrite each other.
// ErrNotFound when the alert does not exist or is not visible.
func (s *DB) AckAlert(ctx context.Context, sc auth.Scope, id, userID string, at time.Time) (Alert, error) {
	if _, err := s.GetAlert(ctx, sc, id); err != nil {
		return Alert{}, err
	}
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE alerts SET acked_by=?, acked_at=? WHERE id=? AND acked_at=0`), userID, ms(at), id); err != nil {
		return Alert{}, s.dialect.mapErr(err)
	}
	return s.GetAlert(ctx, sc, id)
}
