-- The schema as it stood when migrations began (before that, store/dialect.go made
-- it at every start). Every statement says IF NOT EXISTS: a database made before
-- goose has all of it already and is adopted as is. Columns added after the first
-- release sit at the end of their tables, where ALTER TABLE put them in older
-- databases. Change the schema in a new numbered file, never here.

-- +goose Up
CREATE TABLE IF NOT EXISTS streams (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, admin_division TEXT NOT NULL,
	longitude DOUBLE PRECISION NOT NULL, latitude DOUBLE PRECISION NOT NULL, owner_dept TEXT NOT NULL,
	point_type INTEGER NOT NULL, sharing INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
	id TEXT PRIMARY KEY, stream_id TEXT NOT NULL REFERENCES streams(id), algorithm TEXT NOT NULL,
	params TEXT NOT NULL, enabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
	dept_id TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS tasks_stream ON tasks(stream_id);
CREATE INDEX IF NOT EXISTS tasks_dept ON tasks(dept_id);

-- records: the search columns (plate_no … latitude) are extracted from the body at
-- write time (search.go); longitude and latitude are the camera's, 0, 0 unknown.
CREATE TABLE IF NOT EXISTS records (
	id TEXT PRIMARY KEY, type TEXT NOT NULL, device_id TEXT NOT NULL, task_id TEXT NOT NULL,
	track_key TEXT NOT NULL UNIQUE, shot_time BIGINT NOT NULL, score DOUBLE PRECISION NOT NULL,
	body TEXT NOT NULL, images TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
	dept_id TEXT NOT NULL DEFAULT '', admin_division TEXT NOT NULL DEFAULT '', grant_id TEXT NOT NULL DEFAULT '',
	plate_no TEXT NOT NULL DEFAULT '', plate_color TEXT NOT NULL DEFAULT '', vehicle_color TEXT NOT NULL DEFAULT '',
	vehicle_class TEXT NOT NULL DEFAULT '', longitude DOUBLE PRECISION NOT NULL DEFAULT 0, latitude DOUBLE PRECISION NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS records_type_time ON records(type, shot_time);
CREATE INDEX IF NOT EXISTS records_device_time ON records(device_id, shot_time);
CREATE INDEX IF NOT EXISTS records_dept_time ON records(dept_id, shot_time);
-- The search indexes serve SearchRecords (search.go; measurements in
-- docs/bench/search.md). Every search is bounded by a shot-time window and sorted by
-- shot_time DESC, so the indexes end (or, for the map, start) in shot_time: after an
-- equality on the leading column the newest rows come first and the scan stops at
-- the page size. records_device_time serves device + time, records_type_time type +
-- time for the platform office, and records_dept_time the department scope, which
-- is in every query a department runs.
--
-- Plate exact and substring ("where was 粤B12345 this month"): a plate's sightings,
-- newest first. Partial: faces and people (most records) have no plate and stay out
-- of it; the query repeats the predicate (plate_no <> '') so both databases use it.
-- It also carries (INCLUDE) what the scope and a type filter test, so a substring
-- search, which ranks the sightings of every matching plate, does so from the index
-- alone and reads only the page's rows from the table.
CREATE INDEX IF NOT EXISTS records_plate_time ON records(plate_no, shot_time) INCLUDE (id, type, dept_id, admin_division, grant_id) WHERE plate_no <> '';
-- Area + time: one district (441502) is an equality, newest first; a wider prefix
-- (4415) a range over a few district codes, queried with >= and <, which a plain
-- B-tree serves in any collation, unlike LIKE 'prefix%'.
CREATE INDEX IF NOT EXISTS records_area_time ON records(admin_division, shot_time);
-- Type + time for a department ("our faces today"): with records_type_time alone,
-- the scope would filter every record of the type in the window, and a department
-- with none of that type would read the whole window. Also what the VIID query path
-- (records.type = ? within the scope) wants.
CREATE INDEX IF NOT EXISTS records_dept_type_time ON records(dept_id, type, shot_time);
-- Map rectangle + time: there is no spatial type without PostGIS, and a B-tree on
-- (longitude, …) would read every record in the longitude strip over all time. Time
-- leads instead: the window is scanned newest first and the rectangle is tested on
-- the index entries, so only matching rows are read from the table. Partial: records
-- with no position (0, 0) cannot match.
CREATE INDEX IF NOT EXISTS records_geo_time ON records(shot_time, longitude, latitude) WHERE longitude <> 0;
-- plates: the dictionary of distinct plate numbers ever recorded (SaveRecord adds to
-- it). A substring search finds the matching plates there, a few hundred short rows,
-- and then their records through records_plate_time, instead of testing every
-- vehicle record. Deleted records leave their plate behind: a plate that matches but
-- has no records left costs one index probe. Its trigram index (plates_trgm) needs
-- the optional pg_trgm extension: OpenPostgres makes it after the migrations where
-- it can and warns where it cannot (dialect.go, plateTrigram).
CREATE TABLE IF NOT EXISTS plates (plate_no TEXT PRIMARY KEY);

CREATE TABLE IF NOT EXISTS pending_objects (key TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS id_serials (device_id TEXT NOT NULL, second BIGINT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (device_id, second));
CREATE TABLE IF NOT EXISTS departments (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, areas TEXT NOT NULL, quota_streams INTEGER NOT NULL, quota_tasks INTEGER NOT NULL,
	quota_fps_share DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, dept_id TEXT NOT NULL REFERENCES departments(id), role TEXT NOT NULL,
	disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
	id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
	created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
	id TEXT PRIMARY KEY, device_id TEXT NOT NULL, dept_id TEXT NOT NULL, owner_dept TEXT NOT NULL, reason TEXT NOT NULL,
	rights TEXT NOT NULL, algorithms TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL, deadline BIGINT NOT NULL,
	state TEXT NOT NULL, created_by TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at BIGINT NOT NULL, note TEXT NOT NULL,
	reminded_at BIGINT NOT NULL, withdrawn_at BIGINT NOT NULL, withdrawn_by TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_grantee ON applications(dept_id, device_id, state);
CREATE INDEX IF NOT EXISTS applications_due ON applications(state, deadline);
CREATE TABLE IF NOT EXISTS notices (
	id BIGSERIAL PRIMARY KEY, dept_id TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, message TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS notices_dept ON notices(dept_id, id);

-- audit_log is append-only: the database itself refuses UPDATE and DELETE.
CREATE TABLE IF NOT EXISTS audit_log (
	id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, user_id TEXT NOT NULL, dept_id TEXT NOT NULL, token_id TEXT NOT NULL,
	action TEXT NOT NULL, target TEXT NOT NULL, grant_id TEXT NOT NULL, remote TEXT NOT NULL, status INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_user_at ON audit_log(user_id, at);
CREATE INDEX IF NOT EXISTS audit_target ON audit_log(target);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION cityeye_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION cityeye_append_only();
-- TRUNCATE fires no row trigger: refuse it with a statement trigger.
CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION cityeye_append_only();

CREATE TABLE IF NOT EXISTS model_versions (
	vendor TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, task TEXT NOT NULL, labels TEXT NOT NULL,
	sha256 TEXT NOT NULL, size BIGINT NOT NULL, manifest TEXT NOT NULL, state TEXT NOT NULL, stage TEXT NOT NULL,
	progress INTEGER NOT NULL, report TEXT NOT NULL, bench TEXT NOT NULL, uploaded_by TEXT NOT NULL,
	created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, published_at BIGINT NOT NULL, PRIMARY KEY (vendor, name, version));
CREATE INDEX IF NOT EXISTS model_versions_state ON model_versions(state);
CREATE TABLE IF NOT EXISTS alerts (
	id TEXT PRIMARY KEY, kind TEXT NOT NULL, level INTEGER NOT NULL, task_id TEXT NOT NULL, device_id TEXT NOT NULL,
	dept_id TEXT NOT NULL, admin_division TEXT NOT NULL, grant_id TEXT NOT NULL, longitude DOUBLE PRECISION NOT NULL,
	latitude DOUBLE PRECISION NOT NULL, zone TEXT NOT NULL, at BIGINT NOT NULL, image TEXT NOT NULL, boxes TEXT NOT NULL,
	details TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_dept_at ON alerts(dept_id, at);
CREATE INDEX IF NOT EXISTS alerts_device_at ON alerts(device_id, at);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts(created_at);
CREATE TABLE IF NOT EXISTS measures (
	task_id TEXT NOT NULL, device_id TEXT NOT NULL, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, unit TEXT NOT NULL,
	at BIGINT NOT NULL, PRIMARY KEY (task_id, name, at));

-- Offline video analyses (analyses.go).
CREATE TABLE IF NOT EXISTS analyses (id TEXT PRIMARY KEY, dept_id TEXT NOT NULL, user_id TEXT NOT NULL,
	device_id TEXT NOT NULL, url TEXT NOT NULL, algorithm TEXT NOT NULL, params TEXT NOT NULL, state TEXT NOT NULL,
	frames BIGINT NOT NULL, records INTEGER NOT NULL, error TEXT NOT NULL, created_at BIGINT NOT NULL, started_at BIGINT NOT NULL,
	finished_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS analyses_dept ON analyses(dept_id, created_at);
-- GA/T 1400 peers allowed to register (peers.go).
CREATE TABLE IF NOT EXISTS viid_peers (device_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE,
	user_id TEXT NOT NULL, ha1 TEXT NOT NULL, created_at BIGINT NOT NULL);
-- Subscriptions and the notifications pushed for them (subscriptions.go).
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL,
	dept_id TEXT NOT NULL, categories TEXT NOT NULL, devices TEXT NOT NULL, alert_kinds TEXT NOT NULL, area TEXT NOT NULL,
	receive_addr TEXT NOT NULL, report_interval INTEGER NOT NULL, begin_at BIGINT NOT NULL, end_at BIGINT NOT NULL,
	status INTEGER NOT NULL, body TEXT NOT NULL, cursor_at BIGINT NOT NULL, cursor_id TEXT NOT NULL, next_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (id TEXT PRIMARY KEY, sub_id TEXT NOT NULL, dept_id TEXT NOT NULL, state TEXT NOT NULL,
	attempts INTEGER NOT NULL, last_error TEXT NOT NULL, items TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS notifications_state ON notifications(dept_id, state, created_at);
-- Appearance vectors for search by photo (features.go): vector is the base64 of the
-- little-endian float32s.
CREATE TABLE IF NOT EXISTS record_features (
	record_id TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,
	vector TEXT NOT NULL, quality DOUBLE PRECISION NOT NULL, attrs TEXT NOT NULL,
	updated_at BIGINT NOT NULL);

-- +goose Down
-- The baseline is not undone: it would drop every table and its data.
