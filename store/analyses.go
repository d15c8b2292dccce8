package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Analysis is an offline analysis of a recorded video: a background job runs an
// algorithm over the file as if it came from a registered camera, and the records
// it produces are ordinary GA/T 1400 records of task "analysis-<id>".
type Analysis struct {
	ID         string          `json:"id"`
	DeptID     string          `json:"department"`
	UserID     string          `json:"user_id"`
	DeviceID   string          `json:"device_id"`
	URL        string          `json:"url"`
	Algorithm  string          `json:"algorithm"`
	Params     json.RawMessage `json:"params"`
	State      string          `json:"state"` // queued, running, done, failed
	Frames     int64           `json:"frames_analysed"`
	Records    int             `json:"records"`
	Error      string          `json:"error,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	StartedAt  time.Time       `json:"started_at,omitzero"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
}

// TaskID is the task ID the analysis's records carry.
func (a Analysis) TaskID() string { return "analysis-" + a.ID }

const analysisCols = `id, dept_id, user_id, device_id, url, algorithm, params, state, frames, records, error, created_at, started_at, finished_at`

func scanAnalysis(row interface{ Scan(...any) error }) (Analysis, error) {
	var a Analysis
	var params string
	var c, st, f int64
	err := row.Scan(&a.ID, &a.DeptID, &a.UserID, &a.DeviceID, &a.URL, &a.Algorithm, &params, &a.State, &a.Frames, &a.Records, &a.Error, &c, &st, &f)
	a.Params, a.CreatedAt, a.StartedAt, a.FinishedAt = json.RawMessage(params), fromMS(c), optMS(st), optMS(f)
	return a, err
}

// CreateAnalysis stores a queued analysis.
// The jobs (the analysis run) go to the job outbox in the same transaction.
func (s *DB) CreateAnalysis(ctx context.Context, a *Analysis, job ...OutboxJob) error {
	a.State, a.CreatedAt = "queued", now()
	if len(a.Params) == 0 {
		a.Params = json.RawMessage(`{}`)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO analyses (`+analysisCols+`) VALUES (?,?,?,?,?,?,?,?,0,0,'',?,0,0)`),
			a.ID, a.DeptID, a.UserID, a.DeviceID, a.URL, a.Algorithm, string(a.Params), a.State, ms(a.CreatedAt))
		if err != nil {
			return s.dialect.mapErr(err)
		}
		return s.addOutbox(ctx, tx, job...)
	})
}

// GetAnalysis returns one analysis.
func (s *DB) GetAnalysis(ctx context.Context, id string) (Analysis, error) {
	a, err := scanAnalysis(s.db.QueryRowContext(ctx, s.q(`SELECT `+analysisCols+` FROM analyses WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// ListAnalyses returns a department's analyses ("" for all), newest first.
func (s *DB) ListAnalyses(ctx context.Context, dept string, limit int) ([]Analysis, error) {
	if limit <= 0 {
		limit = 200
	}
	q, args := `SELECT `+analysisCols+` FROM analyses`, []any{}
	if dept != "" {
		q, args = q+` WHERE dept_id=?`, append(args, dept)
	}
	return queryAll(ctx, s, q+` ORDER BY created_at DESC, id LIMIT ?`, append(args, limit), scanAnalysis)
}

// StartAnalysis marks a queued (or interrupted running) analysis running; it
// returns ErrState when the analysis is already done or failed.
func (s *DB) StartAnalysis(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE analyses SET state='running', started_at=? WHERE id=? AND state IN ('queued','running')`), ms(now()), id)
	if err := affected(res, err); errors.Is(err, ErrNotFound) {
		if _, gerr := s.GetAnalysis(ctx, id); gerr != nil {
			return gerr
		}
		return ErrState
	} else if err != nil {
		return err
	}
	return nil
}

// FinishAnalysis records the outcome: done with its counts, or failed with reason.
func (s *DB) FinishAnalysis(ctx context.Context, id string, frames int64, records int, reason string) error {
	state := "done"
	if reason != "" {
		state = "failed"
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE analyses SET state=?, frames=?, records=?, error=?, finished_at=? WHERE id=?`),
		state, frames, records, reason, ms(now()), id)
	return affected(res, err)
}
