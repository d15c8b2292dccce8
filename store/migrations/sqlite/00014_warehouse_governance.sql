-- Issue 22: warehouse governance. Evaluation sets owned by the platform (the
-- normalised labels in spec, images in the object store by sha256), each model
-- version's score on each set (the set's sha256 says which content it was scored
-- on), the regression gates the platform admin sets per model (or '' for all), and
-- canary publishes (one running per model: its steps, thresholds and outcome), and
-- shadow runs (a version beside the published one on chosen streams, with its report).

-- +goose Up
CREATE TABLE eval_sets (name TEXT PRIMARY KEY, task TEXT NOT NULL, description TEXT NOT NULL,
	sha256 TEXT NOT NULL, images INTEGER NOT NULL, spec TEXT NOT NULL, created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL);
CREATE TABLE model_scores (vendor TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
	set_name TEXT NOT NULL, set_sha256 TEXT NOT NULL, state TEXT NOT NULL, progress INTEGER NOT NULL,
	score TEXT NOT NULL, error TEXT NOT NULL, updated_at BIGINT NOT NULL,
	PRIMARY KEY (vendor, name, version, set_name));
CREATE TABLE model_gates (model TEXT PRIMARY KEY, max_drop_points DOUBLE PRECISION NOT NULL,
	set_by TEXT NOT NULL, set_at BIGINT NOT NULL);
CREATE TABLE model_canaries (vendor TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
	state TEXT NOT NULL, cameras TEXT NOT NULL, steps TEXT NOT NULL, step INTEGER NOT NULL,
	step_seconds INTEGER NOT NULL, max_error_rate DOUBLE PRECISION NOT NULL,
	max_latency_ms DOUBLE PRECISION NOT NULL, min_frames INTEGER NOT NULL, started_by TEXT NOT NULL,
	started_at BIGINT NOT NULL, step_at BIGINT NOT NULL, ended_at BIGINT NOT NULL, reason TEXT NOT NULL,
	PRIMARY KEY (vendor, name));
CREATE TABLE shadow_runs (id TEXT PRIMARY KEY, vendor TEXT NOT NULL, name TEXT NOT NULL,
	version TEXT NOT NULL, streams TEXT NOT NULL, state TEXT NOT NULL, started_by TEXT NOT NULL,
	started_at BIGINT NOT NULL, ends_at BIGINT NOT NULL, ended_at BIGINT NOT NULL, report TEXT NOT NULL);
CREATE INDEX shadow_runs_version ON shadow_runs(vendor, name, version);

-- +goose Down
DROP TABLE shadow_runs;
DROP TABLE model_canaries;
DROP TABLE model_gates;
DROP TABLE model_scores;
DROP TABLE eval_sets;
