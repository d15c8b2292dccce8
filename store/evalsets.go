package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// EvalSet is a labelled image set the platform owns, for scoring model versions of
// one task. Spec is the warehouse's normalised form of the labels (which images,
// their sha256 in the object store, boxes, texts, classes or identity pairs);
// SHA256 hashes it, so a score names the exact content it was measured on.
type EvalSet struct {
	Name        string          `json:"name"`
	Task        string          `json:"task"`
	Description string          `json:"description"`
	SHA256      string          `json:"sha256"`
	Images      int             `json:"images"`
	Spec        json.RawMessage `json:"spec,omitempty"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
}

// CreateEvalSet stores a new set; ErrConflict when the name is taken.
func (s *DB) CreateEvalSet(ctx context.Context, e *EvalSet) error {
	e.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO eval_sets (name, task, description, sha256, images, spec, created_by, created_at) VALUES (?,?,?,?,?,?,?,?)`),
		e.Name, e.Task, e.Description, e.SHA256, e.Images, string(e.Spec), e.CreatedBy, ms(e.CreatedAt))
	return s.dialect.mapErr(err)
}

const evalSetCols = `name, task, description, sha256, images, spec, created_by, created_at`

func scanEvalSet(row interface{ Scan(...any) error }) (EvalSet, error) {
	var e EvalSet
	var spec string
	var c int64
	err := row.Scan(&e.Name, &e.Task, &e.Description, &e.SHA256, &e.Images, &spec, &e.CreatedBy, &c)
	e.Spec, e.CreatedAt = json.RawMessage(spec), fromMS(c)
	return e, err
}

// GetEvalSet returns one set with its spec.
func (s *DB) GetEvalSet(ctx context.Context, name string) (EvalSet, error) {
	return queryOne(ctx, s, `SELECT `+evalSetCols+` FROM eval_sets WHERE name=?`, []any{name}, scanEvalSet, "evaluation set "+name)
}

// ListEvalSets returns the sets of a task ("" for all) by name, with their specs.
func (s *DB) ListEvalSets(ctx context.Context, task string) ([]EvalSet, error) {
	q, args := `SELECT `+evalSetCols+` FROM eval_sets`, []any{}
	if task != "" {
		q, args = q+` WHERE task=?`, append(args, task)
	}
	return queryAll(ctx, s, q+` ORDER BY name`, args, scanEvalSet)
}

// DeleteEvalSet removes a set and every score measured on it.
func (s *DB) DeleteEvalSet(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM eval_sets WHERE name=?`), name)
		if err := affected(res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM model_scores WHERE set_name=?`), name)
		return err
	})
}

// ModelScore is one model version's score on one evaluation set: queued, running
// (Progress in percent), done (Score holds the measures) or failed (Error).
type ModelScore struct {
	Vendor    string          `json:"vendor"`
	Name      string          `json:"name"`
	Version   string          `json:"version"`
	Set       string          `json:"set"`
	SetSHA256 string          `json:"set_sha256"`
	State     string          `json:"state"`
	Progress  int             `json:"progress"`
	Score     json.RawMessage `json:"score,omitempty"`
	Error     string          `json:"error,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Score states.
const (
	ScoreRunning = "running"
	ScoreDone    = "done"
	ScoreFailed  = "failed"
)

// PutModelScore inserts or replaces a version's score on a set.
func (s *DB) PutModelScore(ctx context.Context, m ModelScore) error {
	score := string(m.Score)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO model_scores (vendor, name, version, set_name, set_sha256, state, progress, score, error, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (vendor, name, version, set_name) DO UPDATE SET set_sha256=excluded.set_sha256, state=excluded.state, progress=excluded.progress,
		score=excluded.score, error=excluded.error, updated_at=excluded.updated_at`),
		m.Vendor, m.Name, m.Version, m.Set, m.SetSHA256, m.State, m.Progress, score, m.Error, ms(now()))
	return err
}

// ListModelScores returns a version's scores by set name.
func (s *DB) ListModelScores(ctx context.Context, vendor, name, version string) ([]ModelScore, error) {
	return queryAll(ctx, s, `SELECT `+scoreCols+` FROM model_scores WHERE vendor=? AND name=? AND version=? ORDER BY set_name`, []any{vendor, name, version}, scanScore)
}

// ScoresInState returns every version's scores in a state (running ones after a
// restart: their job was lost with the process).
func (s *DB) ScoresInState(ctx context.Context, state string) ([]ModelScore, error) {
	return queryAll(ctx, s, `SELECT `+scoreCols+` FROM model_scores WHERE state=? ORDER BY vendor, name, version, set_name`, []any{state}, scanScore)
}

const scoreCols = `vendor, name, version, set_name, set_sha256, state, progress, score, error, updated_at`

func scanScore(row interface{ Scan(...any) error }) (ModelScore, error) {
	var m ModelScore
	var score string
	var u int64
	err := row.Scan(&m.Vendor, &m.Name, &m.Version, &m.Set, &m.SetSHA256, &m.State, &m.Progress, &score, &m.Error, &u)
	if score != "" {
		m.Score = json.RawMessage(score)
	}
	m.UpdatedAt = fromMS(u)
	return m, err
}

// Gate is the platform admin's regression gate for a model (its qualified name, or
// "" for every model without its own): a version may not be published while its
// primary score on an evaluation set is more than MaxDropPoints percentage points
// below the published version's, unless the admin overrides it with a reason.
type Gate struct {
	Model         string    `json:"model"`
	MaxDropPoints float64   `json:"max_drop_points"`
	SetBy         string    `json:"set_by"`
	SetAt         time.Time `json:"set_at"`
}

// SetGate sets (or, with maxDrop nil, removes) the gate of a model or of all ("").
func (s *DB) SetGate(ctx context.Context, model string, maxDrop *float64, by string) error {
	if maxDrop == nil {
		_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM model_gates WHERE model=?`), model)
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO model_gates (model, max_drop_points, set_by, set_at) VALUES (?,?,?,?)
		ON CONFLICT (model) DO UPDATE SET max_drop_points=excluded.max_drop_points, set_by=excluded.set_by, set_at=excluded.set_at`), model, *maxDrop, by, ms(now()))
	return err
}

// ListGates returns every gate by model ("" first).
func (s *DB) ListGates(ctx context.Context) ([]Gate, error) {
	return queryAll(ctx, s, `SELECT model, max_drop_points, set_by, set_at FROM model_gates ORDER BY model`, nil, func(row interface{ Scan(...any) error }) (Gate, error) {
		var g Gate
		var at int64
		err := row.Scan(&g.Model, &g.MaxDropPoints, &g.SetBy, &at)
		g.SetAt = fromMS(at)
		return g, err
	})
}

// GateFor returns the gate that applies to a model: its own, else the general one;
// ok is false when neither is set.
func (s *DB) GateFor(ctx context.Context, model string) (Gate, bool, error) {
	gs, err := s.ListGates(ctx)
	if err != nil {
		return Gate{}, false, err
	}
	var general *Gate
	for i := range gs {
		switch gs[i].Model {
		case model:
			return gs[i], true, nil
		case "":
			general = &gs[i]
		}
	}
	if general == nil {
		return Gate{}, false, nil
	}
	return *general, true, nil
}
