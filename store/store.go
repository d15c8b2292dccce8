// Package store keeps CityEye's metadata and structured records in SQL: SQLite in
// embedded mode, PostgreSQL in distributed mode, one schema and one code path with
// the dialect differences isolated in dialect.go.
//
// Records and their snapshots live in two systems (SQL and an object store), so a
// record write is a small protocol that never leaves a record pointing at a missing
// image nor an image no record points at, whatever crashes when:
//
//  1. Intend(keys): the snapshot keys are logged as pending, committed.
//  2. The caller writes the objects.
//  3. SaveRecord: one transaction upserts the record (by its track key), removes its
//     keys from pending and moves the keys of the snapshot it replaces into pending.
//  4. The caller deletes the replaced objects and calls Forget on them.
//
// Anything still pending at start-up belongs to no record: Sweep deletes it.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store/objects"
)

// ErrNotFound is returned for a missing row; ErrConflict for a duplicate key.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// Stream is a registered camera with the catalogue fields of the city resource
// directory (DOMAIN.md): the GB/T 28181 ID is its key.
type Stream struct {
	ID            string    `json:"device_id"`
	Name          string    `json:"name"`
	URL           string    `json:"url"`
	AdminDivision string    `json:"admin_division"`
	Longitude     float64   `json:"longitude"`
	Latitude      float64   `json:"latitude"`
	OwnerDept     string    `json:"owner_department"`
	PointType     int       `json:"point_type"`
	Sharing       int       `json:"sharing"` // 0 conditional, 1 unconditional, 2 not shared
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Task binds a stream to an algorithm with parameters.
type Task struct {
	ID        string          `json:"id"`
	StreamID  string          `json:"device_id"`
	DeptID    string          `json:"department"` // who subscribed: owns the results and pays the quota
	Algorithm string          `json:"algorithm"`
	Params    json.RawMessage `json:"params"`
	Enabled   bool            `json:"enabled"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Record is one GA/T 1400 object (Face, Person, MotorVehicle…) produced by a task.
type Record struct {
	ID        string          `json:"id"`   // the 48-character content ID
	Type      string          `json:"type"` // GA/T 1400 object name: Face, Person, MotorVehicle
	DeviceID  string          `json:"device_id"`
	TaskID    string          `json:"task_id"`
	DeptID    string          `json:"department"`         // the task's department: who may see it
	Division  string          `json:"admin_division"`     // the camera's area at capture time
	GrantID   string          `json:"grant_id,omitempty"` // the sharing grant it was captured under, if any
	TrackKey  string          `json:"-"`                  // one record per tracked object: updates replace, never duplicate
	ShotTime  time.Time       `json:"shot_time"`
	Score     float64         `json:"score"`
	Body      json.RawMessage `json:"object"`              // the GA/T 1400 object as JSON
	Images    []string        `json:"images"`              // object-store keys the body points at
	Longitude float64         `json:"longitude,omitempty"` // the camera's position at the shot (the writer copies the stream's);
	Latitude  float64         `json:"latitude,omitempty"`  // 0, 0 is unknown and never matches a map search
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// RecordFilter selects records; zero fields match everything.
type RecordFilter struct {
	Type     string
	DeviceID string
	TaskID   string
	From, To time.Time // ShotTime range, inclusive
	Offset   int
	Limit    int        // default 50, at most 1000
	Scope    auth.Scope // what the caller may see; the zero Scope sees nothing
}

// DB is the SQL store. Open it with OpenSQLite or OpenPostgres.
type DB struct {
	db      *sql.DB
	dialect dialect
}

// Ping checks the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

func (s *DB) q(query string) string { return s.dialect.rebind(query) }

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// ---- streams ----

// CreateStream inserts a stream; ErrConflict if its device ID exists.
func (s *DB) CreateStream(ctx context.Context, st *Stream) error {
	st.CreatedAt, st.UpdatedAt = now(), now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO streams (id, name, url, admin_division, longitude, latitude, owner_dept, point_type, sharing, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`), st.ID, st.Name, st.URL, st.AdminDivision, st.Longitude, st.Latitude, st.OwnerDept, st.PointType, st.Sharing, ms(st.CreatedAt), ms(st.UpdatedAt))
	return s.dialect.mapErr(err)
}

// UpdateStream replaces a stream's mutable fields.
func (s *DB) UpdateStream(ctx context.Context, st *Stream) error {
	st.UpdatedAt = now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE streams SET name=?, url=?, admin_division=?, longitude=?, latitude=?, owner_dept=?, point_type=?, sharing=?, updated_at=? WHERE id=?`),
		st.Name, st.URL, st.AdminDivision, st.Longitude, st.Latitude, st.OwnerDept, st.PointType, st.Sharing, ms(st.UpdatedAt), st.ID)
	return affected(res, err)
}

const streamCols = `id, name, url, admin_division, longitude, latitude, owner_dept, point_type, sharing, created_at, updated_at`

func scanStream(row interface{ Scan(...any) error }) (Stream, error) {
	var st Stream
	var c, u int64
	err := row.Scan(&st.ID, &st.Name, &st.URL, &st.AdminDivision, &st.Longitude, &st.Latitude, &st.OwnerDept, &st.PointType, &st.Sharing, &c, &u)
	st.CreatedAt, st.UpdatedAt = fromMS(c), fromMS(u)
	return st, err
}

// GetStream returns one stream.
func (s *DB) GetStream(ctx context.Context, id string) (Stream, error) {
	st, err := scanStream(s.db.QueryRowContext(ctx, s.q(`SELECT `+streamCols+` FROM streams WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	return st, err
}

// VisibleStream returns one stream if the scope may see it at t.
func (s *DB) VisibleStream(ctx context.Context, sc auth.Scope, id string, t time.Time) (Stream, error) {
	cond, args := streamScope(sc, t)
	st, err := scanStream(s.db.QueryRowContext(ctx, s.q(`SELECT `+streamCols+` FROM streams WHERE id=? AND `+cond), append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	return st, err
}

// ListStreams returns the streams a scope may see at t, by ID.
func (s *DB) ListStreams(ctx context.Context, sc auth.Scope, t time.Time) ([]Stream, error) {
	cond, args := streamScope(sc, t)
	return queryAll(ctx, s, `SELECT `+streamCols+` FROM streams WHERE `+cond+` ORDER BY id`, args, scanStream)
}

// DeleteStream deletes a stream and its tasks (records stay: they are evidence).
func (s *DB) DeleteStream(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tasks WHERE stream_id=?`), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM streams WHERE id=?`), id)
		return affected(res, err)
	})
}

// ---- tasks ----

// CreateTask inserts a task for an existing stream.
func (s *DB) CreateTask(ctx context.Context, t *Task) error {
	t.CreatedAt, t.UpdatedAt = now(), now()
	if len(t.Params) == 0 {
		t.Params = json.RawMessage(`{}`)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tasks (id, stream_id, dept_id, algorithm, params, enabled, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)`),
		t.ID, t.StreamID, t.DeptID, t.Algorithm, string(t.Params), t.Enabled, ms(t.CreatedAt), ms(t.UpdatedAt))
	return s.dialect.mapErr(err)
}

// UpdateTask replaces a task's algorithm, params and enabled flag.
func (s *DB) UpdateTask(ctx context.Context, t *Task) error {
	t.UpdatedAt = now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tasks SET algorithm=?, params=?, enabled=?, updated_at=? WHERE id=?`),
		t.Algorithm, string(t.Params), t.Enabled, ms(t.UpdatedAt), t.ID)
	return affected(res, err)
}

const taskCols = `id, stream_id, dept_id, algorithm, params, enabled, created_at, updated_at`

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var p string
	var c, u int64
	err := row.Scan(&t.ID, &t.StreamID, &t.DeptID, &t.Algorithm, &p, &t.Enabled, &c, &u)
	t.Params, t.CreatedAt, t.UpdatedAt = json.RawMessage(p), fromMS(c), fromMS(u)
	return t, err
}

// GetTask returns one task.
func (s *DB) GetTask(ctx context.Context, id string) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, s.q(`SELECT `+taskCols+` FROM tasks WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// ListTasks returns the tasks a scope may see, or only a stream's when streamID is set.
func (s *DB) ListTasks(ctx context.Context, sc auth.Scope, streamID string) ([]Task, error) {
	cond, args := taskScope(sc)
	q := `SELECT ` + taskCols + ` FROM tasks WHERE ` + cond
	if streamID != "" {
		q, args = q+` AND stream_id=?`, append(args, streamID)
	}
	return queryAll(ctx, s, q+` ORDER BY created_at, id`, args, scanTask)
}

// DeptUsage counts a department's enabled tasks and the cameras they run on (quotas).
func (s *DB) DeptUsage(ctx context.Context, dept string) (streams, tasks int, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT stream_id), COUNT(*) FROM tasks WHERE dept_id=? AND enabled=?`), dept, true).Scan(&streams, &tasks)
	return
}

// DeleteTask deletes a task.
func (s *DB) DeleteTask(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tasks WHERE id=?`), id)
	return affected(res, err)
}

// ---- records ----

// NextSerial hands out the 5-digit serial for a device and second, durable across
// restarts so IDs never repeat.
func (s *DB) NextSerial(ctx context.Context, device string, t time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO id_serials (device_id, second, n) VALUES (?,?,1)
		ON CONFLICT (device_id, second) DO UPDATE SET n = id_serials.n + 1 RETURNING n`), device, t.Unix()).Scan(&n)
	if err != nil {
		return 0, err
	}
	if n > 99999 {
		return 0, fmt.Errorf("more than 99999 records for device %s in one second", device)
	}
	return n, nil
}

// Intend logs object keys that are about to be written (protocol step 1).
func (s *DB) Intend(ctx context.Context, keys []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`pending_objects (key, created_at) VALUES (?,?)`)), k, ms(now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// SaveRecord inserts or updates the record with r.TrackKey (protocol step 3). On an
// update the record keeps its ID and creation time; the images it had are returned
// (and are now pending) for the caller to delete and Forget.
//
// Concurrent saves of one track are serialised: the row is read FOR UPDATE, and an
// insert that loses a race with a concurrent insert of the track (ON CONFLICT DO
// NOTHING then affects no row, once the other has committed) reads the row the
// other inserted and updates it.
//
// The search columns (plate, colours, vehicle class) are extracted from r.Body here,
// on insert and update alike, so they always describe the body stored.
func (s *DB) SaveRecord(ctx context.Context, r *Record) (replaced []string, err error) {
	imgs, _ := json.Marshal(r.Images)
	sf := extractSearch(r.Body)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		replaced = nil // the transaction may run more than once
		var id, oldImgs string
		var created int64
		for inserted, lost := false, 0; !inserted; lost++ {
			err := tx.QueryRowContext(ctx, s.q(`SELECT id, images, created_at FROM records WHERE track_key=?`+s.dialect.forUpdate()), r.TrackKey).Scan(&id, &oldImgs, &created)
			if err == nil {
				break // the track has its record: update it below
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if lost > 0 {
				// The insert conflicted, yet no record has this track: another has this ID.
				return fmt.Errorf("%w: record %s exists for another track than %s", ErrConflict, r.ID, r.TrackKey)
			}
			r.CreatedAt, r.UpdatedAt = now(), now()
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO records (id, type, device_id, task_id, dept_id, admin_division, grant_id, track_key, shot_time, score, body, images, created_at, updated_at,
				plate_no, plate_color, vehicle_color, vehicle_class, longitude, latitude)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`), r.ID, r.Type, r.DeviceID, r.TaskID, r.DeptID, r.Division, r.GrantID, r.TrackKey, ms(r.ShotTime), r.Score, string(r.Body), string(imgs), ms(r.CreatedAt), ms(r.UpdatedAt),
				sf.PlateNo, sf.PlateColor, sf.VehicleColor, sf.VehicleClass, r.Longitude, r.Latitude)
			if err != nil {
				return s.dialect.mapErr(err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			inserted = n == 1
		}
		if id != "" { // the track had a record: update it
			if id != r.ID {
				return fmt.Errorf("record for track %s exists as %s, update carries %s", r.TrackKey, id, r.ID)
			}
			r.CreatedAt, r.UpdatedAt = fromMS(created), now()
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE records SET shot_time=?, score=?, body=?, images=?, updated_at=?,
				plate_no=?, plate_color=?, vehicle_color=?, vehicle_class=?, longitude=?, latitude=? WHERE id=?`),
				ms(r.ShotTime), r.Score, string(r.Body), string(imgs), ms(r.UpdatedAt),
				sf.PlateNo, sf.PlateColor, sf.VehicleColor, sf.VehicleClass, r.Longitude, r.Latitude, r.ID); err != nil {
				return err
			}
			var old []string
			_ = json.Unmarshal([]byte(oldImgs), &old)
			keep := map[string]bool{}
			for _, k := range r.Images {
				keep[k] = true
			}
			for _, k := range old {
				if !keep[k] {
					replaced = append(replaced, k)
					if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`pending_objects (key, created_at) VALUES (?,?)`)), k, ms(now())); err != nil {
						return err
					}
				}
			}
		}
		for _, k := range r.Images {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM pending_objects WHERE key=?`), k); err != nil {
				return err
			}
		}
		if sf.PlateNo != "" { // the dictionary plate substring search starts from
			if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`plates (plate_no) VALUES (?)`)), sf.PlateNo); err != nil {
				return err
			}
		}
		return nil
	})
	return replaced, err
}

// Forget removes keys from pending once their objects are deleted (protocol step 4).
func (s *DB) Forget(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM pending_objects WHERE key=?`), k); err != nil {
			return err
		}
	}
	return nil
}

// Pending lists keys written (or about to be) that no record references.
func (s *DB) Pending(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM pending_objects ORDER BY key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// SweepOlder deletes and forgets pending objects logged before cutoff. In
// distributed mode other processes are writing: only entries older than any write
// in flight (minutes) can belong to a crashed writer.
func (s *DB) SweepOlder(ctx context.Context, objs objects.Store, cutoff time.Time) (int, error) {
	keys, err := queryAll(ctx, s, `SELECT key FROM pending_objects WHERE created_at < ? ORDER BY key`, []any{ms(cutoff)},
		func(row interface{ Scan(...any) error }) (string, error) { var k string; return k, row.Scan(&k) })
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := objs.Delete(ctx, k); err != nil {
			return 0, fmt.Errorf("sweep %s: %w", k, err)
		}
	}
	return len(keys), s.Forget(ctx, keys)
}

// Sweep deletes every pending object and forgets it. Call it at start-up, before any
// writer runs: what is pending then was left by a crash and belongs to no record.
func (s *DB) Sweep(ctx context.Context, objs objects.Store) (int, error) {
	keys, err := s.Pending(ctx)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := objs.Delete(ctx, k); err != nil {
			return 0, fmt.Errorf("sweep %s: %w", k, err)
		}
	}
	return len(keys), s.Forget(ctx, keys)
}

const recordCols = `id, type, device_id, task_id, dept_id, admin_division, grant_id, track_key, shot_time, score, body, images, created_at, updated_at, longitude, latitude`

func scanRecord(row interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var body, imgs string
	var shot, c, u int64
	err := row.Scan(&r.ID, &r.Type, &r.DeviceID, &r.TaskID, &r.DeptID, &r.Division, &r.GrantID, &r.TrackKey, &shot, &r.Score, &body, &imgs, &c, &u, &r.Longitude, &r.Latitude)
	r.Body, r.ShotTime, r.CreatedAt, r.UpdatedAt = json.RawMessage(body), fromMS(shot), fromMS(c), fromMS(u)
	_ = json.Unmarshal([]byte(imgs), &r.Images)
	return r, err
}

// GetRecord returns one record by its GA/T 1400 ID if the scope may see it.
func (s *DB) GetRecord(ctx context.Context, sc auth.Scope, id string) (Record, error) {
	cond, args := recordScope(sc)
	r, err := scanRecord(s.db.QueryRowContext(ctx, s.q(`SELECT `+recordCols+` FROM records WHERE id=? AND `+cond), append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// ListRecords returns a page of records, newest shot first, and the total matching.
func (s *DB) ListRecords(ctx context.Context, f RecordFilter) ([]Record, int, error) {
	scope, args := recordScope(f.Scope)
	where := []string{scope}
	if f.Type != "" {
		where, args = append(where, "type=?"), append(args, f.Type)
	}
	if f.DeviceID != "" {
		where, args = append(where, "device_id=?"), append(args, f.DeviceID)
	}
	if f.TaskID != "" {
		where, args = append(where, "task_id=?"), append(args, f.TaskID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "shot_time>=?"), append(args, ms(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "shot_time<=?"), append(args, ms(f.To))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM records`+cond), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+recordCols+` FROM records`+cond+` ORDER BY shot_time DESC, id LIMIT ? OFFSET ?`), append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// CountRecords counts records by type.
func (s *DB) CountRecords(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT type, COUNT(*) FROM records GROUP BY type`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, rows.Err()
}

// ---- helpers ----

// tx runs fn in a transaction at the database's default isolation (READ COMMITTED on
// PostgreSQL, serialisable on SQLite), and again, a few times, if it fails on a
// conflict with a concurrent transaction (a deadlock, say). fn must therefore be safe
// to run more than once.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil || attempt == 5 || !s.dialect.retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
}

func (s *DB) tx1(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
