package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ShadowRun is a model version run beside the published one on chosen streams,
// on the same frames, writing nothing but its Report (kept with the version).
type ShadowRun struct {
	ID        string          `json:"id"`
	Vendor    string          `json:"vendor"`
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Streams   []string        `json:"streams"`
	State     string          `json:"state"` // running, done, stopped
	StartedBy string          `json:"started_by"`
	StartedAt time.Time       `json:"started_at"`
	EndsAt    time.Time       `json:"ends_at"`
	EndedAt   time.Time       `json:"ended_at,omitzero"`
	Report    json.RawMessage `json:"report,omitempty"`
}

// Shadow run states.
const (
	ShadowRunning = "running"
	ShadowDone    = "done"
	ShadowStopped = "stopped"
)

// CreateShadowRun stores a new run.
func (s *DB) CreateShadowRun(ctx context.Context, r *ShadowRun) error {
	r.StartedAt, r.State = now(), ShadowRunning
	streams, _ := json.Marshal(r.Streams)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO shadow_runs (id, vendor, name, version, streams, state, started_by, started_at, ends_at, ended_at, report)
		VALUES (?,?,?,?,?,?,?,?,?,0,'')`), r.ID, r.Vendor, r.Name, r.Version, string(streams), r.State, r.StartedBy, ms(r.StartedAt), ms(r.EndsAt))
	return s.dialect.mapErr(err)
}

const shadowCols = `id, vendor, name, version, streams, state, started_by, started_at, ends_at, ended_at, report`

func scanShadow(row interface{ Scan(...any) error }) (ShadowRun, error) {
	var r ShadowRun
	var streams, report string
	var st, en, ed int64
	err := row.Scan(&r.ID, &r.Vendor, &r.Name, &r.Version, &streams, &r.State, &r.StartedBy, &st, &en, &ed, &report)
	json.Unmarshal([]byte(streams), &r.Streams)
	if report != "" {
		r.Report = json.RawMessage(report)
	}
	r.StartedAt, r.EndsAt, r.EndedAt = fromMS(st), fromMS(en), optMS(ed)
	return r, err
}

// GetShadowRun returns one run.
func (s *DB) GetShadowRun(ctx context.Context, id string) (ShadowRun, error) {
	return queryOne(ctx, s, `SELECT `+shadowCols+` FROM shadow_runs WHERE id=?`, []any{id}, scanShadow, "shadow run "+id)
}

// ShadowFilter selects runs; zero fields match everything.
type ShadowFilter struct{ Vendor, Name, Version, State string }

// ListShadowRuns returns matching runs, oldest first.
func (s *DB) ListShadowRuns(ctx context.Context, f ShadowFilter) ([]ShadowRun, error) {
	q, args := `SELECT `+shadowCols+` FROM shadow_runs WHERE 1=1`, []any{}
	for _, c := range []struct{ col, v string }{{"vendor", f.Vendor}, {"name", f.Name}, {"version", f.Version}, {"state", f.State}} {
		if c.v != "" {
			q, args = q+" AND "+c.col+"=?", append(args, c.v)
		}
	}
	return queryAll(ctx, s, q+` ORDER BY started_at, id`, args, scanShadow)
}

// SaveShadowReport stores a running run's report and, with state other than
// running, ends it; ErrState when it has ended already.
func (s *DB) SaveShadowReport(ctx context.Context, id string, report json.RawMessage, state string, at time.Time) error {
	ended := int64(0)
	if state != ShadowRunning {
		ended = ms(at)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE shadow_runs SET report=?, state=?, ended_at=? WHERE id=? AND state=?`), string(report), state, ended, id, ShadowRunning)
	if n, _ := rowsAffected(res, err); n == 1 || err != nil {
		return err
	}
	if _, err := s.GetShadowRun(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("%w: shadow run %s has ended", ErrState, id)
}
