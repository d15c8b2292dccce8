package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ModelVersion is one uploaded model version in the warehouse. The bytes live in
// the object store under their sha256; this row is the metadata and lifecycle.
type ModelVersion struct {
	Vendor      string          `json:"vendor"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Task        string          `json:"task"`
	Labels      []string        `json:"labels"`
	SHA256      string          `json:"sha256"`
	Size        int64           `json:"size"`
	Manifest    json.RawMessage `json:"manifest"`
	State       string          `json:"state"`
	Stage       string          `json:"stage,omitempty"`  // what the validation job is doing
	Progress    int             `json:"progress"`         // percent of the validation job
	Report      json.RawMessage `json:"report,omitempty"` // checks passed and failed
	Bench       json.RawMessage `json:"benchmark,omitempty"`
	UploadedBy  string          `json:"uploaded_by"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	PublishedAt time.Time       `json:"published_at,omitzero"` // the last time it became the published version
	// A vendor's pending request to publish (the platform admin approves or rejects).
	PublishRequestedBy string    `json:"publish_requested_by,omitempty"`
	PublishRequestedAt time.Time `json:"publish_requested_at,omitzero"`
}

// Model version states.
const (
	ModelUploaded   = "uploaded"
	ModelValidating = "validating"
	ModelValidated  = "validated"
	ModelRejected   = "rejected"
	ModelPublished  = "published"
	ModelDeprecated = "deprecated"
)

// CreateModelVersion inserts a freshly uploaded version; ErrConflict if it exists.
func (s *DB) CreateModelVersion(ctx context.Context, v *ModelVersion) error {
	v.CreatedAt, v.UpdatedAt, v.State = now(), now(), ModelUploaded
	labels, _ := json.Marshal(v.Labels)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO model_versions (vendor, name, version, task, labels, sha256, size, manifest, state, stage, progress, report, bench, uploaded_by, created_at, updated_at, published_at)
		VALUES (?,?,?,?,?,?,?,?,?,'',0,'','',?,?,?,0)`),
		v.Vendor, v.Name, v.Version, v.Task, string(labels), v.SHA256, v.Size, string(v.Manifest), v.State, v.UploadedBy, ms(v.CreatedAt), ms(v.UpdatedAt))
	return s.dialect.mapErr(err)
}

const mvCols = `vendor, name, version, task, labels, sha256, size, manifest, state, stage, progress, report, bench, uploaded_by, created_at, updated_at, published_at, publish_requested_by, publish_requested_at`

func scanMV(row interface{ Scan(...any) error }) (ModelVersion, error) {
	var v ModelVersion
	var labels, manifest, report, bench string
	var c, u, p, r int64
	err := row.Scan(&v.Vendor, &v.Name, &v.Version, &v.Task, &labels, &v.SHA256, &v.Size, &manifest, &v.State, &v.Stage, &v.Progress, &report, &bench, &v.UploadedBy, &c, &u, &p,
		&v.PublishRequestedBy, &r)
	_ = json.Unmarshal([]byte(labels), &v.Labels)
	v.Manifest = json.RawMessage(manifest)
	if report != "" {
		v.Report = json.RawMessage(report)
	}
	if bench != "" {
		v.Bench = json.RawMessage(bench)
	}
	v.CreatedAt, v.UpdatedAt, v.PublishedAt, v.PublishRequestedAt = fromMS(c), fromMS(u), optMS(p), optMS(r)
	return v, err
}

// GetModelVersion returns one version.
func (s *DB) GetModelVersion(ctx context.Context, vendor, name, version string) (ModelVersion, error) {
	v, err := scanMV(s.db.QueryRowContext(ctx, s.q(`SELECT `+mvCols+` FROM model_versions WHERE vendor=? AND name=? AND version=?`), vendor, name, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%w: model %s/%s@%s", ErrNotFound, vendor, name, version)
	}
	return v, err
}

// ModelFilter selects versions; zero fields match everything.
type ModelFilter struct {
	Vendor, Name, Task, Label, State string
}

// ListModelVersions returns matching versions by vendor, name and upload time.
func (s *DB) ListModelVersions(ctx context.Context, f ModelFilter) ([]ModelVersion, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"vendor", f.Vendor}, {"name", f.Name}, {"task", f.Task}, {"state", f.State}} {
		if c.v != "" {
			where, args = append(where, c.col+"=?"), append(args, c.v)
		}
	}
	if f.Label != "" {
		b, _ := json.Marshal(f.Label) // labels are stored as a JSON array: match the quoted element
		where, args = append(where, "labels LIKE ?"), append(args, "%"+string(b)+"%")
	}
	q := `SELECT ` + mvCols + ` FROM model_versions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return queryAll(ctx, s, q+` ORDER BY vendor, name, created_at`, args, scanMV)
}

// ModelProgress records the validation job's stage and percent.
func (s *DB) ModelProgress(ctx context.Context, vendor, name, version, state, stage string, percent int) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE model_versions SET state=?, stage=?, progress=?, updated_at=? WHERE vendor=? AND name=? AND version=?`),
		state, stage, percent, ms(now()), vendor, name, version)
	return affected(res, err)
}

// FinishValidation stores the report and benchmark and the final state (validated
// or rejected) of a version that is still validating.
func (s *DB) FinishValidation(ctx context.Context, vendor, name, version, state string, report, bench json.RawMessage) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE model_versions SET state=?, stage='', progress=100, report=?, bench=?, updated_at=? WHERE vendor=? AND name=? AND version=? AND state=?`),
		state, string(report), string(bench), ms(now()), vendor, name, version, ModelValidating)
	return affected(res, err)
}

// SetModelState moves a version between lifecycle states; from lists the states it
// may leave (ErrState otherwise).
func (s *DB) SetModelState(ctx context.Context, vendor, name, version, to string, from ...string) error {
	v, err := s.GetModelVersion(ctx, vendor, name, version)
	if err != nil {
		return err
	}
	if !contains(from, v.State) {
		return fmt.Errorf("%w: %s/%s@%s is %s; only %s versions can become %s", ErrState, vendor, name, version, v.State, strings.Join(from, " or "), to)
	}
	_, err = s.db.ExecContext(ctx, s.q(`UPDATE model_versions SET state=?, updated_at=? WHERE vendor=? AND name=? AND version=? AND state=?`), to, ms(now()), vendor, name, version, v.State)
	return err
}

// PublishModelVersion makes a validated (or previously published) version the one
// published version of vendor/name: the one published before goes back to validated,
// still pinnable. One transaction, so there is never zero or two published versions.
func (s *DB) PublishModelVersion(ctx context.Context, vendor, name, version string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// lock the model's versions: concurrent publishes queue here on PostgreSQL
		if _, err := tx.ExecContext(ctx, s.q(`SELECT version FROM model_versions WHERE vendor=? AND name=?`+s.dialect.forUpdate()), vendor, name); err != nil {
			return err
		}
		var state string
		err := tx.QueryRowContext(ctx, s.q(`SELECT state FROM model_versions WHERE vendor=? AND name=? AND version=?`), vendor, name, version).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: model %s/%s@%s", ErrNotFound, vendor, name, version)
		}
		if err != nil {
			return err
		}
		if state != ModelValidated && state != ModelPublished {
			return fmt.Errorf("%w: %s/%s@%s is %s; only validated versions can be published", ErrState, vendor, name, version, state)
		}
		t := ms(now())
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE model_versions SET state=?, updated_at=? WHERE vendor=? AND name=? AND state=?`), ModelValidated, t, vendor, name, ModelPublished); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE model_versions SET state=?, published_at=?, updated_at=?, publish_requested_by='', publish_requested_at=0 WHERE vendor=? AND name=? AND version=?`), ModelPublished, t, t, vendor, name, version)
		return err
	})
}

// RequestPublish records a vendor's request to publish a validated version; only the
// platform admin publishes it (PublishModelVersion) or rejects it (ClearPublishRequest).
func (s *DB) RequestPublish(ctx context.Context, vendor, name, version, by string) error {
	t := ms(now())
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE model_versions SET publish_requested_by=?, publish_requested_at=?, updated_at=? WHERE vendor=? AND name=? AND version=? AND state=?`),
		by, t, t, vendor, name, version, ModelValidated)
	if n, _ := rowsAffected(res, err); n == 1 || err != nil {
		return err
	}
	v, err := s.GetModelVersion(ctx, vendor, name, version)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s/%s@%s is %s; only validated versions can be put up for publishing", ErrState, vendor, name, version, v.State)
}

// ClearPublishRequest withdraws a pending request (rejected); ErrState when none is pending.
func (s *DB) ClearPublishRequest(ctx context.Context, vendor, name, version string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE model_versions SET publish_requested_by='', publish_requested_at=0, updated_at=? WHERE vendor=? AND name=? AND version=? AND publish_requested_at<>0`),
		ms(now()), vendor, name, version)
	if n, _ := rowsAffected(res, err); n == 1 || err != nil {
		return err
	}
	if _, err := s.GetModelVersion(ctx, vendor, name, version); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s/%s@%s has no pending publish request", ErrState, vendor, name, version)
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteModelVersion removes a version's row; the caller checks it is not in use.
func (s *DB) DeleteModelVersion(ctx context.Context, vendor, name, version string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM model_versions WHERE vendor=? AND name=? AND version=?`), vendor, name, version)
	return affected(res, err)
}

// BlobInUse reports whether any version still references a sha256.
func (s *DB) BlobInUse(ctx context.Context, sha string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM model_versions WHERE sha256=? OR manifest LIKE ?`), sha, "%"+sha+"%").Scan(&n)
	return n > 0, err
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
