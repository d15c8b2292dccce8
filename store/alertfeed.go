package store

import (
	"context"

	"github.com/cityeye/cityeye/auth"
)

// The live alert feed resumes from alerts.seq (a map's Last-Event-ID). On PostgreSQL
// a sequence number is drawn when a transaction inserts, so a number can become
// visible after a larger one (its transaction committed later) or never (it rolled
// back). A reader therefore asks AlertSeqsAfter for every number past its mark,
// unscoped, moves its "safe" mark only over a contiguous run (waiting a little at a
// hole for a late commit), and reads each feed's scope up to that mark with
// AlertsAfter: every alert is then seen once, in order, by every feed.

// MaxAlertSeq is the largest alert number stored (0 with none).
func (s *DB) MaxAlertSeq(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM alerts`).Scan(&n)
	return n, err
}

// AlertSeqsAfter returns, in order, up to limit alert numbers greater than after,
// whoever may see them.
func (s *DB) AlertSeqsAfter(ctx context.Context, after int64, limit int) ([]int64, error) {
	return queryAll(ctx, s, `SELECT seq FROM alerts WHERE seq>? ORDER BY seq LIMIT ?`, []any{after, limit},
		func(r interface{ Scan(...any) error }) (int64, error) {
			var n int64
			return n, r.Scan(&n)
		})
}

// AlertsAfter returns, oldest first, up to limit alerts the scope may see whose
// number is in (after, upto].
func (s *DB) AlertsAfter(ctx context.Context, sc auth.Scope, after, upto int64, limit int) ([]Alert, error) {
	cond, args := alertScope(sc)
	return queryAll(ctx, s, `SELECT `+alertCols+` FROM alerts WHERE seq>? AND seq<=? AND `+cond+` ORDER BY seq LIMIT ?`,
		append(append([]any{after, upto}, args...), max(1, min(limit, 1000))), scanAlert)
}
