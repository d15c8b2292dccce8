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

// Records and their snapshots follow the write protocol described in the package
// comment (Intend, write objects, SaveRecord, delete replaced objects, Forget).

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

// NextSerial hands out the 5-digit serial for a device and second, durable across
// restarts so IDs never repeat.
func (s *DB) NextSerial(ctx context.Context, device string, t time.Time) (int, error) {
	return s.NextSerials(ctx, device, t, 1)
}

// NextSerials hands out k consecutive serials for a device and second in one
// statement (one commit) and returns the first.
func (s *DB) NextSerials(ctx context.Context, device string, t time.Time, k int) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO id_serials (device_id, second, n) VALUES (?,?,?)
		ON CONFLICT (device_id, second) DO UPDATE SET n = id_serials.n + ? RETURNING n`), device, t.Unix(), k, k).Scan(&n)
	if err != nil {
		return 0, err
	}
	if n > 99999 {
		return 0, fmt.Errorf("more than 99999 records for device %s in one second", device)
	}
	return n - k + 1, nil
}

// Intend logs object keys that are about to be written (protocol step 1).
func (s *DB) Intend(ctx context.Context, keys []string) error {
	if s.gc != nil {
		_, err := s.gc.submit(ctx, &gcOp{intend: keys})
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(intendSQL), k, ms(now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reintend is Intend for a write tried before (the worker's spool replaying it):
// a key still pending from the earlier attempt is logged again as of now, so that
// SweepOlder, which takes old keys for a crashed writer's, leaves the objects alone
// while the write finishes. One transaction deletes and inserts, which a worker's
// role may do (store.GrantWorker: no UPDATE on pending_objects).
func (s *DB) Reintend(ctx context.Context, keys []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM pending_objects WHERE key=?`), k); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(intendSQL), k, ms(now())); err != nil {
				return err
			}
		}
		return nil
	})
}

const intendSQL = `INSERT INTO pending_objects (key, created_at) VALUES (?,?) ON CONFLICT DO NOTHING`

// SaveRecord inserts or updates the record with r.TrackKey (protocol step 3). On an
// update the record keeps its ID, department and creation time, and an update from
// another department is refused (ErrConflict); the images it had are returned
// (and are now pending) for the caller to delete and Forget.
//
// Concurrent saves of one track are serialised: the row is read FOR UPDATE, and an
// insert that loses a race with a concurrent insert of the track (ON CONFLICT DO
// NOTHING then affects no row, once the other has committed) reads the row the
// other inserted and updates it.
//
// The search columns (plate, colours, vehicle class) are extracted from r.Body here,
// on insert and update alike, so they always describe the body stored.
//
// With group commit on (EnableGroupCommit), the record joins a batch of records and
// intents committed in one transaction (groupcommit.go); it returns, as alone, once
// its batch is committed.
func (s *DB) SaveRecord(ctx context.Context, r *Record) (replaced []string, err error) {
	if s.gc != nil {
		return s.gc.submit(ctx, &gcOp{rec: r})
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		replaced, err = s.saveRecordTx(ctx, tx, r) // the transaction may run more than once
		return err
	})
	return replaced, err
}

// saveRecordTx is SaveRecord inside tx.
func (s *DB) saveRecordTx(ctx context.Context, tx *sql.Tx, r *Record) (replaced []string, err error) {
	imgs, _ := json.Marshal(r.Images)
	sf := extractSearch(r.Body)
	err = func() error {
		var id, oldImgs, dept string
		var created int64
		for inserted, lost := false, 0; !inserted; lost++ {
			err := tx.QueryRowContext(ctx, s.q(`SELECT id, images, created_at, dept_id FROM records WHERE track_key=?`+s.dialect.forUpdate()), r.TrackKey).Scan(&id, &oldImgs, &created, &dept)
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
			r.CreatedAt = now()
			r.UpdatedAt = r.CreatedAt // equal: a record not changed since is no update (feed.go)
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO records (id, type, device_id, task_id, dept_id, admin_division, grant_id, track_key, shot_time, score, body, images, created_at, updated_at,
				plate_no, plate_color, vehicle_color, vehicle_class, longitude, latitude, coat_color, trousers_color, gender, age_band)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`), r.ID, r.Type, r.DeviceID, r.TaskID, r.DeptID, r.Division, r.GrantID, r.TrackKey, ms(r.ShotTime), r.Score, string(r.Body), string(imgs), ms(r.CreatedAt), ms(r.UpdatedAt),
				sf.PlateNo, sf.PlateColor, sf.VehicleColor, sf.VehicleClass, r.Longitude, r.Latitude, sf.CoatColor, sf.TrousersColor, sf.Gender, sf.AgeBand)
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
			if dept != r.DeptID { // results belong to the department that produced them
				return fmt.Errorf("%w: record %s belongs to another department", ErrConflict, id)
			}
			r.CreatedAt, r.UpdatedAt = fromMS(created), now()
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE records SET shot_time=?, score=?, body=?, images=?, updated_at=?,
				plate_no=?, plate_color=?, vehicle_color=?, vehicle_class=?, longitude=?, latitude=?,
				coat_color=?, trousers_color=?, gender=?, age_band=? WHERE id=?`),
				ms(r.ShotTime), r.Score, string(r.Body), string(imgs), ms(r.UpdatedAt),
				sf.PlateNo, sf.PlateColor, sf.VehicleColor, sf.VehicleClass, r.Longitude, r.Latitude,
				sf.CoatColor, sf.TrousersColor, sf.Gender, sf.AgeBand, r.ID); err != nil {
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
	}()
	return replaced, err
}

// Forget removes keys from pending once their objects are deleted (protocol step 4).
func (s *DB) Forget(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error { // one commit for all the keys
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM pending_objects WHERE key=?`), k); err != nil {
				return err
			}
		}
		return nil
	})
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
	return s.deleteAndForget(ctx, objs, keys)
}

// Sweep deletes every pending object and forgets it. Call it at start-up, before any
// writer runs: what is pending then was left by a crash and belongs to no record.
func (s *DB) Sweep(ctx context.Context, objs objects.Store) (int, error) {
	keys, err := s.Pending(ctx)
	if err != nil {
		return 0, err
	}
	return s.deleteAndForget(ctx, objs, keys)
}

// deleteAndForget deletes pending objects and then forgets them (an object deleted
// but not forgotten is deleted again at the next sweep: deleting is idempotent).
func (s *DB) deleteAndForget(ctx context.Context, objs objects.Store, keys []string) (int, error) {
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
