-- Issue 22: warehouse governance. Evaluation sets owned by the platform (the
-- normalised labels in spec, images in the object store by sha256), each model
-- version's score on each set (the set's sha256 says which content it was scored
-- on), and the regression gates the platform admin sets per model (or '' for all).

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

-- +goose Down
DROP TABLE model_gates;
DROP TABLE model_scores;
DROP TABLE eval_sets;
