package store

import (
	"context"
	"fmt"
	"time"
)

// LeaderView is what the scheduler leader publishes for the other servers: where it
// answers heartbeats (URL) and its view of the workers (View, the scheduler's JSON),
// as of At.
type LeaderView struct {
	Epoch  uint64
	Holder string
	URL    string
	View   []byte
	At     time.Time
}

// Publish writes the leader's URL and view, under its epoch: ErrNotLeader when a
// later leader took over (a deposed leader never overwrites the new one's view).
func (l *Leadership) Publish(ctx context.Context, url string, view []byte) error {
	exec := l.db.db.ExecContext
	if l.conn != nil {
		exec = l.conn.ExecContext
	}
	res, err := exec(ctx, l.db.q(`UPDATE scheduler_leader SET url=?, workers_view=?, view_at=? WHERE id=1 AND epoch=?`), url, string(view), ms(now()), l.Epoch)
	if err != nil {
		return fmt.Errorf("publish the scheduler view: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotLeader
	}
	return nil
}

// LeaderView reads what the leader published last (empty URL and view before any).
func (s *DB) LeaderView(ctx context.Context) (LeaderView, error) {
	var v LeaderView
	var view string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT epoch, holder, url, workers_view, view_at FROM scheduler_leader WHERE id=1`).Scan(&v.Epoch, &v.Holder, &v.URL, &view, &at)
	if err != nil {
		return v, fmt.Errorf("scheduler view: %w", err)
	}
	v.View = []byte(view)
	if at > 0 {
		v.At = fromMS(at)
	}
	return v, nil
}

// LeaderAddress is the leader's epoch and URL only: what a follower checks often
// to forward heartbeats to a new leader at once.
func (s *DB) LeaderAddress(ctx context.Context) (epoch uint64, url string, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT epoch, url FROM scheduler_leader WHERE id=1`).Scan(&epoch, &url)
	return epoch, url, err
}
