-- +goose Up
-- Acknowledging an alert (issue 18, the Minqing map): who acknowledged it and when
-- (unix ms; 0 while unacknowledged). The first acknowledgement stands.
ALTER TABLE alerts ADD COLUMN acked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN acked_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alerts DROP COLUMN acked_at;
ALTER TABLE alerts DROP COLUMN acked_by;
