-- Issue 20: the city's camera catalogue (seed 003 appendix 5, every field), the
-- picture diagnosis' last result per camera, and each camera's online time per day.

-- +goose Up
CREATE TABLE cameras (
	device_id TEXT PRIMARY KEY, name TEXT NOT NULL, admin_division TEXT NOT NULL, grassroots_code TEXT NOT NULL,
	builder TEXT NOT NULL, manager TEXT NOT NULL, manager_phone TEXT NOT NULL, contractor TEXT NOT NULL, maintainer TEXT NOT NULL,
	point_type INTEGER NOT NULL, platform_code TEXT NOT NULL, industry_code TEXT NOT NULL, camera_type INTEGER NOT NULL,
	online_state INTEGER NOT NULL, address TEXT NOT NULL, position_types TEXT NOT NULL, coord_system TEXT NOT NULL,
	longitude DOUBLE PRECISION NOT NULL, latitude DOUBLE PRECISION NOT NULL, ipv4 TEXT NOT NULL, mac TEXT NOT NULL,
	indoor INTEGER NOT NULL, direction INTEGER NOT NULL, pole_number TEXT NOT NULL, access_network INTEGER NOT NULL,
	retention_days INTEGER NOT NULL, sharing INTEGER NOT NULL, permissions TEXT NOT NULL, vendor INTEGER NOT NULL,
	codec INTEGER NOT NULL, device_status INTEGER NOT NULL, owner_dept TEXT NOT NULL,
	created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX cameras_owner ON cameras(owner_dept);
CREATE INDEX cameras_division ON cameras(admin_division);

-- The rotation's last visit to each camera: when it is due again and what it saw.
CREATE TABLE camera_diagnosis (
	device_id TEXT PRIMARY KEY, probed_at BIGINT NOT NULL, due_at BIGINT NOT NULL, online INTEGER NOT NULL,
	defects TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX camera_diagnosis_due ON camera_diagnosis(due_at);

-- The diagnosis' thresholds (video_quality options) for one camera (scope: its device
-- ID) or an area (a GB/T 2260 code: the default of every camera inside it).
CREATE TABLE diagnosis_params (scope TEXT PRIMARY KEY, options TEXT NOT NULL, updated_at BIGINT NOT NULL);

-- Online time per camera and China Standard Time day (YYYYMMDD), kept a year; the
-- owner and division are those of the day, so history does not move with the catalogue.
CREATE TABLE online_daily (
	device_id TEXT NOT NULL, day INTEGER NOT NULL, owner_dept TEXT NOT NULL, admin_division TEXT NOT NULL,
	online_ms BIGINT NOT NULL, observed_ms BIGINT NOT NULL, PRIMARY KEY (device_id, day));
CREATE INDEX online_daily_day ON online_daily(day);

-- +goose Down
DROP TABLE online_daily;
DROP TABLE diagnosis_params;
DROP TABLE camera_diagnosis;
DROP TABLE cameras;
