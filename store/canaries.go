package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Canary is a model version published to part of the tasks that follow its model
// first: the tasks on Cameras, plus Steps[Step] percent of the others (by a hash of
// the task ID, so a task stays in as the canary widens). After StepSeconds of
// healthy running it widens to the next step; after the last it is published to
// all. It is rolled back as soon as its error rate or mean batch latency crosses
// a threshold. One canary per model at a time (the row is replaced by the next).
type Canary struct {
	Vendor       string    `json:"vendor"`
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	State        string    `json:"state"` // running, promoted, rolled_back, stopped
	Cameras      []string  `json:"cameras"`
	Steps        []int     `json:"steps"`
	Step         int       `json:"step"`
	StepSeconds  int       `json:"step_seconds"`
	MaxErrorRate float64   `json:"max_error_rate"`
	MaxLatencyMS float64   `json:"max_latency_ms"`
	MinFrames    int       `json:"min_frames"` // frames the canary version must have analysed before a step is judged
	StartedBy    string    `json:"started_by"`
	StartedAt    time.Time `json:"started_at"`
	StepAt       time.Time `json:"step_at"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	Reason       string    `json:"reason,omitempty"` // why it ended
}

// Canary states.
const (
	CanaryRunning    = "running"
	CanaryPromoted   = "promoted"
	CanaryRolledBack = "rolled_back"
	CanaryStopped    = "stopped"
)

// Percent is the share of the model's other tasks the canary holds now.
func (c Canary) Percent() int {
	if c.Step < 0 || c.Step >= len(c.Steps) {
		return 0
	}
	return c.Steps[c.Step]
}

// PutCanary writes a model's canary (replacing the last one). With from set, it
// writes only while the stored canary is still in that state and step (the
// monitor and an admin acting at once: the first one wins, ErrState for the other).
func (s *DB) PutCanary(ctx context.Context, c Canary, from *Canary) error {
	cams, _ := json.Marshal(orEmptyStrings(c.Cameras))
	steps, _ := json.Marshal(c.Steps)
	args := []any{c.Version, c.State, string(cams), string(steps), c.Step, c.StepSeconds, c.MaxErrorRate, c.MaxLatencyMS, c.MinFrames, c.StartedBy,
		ms(c.StartedAt), ms(c.StepAt), optToMS(c.EndedAt), c.Reason}
	if from == nil {
		_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO model_canaries (version, state, cameras, steps, step, step_seconds, max_error_rate, max_latency_ms, min_frames,
			started_by, started_at, step_at, ended_at, reason, vendor, name) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (vendor, name) DO UPDATE SET version=excluded.version, state=excluded.state, cameras=excluded.cameras, steps=excluded.steps,
			step=excluded.step, step_seconds=excluded.step_seconds, max_error_rate=excluded.max_error_rate, max_latency_ms=excluded.max_latency_ms,
			min_frames=excluded.min_frames, started_by=excluded.started_by, started_at=excluded.started_at, step_at=excluded.step_at,
			ended_at=excluded.ended_at, reason=excluded.reason`), append(args, c.Vendor, c.Name)...)
		return err
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE model_canaries SET version=?, state=?, cameras=?, steps=?, step=?, step_seconds=?, max_error_rate=?, max_latency_ms=?,
		min_frames=?, started_by=?, started_at=?, step_at=?, ended_at=?, reason=? WHERE vendor=? AND name=? AND version=? AND state=? AND step=?`),
		append(args, c.Vendor, c.Name, from.Version, from.State, from.Step)...)
	if n, _ := rowsAffected(res, err); n == 1 || err != nil {
		return err
	}
	return fmt.Errorf("%w: the canary of %s/%s changed meanwhile", ErrState, c.Vendor, c.Name)
}

func optToMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const canaryCols = `vendor, name, version, state, cameras, steps, step, step_seconds, max_error_rate, max_latency_ms, min_frames, started_by, started_at, step_at, ended_at, reason`

func scanCanary(row interface{ Scan(...any) error }) (Canary, error) {
	var c Canary
	var cams, steps string
	var st, sa, ea int64
	err := row.Scan(&c.Vendor, &c.Name, &c.Version, &c.State, &cams, &steps, &c.Step, &c.StepSeconds, &c.MaxErrorRate, &c.MaxLatencyMS, &c.MinFrames,
		&c.StartedBy, &st, &sa, &ea, &c.Reason)
	json.Unmarshal([]byte(cams), &c.Cameras)
	json.Unmarshal([]byte(steps), &c.Steps)
	c.StartedAt, c.StepAt, c.EndedAt = fromMS(st), fromMS(sa), optMS(ea)
	return c, err
}

// GetCanary returns a model's last canary.
func (s *DB) GetCanary(ctx context.Context, vendor, name string) (Canary, error) {
	return queryOne(ctx, s, `SELECT `+canaryCols+` FROM model_canaries WHERE vendor=? AND name=?`, []any{vendor, name}, scanCanary, "no canary of "+vendor+"/"+name)
}

// ListCanaries returns the canaries in a state ("" for all).
func (s *DB) ListCanaries(ctx context.Context, state string) ([]Canary, error) {
	q, args := `SELECT `+canaryCols+` FROM model_canaries`, []any{}
	if state != "" {
		q, args = q+` WHERE state=?`, append(args, state)
	}
	return queryAll(ctx, s, q+` ORDER BY vendor, name`, args, scanCanary)
}
