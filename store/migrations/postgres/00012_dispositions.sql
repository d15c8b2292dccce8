-- +goose Up
-- Issue 21 item 3: dispositions (布控). A disposition watches plates (exact or fuzzy)
-- or faces (embedding vectors of watched photos, compared by cosine against a
-- threshold) over cameras or areas for a period; what it catches is a hit (one per
-- disposition and record), with the alert raised and the DispositionNotification
-- queued in the same transaction. Times are unix ms; lists comma-wrapped like subscriptions'.
CREATE TABLE dispositions (id TEXT PRIMARY KEY, dept_id TEXT NOT NULL, user_id TEXT NOT NULL,
	category TEXT NOT NULL, title TEXT NOT NULL, reason TEXT NOT NULL, priority INTEGER NOT NULL,
	begin_at BIGINT NOT NULL, end_at BIGINT NOT NULL, devices TEXT NOT NULL, areas TEXT NOT NULL,
	plate_mode TEXT NOT NULL, threshold DOUBLE PRECISION NOT NULL, receive_addr TEXT NOT NULL,
	body TEXT NOT NULL, status INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
	cancelled_at BIGINT NOT NULL, cancelled_by TEXT NOT NULL, cancel_reason TEXT NOT NULL);
CREATE INDEX dispositions_dept ON dispositions(dept_id, created_at);
CREATE INDEX dispositions_status ON dispositions(status, end_at);
-- The watched plates or faces: vector is base64 float32s like record_features';
-- image is the object key of the watched photo (the left half of a face alert).
CREATE TABLE disposition_targets (disposition_id TEXT NOT NULL, n INTEGER NOT NULL, plate TEXT NOT NULL,
	model TEXT NOT NULL, vector TEXT NOT NULL, image TEXT NOT NULL, PRIMARY KEY (disposition_id, n));
CREATE TABLE disposition_hits (disposition_id TEXT NOT NULL, record_id TEXT NOT NULL, target INTEGER NOT NULL,
	score DOUBLE PRECISION NOT NULL, alert_id TEXT NOT NULL, notification_id TEXT NOT NULL, created_at BIGINT NOT NULL,
	PRIMARY KEY (disposition_id, record_id));
-- Where the matcher has read up to, per stream of captures (plates, faces).
CREATE TABLE scan_cursors (name TEXT PRIMARY KEY, at BIGINT NOT NULL, id TEXT NOT NULL);
-- The matcher reads what changed since its cursor: plates by the record's update
-- time (index records_updated, made by the cascade migration), faces by their
-- feature's.
CREATE INDEX IF NOT EXISTS record_features_updated ON record_features(updated_at, record_id);

-- +goose Down
DROP INDEX IF EXISTS record_features_updated;
DROP TABLE scan_cursors;
DROP TABLE disposition_hits;
DROP TABLE disposition_targets;
DROP TABLE dispositions;
