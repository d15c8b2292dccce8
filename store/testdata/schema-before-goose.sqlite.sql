-- The schema as the code before migrations made it, statement by statement:
-- store/dialect.go's migrate() at every start, then the tables that analyses.go,
-- peers.go, subscriptions.go and features.go created on first use.
CREATE TABLE IF NOT EXISTS streams (
	id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, admin_division TEXT NOT NULL,
	longitude DOUBLE PRECISION NOT NULL, latitude DOUBLE PRECISION NOT NULL, owner_dept TEXT NOT NULL,
	point_type INTEGER NOT NULL, sharing INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
	id TEXT PRIMARY KEY, stream_id TEXT NOT NULL REFERENCES streams(id), algorithm TEXT NOT NULL,
	params TEXT NOT NULL, enabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_stream ON tasks(stream_id);
CREATE TABLE IF NOT EXISTS records (
	id TEXT PRIMARY KEY, type TEXT NOT NULL, device_id TEXT NOT NULL, task_id TEXT NOT NULL,
	track_key TEXT NOT NULL UNIQUE, shot_time BIGINT NOT NULL, score DOUBLE PRECISION NOT NULL,
	body TEXT NOT NULL, images TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS records_type_time ON records(type, shot_time);
CREATE INDEX IF NOT EXISTS records_device_time ON records(device_id, shot_time);
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
	id INTEGER PRIMARY KEY AUTOINCREMENT, dept_id TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, message TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS notices_dept ON notices(dept_id, id);
CREATE TABLE IF NOT EXISTS audit_log (
	id INTEGER PRIMARY KEY AUTOINCREMENT, at BIGINT NOT NULL, user_id TEXT NOT NULL, dept_id TEXT NOT NULL, token_id TEXT NOT NULL,
	action TEXT NOT NULL, target TEXT NOT NULL, grant_id TEXT NOT NULL, remote TEXT NOT NULL, status INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_user_at ON audit_log(user_id, at);
CREATE INDEX IF NOT EXISTS audit_target ON audit_log(target);
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
ALTER TABLE tasks ADD COLUMN dept_id TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN dept_id TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN admin_division TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN plate_no TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN plate_color TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN vehicle_color TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN vehicle_class TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN longitude DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN latitude DOUBLE PRECISION NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS records_dept_time ON records(dept_id, shot_time);
CREATE INDEX IF NOT EXISTS tasks_dept ON tasks(dept_id);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE IF NOT EXISTS plates (plate_no TEXT PRIMARY KEY);
CREATE INDEX IF NOT EXISTS records_plate_time ON records(plate_no, shot_time) WHERE plate_no <> '';
CREATE INDEX IF NOT EXISTS records_area_time ON records(admin_division, shot_time);
CREATE INDEX IF NOT EXISTS records_dept_type_time ON records(dept_id, type, shot_time);
CREATE INDEX IF NOT EXISTS records_geo_time ON records(shot_time, longitude, latitude) WHERE longitude <> 0;
CREATE TABLE IF NOT EXISTS analyses (id TEXT PRIMARY KEY, dept_id TEXT NOT NULL, user_id TEXT NOT NULL,
	device_id TEXT NOT NULL, url TEXT NOT NULL, algorithm TEXT NOT NULL, params TEXT NOT NULL, state TEXT NOT NULL,
	frames BIGINT NOT NULL, records INTEGER NOT NULL, error TEXT NOT NULL, created_at BIGINT NOT NULL, started_at BIGINT NOT NULL,
	finished_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS analyses_dept ON analyses(dept_id, created_at);
CREATE TABLE IF NOT EXISTS viid_peers (device_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE,
	user_id TEXT NOT NULL, ha1 TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL,
	dept_id TEXT NOT NULL, categories TEXT NOT NULL, devices TEXT NOT NULL, alert_kinds TEXT NOT NULL, area TEXT NOT NULL,
	receive_addr TEXT NOT NULL, report_interval INTEGER NOT NULL, begin_at BIGINT NOT NULL, end_at BIGINT NOT NULL,
	status INTEGER NOT NULL, body TEXT NOT NULL, cursor_at BIGINT NOT NULL, cursor_id TEXT NOT NULL, next_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (id TEXT PRIMARY KEY, sub_id TEXT NOT NULL, dept_id TEXT NOT NULL, state TEXT NOT NULL,
	attempts INTEGER NOT NULL, last_error TEXT NOT NULL, items TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL,
	delivered_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS notifications_state ON notifications(dept_id, state, created_at);
CREATE TABLE IF NOT EXISTS record_features (
	record_id TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,
	vector TEXT NOT NULL, quality DOUBLE PRECISION NOT NULL, attrs TEXT NOT NULL,
	updated_at BIGINT NOT NULL);
