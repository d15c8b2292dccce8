-- Issue 14 item 3: a worker's API token is bound to the one worker ID it may
-- heartbeat as (set by the platform admin when creating the token).
-- +goose Up
ALTER TABLE tokens ADD COLUMN worker_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN worker_id;
