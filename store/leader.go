package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// schedulerLockKey is the PostgreSQL advisory lock the scheduler leader holds
// (goose's migration lock uses another key).
const schedulerLockKey int64 = 0x43_69_74_79_45_79_65 // "CityEye"

// Leadership is this process's hold on the scheduler: on PostgreSQL a session
// advisory lock on a connection of its own, so it ends the moment the process dies
// (the server drops the session) and no two processes hold it at once; on SQLite
// (one process) it is always granted. Epoch, bumped at every takeover in
// scheduler_leader, fences the leases a leader hands out: workers refuse a lease of
// an older epoch.
type Leadership struct {
	Epoch uint64
	db    *DB
	conn  *sql.Conn // PostgreSQL: the session holding the lock
}

// ErrNotLeader: another process holds the scheduler lock.
var ErrNotLeader = errors.New("store: another server leads the scheduler")

// TryLead takes the scheduler lock for holder if it is free and bumps the epoch; it
// returns ErrNotLeader when another process holds it.
func (s *DB) TryLead(ctx context.Context, holder string) (*Leadership, error) {
	l := &Leadership{db: s}
	q := s.db.QueryRowContext
	if _, pg := s.dialect.(postgresDialect); pg {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, schedulerLockKey).Scan(&got); err != nil || !got {
			conn.Close()
			if err == nil {
				err = ErrNotLeader
			}
			return nil, err
		}
		l.conn, q = conn, conn.QueryRowContext
	}
	err := q(ctx, s.q(`UPDATE scheduler_leader SET epoch=epoch+1, holder=?, since=? WHERE id=1 RETURNING epoch`), holder, ms(now())).Scan(&l.Epoch)
	if err != nil {
		l.Release()
		return nil, fmt.Errorf("scheduler leader epoch: %w", err)
	}
	return l, nil
}

// Check reports whether the hold is still good: its session answers and no later
// leader bumped the epoch. A leader that gets an error must stop leading at once.
func (l *Leadership) Check(ctx context.Context) error {
	q := l.db.db.QueryRowContext
	if l.conn != nil {
		q = l.conn.QueryRowContext
	}
	var epoch uint64
	if err := q(ctx, `SELECT epoch FROM scheduler_leader WHERE id=1`).Scan(&epoch); err != nil {
		return err
	}
	if epoch != l.Epoch {
		return fmt.Errorf("%w: epoch %d follows ours, %d", ErrNotLeader, epoch, l.Epoch)
	}
	return nil
}

// Release gives the lock up (closing its session).
func (l *Leadership) Release() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, schedulerLockKey)
		l.conn.Close()
	}
}
