package store

import (
	"context"
	"database/sql"
)

// OutboxJob is a background job written to the job_outbox table in the same
// transaction as the change that calls for it (a notification to deliver), so that
// neither exists without the other: the job queue (Redis) may be down when the
// change commits. A relay (workers/jobs.Relay) moves rows to the queue and deletes
// them once the queue holds the job.
type OutboxJob struct {
	ID      int64
	Kind    string
	Key     string
	Payload []byte
}

// addOutbox writes jobs in tx.
func (s *DB) addOutbox(ctx context.Context, tx *sql.Tx, jobs ...OutboxJob) error {
	for _, j := range jobs {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO job_outbox (kind, key, payload, created_at) VALUES (?,?,?,?)`),
			j.Kind, j.Key, append([]byte{}, j.Payload...), ms(now())); err != nil {
			return err
		}
	}
	return nil
}

// EnqueueOutbox writes jobs to the outbox on their own (for a change made elsewhere).
func (s *DB) EnqueueOutbox(ctx context.Context, jobs ...OutboxJob) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.addOutbox(ctx, tx, jobs...) })
}

// PendingOutbox returns up to limit outbox rows, oldest first.
func (s *DB) PendingOutbox(ctx context.Context, limit int) ([]OutboxJob, error) {
	return queryAll(ctx, s, `SELECT id, kind, key, payload FROM job_outbox ORDER BY id LIMIT ?`, []any{max(1, limit)},
		func(r interface{ Scan(...any) error }) (OutboxJob, error) {
			var j OutboxJob
			return j, r.Scan(&j.ID, &j.Kind, &j.Key, &j.Payload)
		})
}

// DeleteOutbox removes a row the queue has taken.
func (s *DB) DeleteOutbox(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM job_outbox WHERE id=?`), id)
	return err
}
