package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Task binds a stream to an algorithm with parameters.
type Task struct {
	ID        string          `json:"id"`
	StreamID  string          `json:"device_id"`
	DeptID    string          `json:"department"` // who subscribed: owns the results and pays the quota
	Algorithm string          `json:"algorithm"`
	Params    json.RawMessage `json:"params"`
	Enabled   bool            `json:"enabled"`
	// Priority orders tasks under overload: lower priorities lose fps first
	// (PriorityLow … PriorityCritical; 0 is normal).
	Priority  int       `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Task priorities: under overload the planner lowers low-priority rates first; high and
// critical tasks are never time-shared.
const (
	PriorityLow      = -1
	PriorityNormal   = 0
	PriorityHigh     = 1
	PriorityCritical = 2
)

// CreateTask inserts a task for an existing stream.
func (s *DB) CreateTask(ctx context.Context, t *Task) error {
	t.CreatedAt, t.UpdatedAt = now(), now()
	if len(t.Params) == 0 {
		t.Params = json.RawMessage(`{}`)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tasks (id, stream_id, dept_id, algorithm, params, enabled, priority, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)`),
		t.ID, t.StreamID, t.DeptID, t.Algorithm, string(t.Params), t.Enabled, t.Priority, ms(t.CreatedAt), ms(t.UpdatedAt))
	return s.dialect.mapErr(err)
}

// UpdateTask replaces a task's algorithm, params, enabled flag and priority.
func (s *DB) UpdateTask(ctx context.Context, t *Task) error {
	t.UpdatedAt = now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET algorithm=?, params=?, enabled=?, priority=?, updated_at=? WHERE id=?`),
		t.Algorithm, string(t.Params), t.Enabled, t.Priority, ms(t.UpdatedAt), t.ID)
	return affected(res, err)
}

const taskCols = `id, stream_id, dept_id, algorithm, params, enabled, priority, created_at, updated_at`

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var p string
	var c, u int64
	err := row.Scan(&t.ID, &t.StreamID, &t.DeptID, &t.Algorithm, &p, &t.Enabled, &t.Priority, &c, &u)
	t.Params, t.CreatedAt, t.UpdatedAt = json.RawMessage(p), fromMS(c), fromMS(u)
	return t, err
}

// GetTask returns one task.
func (s *DB) GetTask(ctx context.Context, id string) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, s.q(`SELECT `+taskCols+` FROM tasks WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// ListTasks returns the tasks a scope may see, or only a stream's when streamID is set.
func (s *DB) ListTasks(ctx context.Context, sc auth.Scope, streamID string) ([]Task, error) {
	cond, args := taskScope(sc)
	q := `SELECT ` + taskCols + ` FROM tasks WHERE ` + cond
	if streamID != "" {
		q, args = q+` AND stream_id=?`, append(args, streamID)
	}
	return queryAll(ctx, s, q+` ORDER BY created_at, id`, args, scanTask)
}

// DeptUsage counts a department's enabled tasks and the cameras they run on (quotas).
func (s *DB) DeptUsage(ctx context.Context, dept string) (streams, tasks int, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT stream_id), COUNT(*) FROM tasks WHERE dept_id=? AND enabled=?`), dept, true).Scan(&streams, &tasks)
	return
}

// DeleteTask deletes a task.
func (s *DB) DeleteTask(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tasks WHERE id=?`), id)
	return affected(res, err)
}
