-- The schema of the first release (store/dialect.go's const schema then): a
-- database from before the search columns and departments.
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
	id BIGSERIAL PRIMARY KEY, dept_id TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL, message TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS notices_dept ON notices(dept_id, id);
CREATE TABLE IF NOT EXISTS audit_log (
	id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, user_id TEXT NOT NULL, dept_id TEXT NOT NULL, token_id TEXT NOT NULL,
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
