-- Issue 18: the live feed pushes acknowledgements to every open map. ack_noted is
-- when the acknowledgement was stored (the server's clock, unix ms; 0 while
-- unacknowledged), which feeds watch; acked_at stays the time shown to people.

-- +goose Up
ALTER TABLE alerts ADD COLUMN ack_noted BIGINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS alerts_ack_noted ON alerts(ack_noted) WHERE ack_noted > 0;

-- +goose Down
DROP INDEX IF EXISTS alerts_ack_noted;
ALTER TABLE alerts DROP COLUMN ack_noted;
