-- +goose Up
-- Issue 21 items 4 and 5: record changes reach subscribers, and cascade links push
-- records up to superior view libraries.
--
-- A subscription follows two cursors over records: creation (cursor_at, cursor_id,
-- as before) for new objects, and last change (upd_cursor_*) for objects changed
-- after they were sent. Existing subscriptions start their change cursor where
-- their creation cursor stands, so the upgrade re-sends nothing.
ALTER TABLE subscriptions ADD COLUMN upd_cursor_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN upd_cursor_id TEXT NOT NULL DEFAULT '';
UPDATE subscriptions SET upd_cursor_at = cursor_at;
-- Both cursors scan records in (time, id) order from where they stand.
CREATE INDEX IF NOT EXISTS records_created ON records(created_at, id);
CREATE INDEX IF NOT EXISTS records_updated ON records(updated_at, id);

-- cascade_links: superiors this view library registers with (HTTP Digest as
-- username/password, password sealed like stream URLs) and pushes to, with the rules
-- of what goes up (record types, areas, camera sharing attributes; empty: any) and
-- the same two cursors as subscriptions.
CREATE TABLE IF NOT EXISTS cascade_links (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, device_id TEXT NOT NULL,
	username TEXT NOT NULL, password TEXT NOT NULL, types TEXT NOT NULL, areas TEXT NOT NULL,
	sharing TEXT NOT NULL, keepalive_s INTEGER NOT NULL, enabled BOOLEAN NOT NULL,
	start_at BIGINT NOT NULL, cursor_at BIGINT NOT NULL, cursor_id TEXT NOT NULL,
	upd_cursor_at BIGINT NOT NULL, upd_cursor_id TEXT NOT NULL, created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL);
-- cascade_batches: the durable outbox. A batch is created in the transaction that
-- moves its link's cursors past its records, so every record version is in exactly
-- one batch; it is pushed, in order, until the superior answers.
CREATE TABLE IF NOT EXISTS cascade_batches (
	id TEXT PRIMARY KEY, link_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
	last_error TEXT NOT NULL, adds TEXT NOT NULL, updates TEXT NOT NULL, refused TEXT NOT NULL,
	created_at BIGINT NOT NULL, delivered_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS cascade_batches_link ON cascade_batches(link_id, state, created_at, id);

-- +goose Down
DROP TABLE IF EXISTS cascade_batches;
DROP TABLE IF EXISTS cascade_links;
DROP INDEX IF EXISTS records_updated;
DROP INDEX IF EXISTS records_created;
ALTER TABLE subscriptions DROP COLUMN upd_cursor_id;
ALTER TABLE subscriptions DROP COLUMN upd_cursor_at;
