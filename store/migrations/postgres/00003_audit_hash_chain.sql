-- Issue 14 item 9: the audit log is hash-chained. Each entry carries the previous
-- entry's hash and its own (store/auditchain.go); entries written before this
-- migration keep both empty and count as before the chain.
-- +goose Up
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log DROP COLUMN hash;
ALTER TABLE audit_log DROP COLUMN prev_hash;
