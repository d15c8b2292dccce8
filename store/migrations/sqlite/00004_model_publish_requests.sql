-- Issue 14 item 4: a vendor's pending request to publish a model version, for the
-- platform admin to approve (publish) or reject; both are in the audit log.

-- +goose Up
ALTER TABLE model_versions ADD COLUMN publish_requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE model_versions ADD COLUMN publish_requested_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE model_versions DROP COLUMN publish_requested_at;
ALTER TABLE model_versions DROP COLUMN publish_requested_by;
