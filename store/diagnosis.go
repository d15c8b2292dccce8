package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

// Diagnosis is the picture diagnosis rotation's last visit to a camera.
type Diagnosis struct {
	DeviceID string    `json:"-"`
	ProbedAt time.Time `json:"probed_at"`
	DueAt    time.Time `json:"due_at"`
	Online   bool      `json:"online"`
	Defects  []string  `json:"defects"`          // quality defects seen (signal_lost when offline)
	Reason   string    `json:"reason,omitempty"` // why the stream could not be read
	// SceneRef is the reference view to keep and SceneChangedAt when the view stopped
	// matching it (zero while it matches): SetSceneReference stores them.
	SceneRef       []byte    `json:"-"`
	SceneChangedAt time.Time `json:"-"`
}

// SaveDiagnosis records a visit.
func (s *DB) SaveDiagnosis(ctx context.Context, d Diagnosis) error {
	online := 0
	if d.Online {
		online = 1
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO camera_diagnosis (device_id, probed_at, due_at, online, defects, reason) VALUES (?,?,?,?,?,?)
		ON CONFLICT (device_id) DO UPDATE SET probed_at=excluded.probed_at, due_at=excluded.due_at, online=excluded.online,
		defects=excluded.defects, reason=excluded.reason`),
		d.DeviceID, ms(d.ProbedAt), ms(d.DueAt), online, strings.Join(d.Defects, ","), d.Reason)
	return err
}

func scanDiagnosis(row interface{ Scan(...any) error }) (Diagnosis, error) {
	var d Diagnosis
	var p, due int64
	var online int
	var defects string
	err := row.Scan(&d.DeviceID, &p, &due, &online, &defects, &d.Reason)
	d.ProbedAt, d.DueAt, d.Online = fromMS(p), fromMS(due), online == 1
	d.Defects = []string{}
	if defects != "" {
		d.Defects = strings.Split(defects, ",")
	}
	return d, err
}

// Diagnoses returns the last visit of each of ids that has one.
func (s *DB) Diagnoses(ctx context.Context, ids []string) (map[string]Diagnosis, error) {
	out := map[string]Diagnosis{}
	for lo := 0; lo < len(ids); lo += 500 {
		part := ids[lo:min(lo+500, len(ids))]
		ds, err := queryAll(ctx, s, `SELECT device_id, probed_at, due_at, online, defects, reason FROM camera_diagnosis WHERE device_id IN (`+placeholders(len(part))+`)`, s.dialect.freshPlan(anys(part)), scanDiagnosis)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			out[d.DeviceID] = d
		}
	}
	return out, nil
}

// DueCameras returns up to n catalogue cameras with a stream (a pull URL) whose next
// visit is due at t, never visited first, then the longest overdue. Removed cameras
// (device status 3) are not visited.
func (s *DB) DueCameras(ctx context.Context, t time.Time, n int) ([]string, error) {
	return queryAll(ctx, s, `SELECT c.device_id FROM cameras c JOIN streams st ON st.id=c.device_id
		LEFT JOIN camera_diagnosis d ON d.device_id=c.device_id
		WHERE c.device_status<>3 AND st.url<>'' AND (d.due_at IS NULL OR d.due_at<=?)
		ORDER BY COALESCE(d.due_at, 0), c.device_id LIMIT ?`, []any{ms(t), n},
		func(r interface{ Scan(...any) error }) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
}

// RecordOnline adds span of observed time, online or not, to the camera's day (day:
// YYYYMMDD in China Standard Time), with the owner and division it has that day.
func (s *DB) RecordOnline(ctx context.Context, deviceID string, day int, owner, division string, span time.Duration, online bool) error {
	on := int64(0)
	if online {
		on = span.Milliseconds()
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO online_daily (device_id, day, owner_dept, admin_division, online_ms, observed_ms) VALUES (?,?,?,?,?,?)
		ON CONFLICT (device_id, day) DO UPDATE SET online_ms=online_daily.online_ms+excluded.online_ms,
		observed_ms=online_daily.observed_ms+excluded.observed_ms, owner_dept=excluded.owner_dept, admin_division=excluded.admin_division`),
		deviceID, day, owner, division, on, span.Milliseconds())
	return err
}

// OnlineRate is the online time over the observed time of a group of cameras.
type OnlineRate struct {
	Key        string  `json:"key"` // device ID, department or division
	Cameras    int     `json:"cameras"`
	OnlineMS   int64   `json:"online_ms"`
	ObservedMS int64   `json:"observed_ms"`
	Rate       float64 `json:"rate"` // OnlineMS/ObservedMS, 0..1
}

// OnlineRates groups days from..to (YYYYMMDD, inclusive) by "camera", "department"
// or "area" (the 6-digit division), restricted to departments when depts is not nil.
func (s *DB) OnlineRates(ctx context.Context, by string, from, to int, depts []string) ([]OnlineRate, error) {
	col := map[string]string{"camera": "device_id", "department": "owner_dept", "area": "admin_division"}[by]
	if col == "" {
		return nil, ErrState
	}
	q := `SELECT ` + col + `, COUNT(DISTINCT device_id), SUM(online_ms), SUM(observed_ms) FROM online_daily WHERE day>=? AND day<=?`
	args := []any{from, to}
	if depts != nil {
		q += ` AND owner_dept IN (` + placeholders(len(depts)) + `)`
		args = append(args, anys(depts)...)
	}
	return queryAll(ctx, s, q+` GROUP BY `+col+` ORDER BY `+col, args, func(r interface{ Scan(...any) error }) (OnlineRate, error) {
		var o OnlineRate
		err := r.Scan(&o.Key, &o.Cameras, &o.OnlineMS, &o.ObservedMS)
		if o.ObservedMS > 0 {
			o.Rate = float64(o.OnlineMS) / float64(o.ObservedMS)
		}
		return o, err
	})
}

// PruneOnline deletes days before day: online history is kept a year.
func (s *DB) PruneOnline(ctx context.Context, day int) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM online_daily WHERE day<?`), day)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CameraPlace is what RecordOnline needs of a camera: its owner and division, from
// the catalogue or, for a stream not in it, from the stream.
func (s *DB) CameraPlace(ctx context.Context, id string) (owner, division string, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT owner_dept, admin_division FROM cameras WHERE device_id=?
		UNION ALL SELECT owner_dept, admin_division FROM streams WHERE id=? LIMIT 1`), id, id).Scan(&owner, &division)
	if err == sql.ErrNoRows {
		err = ErrNotFound
	}
	return
}

// BelowTarget is a camera whose online rate on a day fell under the target, with
// the diagnosis' last visit.
type BelowTarget struct {
	OnlineRate
	Name          string
	OwnerDept     string
	AdminDivision string
	Diagnosis     *Diagnosis
}

// CamerasBelow lists the cameras whose online rate on day was under target (0..1),
// worst first, restricted to departments when depts is not nil.
func (s *DB) CamerasBelow(ctx context.Context, day int, target float64, depts []string) ([]BelowTarget, error) {
	q := `SELECT o.device_id, COALESCE(c.name, st.name, ''), o.owner_dept, o.admin_division, o.online_ms, o.observed_ms,
		d.device_id, d.probed_at, d.due_at, d.online, d.defects, d.reason
		FROM online_daily o LEFT JOIN cameras c ON c.device_id=o.device_id LEFT JOIN streams st ON st.id=o.device_id
		LEFT JOIN camera_diagnosis d ON d.device_id=o.device_id
		WHERE o.day=? AND o.observed_ms>0 AND o.online_ms < CAST(? AS DOUBLE PRECISION)*o.observed_ms`
	args := []any{day, target}
	if depts != nil {
		q += ` AND o.owner_dept IN (` + placeholders(len(depts)) + `)`
		args = append(args, anys(depts)...)
	}
	q += ` ORDER BY CAST(o.online_ms AS DOUBLE PRECISION)/o.observed_ms, o.device_id`
	return queryAll(ctx, s, q, args, func(r interface{ Scan(...any) error }) (BelowTarget, error) {
		var b BelowTarget
		var id, defects, reason sql.NullString
		var probed, due, online sql.NullInt64
		err := r.Scan(&b.Key, &b.Name, &b.OwnerDept, &b.AdminDivision, &b.OnlineMS, &b.ObservedMS, &id, &probed, &due, &online, &defects, &reason)
		b.Cameras, b.Rate = 1, float64(b.OnlineMS)/float64(max(b.ObservedMS, 1))
		if id.Valid {
			d := Diagnosis{DeviceID: id.String, ProbedAt: fromMS(probed.Int64), DueAt: fromMS(due.Int64), Online: online.Int64 == 1, Reason: reason.String, Defects: []string{}}
			if defects.String != "" {
				d.Defects = strings.Split(defects.String, ",")
			}
			b.Diagnosis = &d
		}
		return b, err
	})
}

// DayOf is t's day as YYYYMMDD in China Standard Time: the key of online_daily.
func DayOf(t time.Time) int {
	y, m, d := t.In(gat1400.Location).Date()
	return y*10000 + int(m)*100 + d
}

// SetDiagnosisParams stores the video_quality options of a camera (scope: its device
// ID) or an area (a 6-digit division code); empty options remove them.
func (s *DB) SetDiagnosisParams(ctx context.Context, scope string, options []byte) error {
	if len(options) == 0 {
		_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM diagnosis_params WHERE scope=?`), scope)
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO diagnosis_params (scope, options, updated_at) VALUES (?,?,?)
		ON CONFLICT (scope) DO UPDATE SET options=excluded.options, updated_at=excluded.updated_at`), scope, string(options), ms(now()))
	return err
}

// DiagnosisParams returns the options that apply to a camera: its own, else its
// division's, else the nearest area above it (441500, then 440000); nil: defaults.
func (s *DB) DiagnosisParams(ctx context.Context, deviceID, division string) ([]byte, error) {
	scopes := []string{deviceID}
	for d := division; len(d) == 6; {
		scopes = append(scopes, d)
		var p string
		if d[4:] != "00" {
			p = d[:4] + "00"
		} else if d[2:4] != "00" {
			p = d[:2] + "0000"
		} else {
			break
		}
		d = p
	}
	rows, err := queryAll(ctx, s, `SELECT scope, options FROM diagnosis_params WHERE scope IN (`+placeholders(len(scopes))+`)`, anys(scopes),
		func(r interface{ Scan(...any) error }) ([2]string, error) {
			var v [2]string
			return v, r.Scan(&v[0], &v[1])
		})
	if err != nil {
		return nil, err
	}
	for _, sc := range scopes {
		for _, r := range rows {
			if r[0] == sc {
				return []byte(r[1]), nil
			}
		}
	}
	return nil, nil
}

// SceneReference is the camera's reference view for the diagnosis (nil before the
// first visit) and when the current view stopped matching it (zero while it matches).
func (s *DB) SceneReference(ctx context.Context, deviceID string) (ref []byte, changedAt time.Time, err error) {
	var at int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT scene_ref, scene_changed_at FROM camera_diagnosis WHERE device_id=?`), deviceID).Scan(&ref, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if at > 0 {
		changedAt = fromMS(at)
	}
	return ref, changedAt, err
}

// SetSceneReference stores the camera's reference view and the time its view
// stopped matching it (zero: it matches). Call it after SaveDiagnosis.
func (s *DB) SetSceneReference(ctx context.Context, deviceID string, ref []byte, changedAt time.Time) error {
	at := int64(0)
	if !changedAt.IsZero() {
		at = ms(changedAt)
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE camera_diagnosis SET scene_ref=?, scene_changed_at=? WHERE device_id=?`), ref, at, deviceID)
	return err
}
