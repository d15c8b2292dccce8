-- Issue 19 items 2-4: jobs survive Redis, several API servers, deliveries that resume.
--
-- alerts.seq orders alerts database-wide: the live feed's event ID, so a map that
-- reconnects with Last-Event-ID gets exactly what it missed (api/sse.go).
-- job_outbox holds jobs committed with the change that caused them; a relay moves
-- them to the queue (asynq on Redis, or the in-process queue) when it can.
-- subscriptions.secret signs webhook calls (HMAC-SHA256), sealed with the stream key.
-- viid_sessions and digest_replay share VIID sessions and the Digest replay cache
-- between API servers and across restarts; cluster_secrets holds keys every server
-- must agree on (the Digest nonce key). scheduler_leader is the leader's fencing
-- epoch: the server holding the scheduler's advisory lock bumps it when it takes
-- over, and workers refuse leases from an older epoch.
-- +goose Up
ALTER TABLE alerts ADD COLUMN seq BIGSERIAL;
CREATE UNIQUE INDEX alerts_seq ON alerts (seq);
CREATE TABLE job_outbox (
	id BIGSERIAL PRIMARY KEY,
	kind TEXT NOT NULL,
	key TEXT NOT NULL DEFAULT '',
	payload BYTEA NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
ALTER TABLE subscriptions ADD COLUMN secret TEXT NOT NULL DEFAULT '';
CREATE TABLE viid_sessions (
	device_id TEXT PRIMARY KEY,
	remote TEXT NOT NULL,
	registered_at BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE TABLE digest_replay (
	key TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX digest_replay_expiry ON digest_replay (expires_at);
CREATE TABLE cluster_secrets (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE scheduler_leader (
	id INTEGER PRIMARY KEY,
	holder TEXT NOT NULL,
	epoch BIGINT NOT NULL,
	since BIGINT NOT NULL
);
INSERT INTO scheduler_leader (id, holder, epoch, since) VALUES (1, '', 0, 0);

-- +goose Down
DROP TABLE scheduler_leader;
DROP TABLE cluster_secrets;
DROP TABLE digest_replay;
DROP TABLE viid_sessions;
ALTER TABLE subscriptions DROP COLUMN secret;
DROP TABLE job_outbox;
DROP INDEX alerts_seq;
ALTER TABLE alerts DROP COLUMN seq;
