-- +goose Up
-- Issue 19, HA follow-up: the scheduler leader publishes where it answers (url, for
-- followers that forward a worker's heartbeat to it) and its view of the workers
-- and grants (workers_view, JSON, with its time), so every server shows the
-- workers, not only the leader. Written only under the leader's epoch.
ALTER TABLE scheduler_leader ADD COLUMN url TEXT NOT NULL DEFAULT '';
ALTER TABLE scheduler_leader ADD COLUMN workers_view TEXT NOT NULL DEFAULT '';
ALTER TABLE scheduler_leader ADD COLUMN view_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE scheduler_leader DROP COLUMN view_at;
ALTER TABLE scheduler_leader DROP COLUMN workers_view;
ALTER TABLE scheduler_leader DROP COLUMN url;
