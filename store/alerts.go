package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Alert is an event a task raised (no chef hat, a rat, smoke, water over the gauge):
// stored with its snapshot (boxes drawn) for the map and the notifier. Like records,
// it carries the department, area and grant it was captured under.
type Alert struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Level     int             `json:"level"`
	TaskID    string          `json:"task_id"`
	DeviceID  string          `json:"device_id"`
	DeptID    string          `json:"department"`
	Division  string          `json:"admin_division"`
	GrantID   string          `json:"grant_id,omitempty"`
	Longitude float64         `json:"longitude"`
	Latitude  float64         `json:"latitude"`
	Zone      string          `json:"zone,omitempty"`
	Time      time.Time       `json:"time"`
	Image     string          `json:"image"` // object key of the snapshot
	Boxes     json.RawMessage `json:"boxes"`
	Details   json.RawMessage `json:"details"`
	CreatedAt time.Time       `json:"created_at"`
	AckedBy   string          `json:"acked_by,omitempty"` // user ID of the first acknowledgement
	AckedAt   *time.Time      `json:"acked_at,omitempty"`
	// Seq orders alerts database-wide in commit order (almost: see AlertsAfter); the
	// live feed's event ID.
	Seq int64 `json:"seq"`
	// AckNoted is when the acknowledgement was stored (the feeds' cursor for
	// acknowledgements); zero while unacknowledged.
	AckNoted time.Time `json:"-"`
}

// AlertFilter selects alerts; zero fields match everything.
type AlertFilter struct {
	Kind, DeviceID, TaskID string
	From, To               time.Time
	After                  time.Time // created after (for feeds)
	Offset, Limit          int
	Scope                  auth.Scope
}

// SaveAlert stores an alert whose snapshot is already written (logged as pending
// with Intend before; this clears it in the same transaction). It is idempotent by
// the alert's ID: the worker's spool writes an alert again when it cannot tell
// whether a commit went through, and the second write changes nothing.
func (s *DB) SaveAlert(ctx context.Context, a *Alert) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM alerts WHERE id=?`), a.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 { // written before: only its image's intent may be left
			_, err := tx.ExecContext(ctx, s.q(`DELETE FROM pending_objects WHERE key=?`), a.Image)
			return err
		}
		return s.insertAlert(ctx, tx, a)
	})
}

// insertAlert is SaveAlert inside a transaction (a disposition hit saves its alert
// with the hit and the notification).
func (s *DB) insertAlert(ctx context.Context, tx *sql.Tx, a *Alert) error {
	a.CreatedAt = now()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO alerts (id, kind, level, task_id, device_id, dept_id, admin_division, grant_id, longitude, latitude, zone, at, image, boxes, details, created_at, seq)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,`+s.dialect.nextAlertSeq()+`)`), a.ID, a.Kind, a.Level, a.TaskID, a.DeviceID, a.DeptID, a.Division, a.GrantID, a.Longitude, a.Latitude, a.Zone,
		ms(a.Time), a.Image, string(a.Boxes), string(a.Details), ms(a.CreatedAt)); err != nil {
		return s.dialect.mapErr(err)
	}
	_, err := tx.ExecContext(ctx, s.q(`DELETE FROM pending_objects WHERE key=?`), a.Image)
	return err
}

const alertCols = `id, kind, level, task_id, device_id, dept_id, admin_division, grant_id, longitude, latitude, zone, at, image, boxes, details, created_at, acked_by, acked_at, seq, ack_noted`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var boxes, details string
	var at, c, acked, noted int64
	err := row.Scan(&a.ID, &a.Kind, &a.Level, &a.TaskID, &a.DeviceID, &a.DeptID, &a.Division, &a.GrantID, &a.Longitude, &a.Latitude, &a.Zone, &at, &a.Image, &boxes, &details, &c, &a.AckedBy, &acked, &a.Seq, &noted)
	a.Boxes, a.Details, a.Time, a.CreatedAt = json.RawMessage(boxes), json.RawMessage(details), fromMS(at), fromMS(c)
	if acked != 0 {
		t := fromMS(acked)
		a.AckedAt, a.AckNoted = &t, fromMS(noted)
	}
	return a, err
}

// alertScope is recordScope for alerts: the department's own tasks, in its areas or
// under a grant with the records right, before withdrawal.
func alertScope(sc auth.Scope) (string, []any) {
	cond, args := recordScope(sc)
	return strings.NewReplacer("records.shot_time", "alerts.at", "records.", "alerts.").Replace(cond), args
}

// GetAlert returns one alert if the scope may see it.
func (s *DB) GetAlert(ctx context.Context, sc auth.Scope, id string) (Alert, error) {
	cond, args := alertScope(sc)
	a, err := scanAlert(s.db.QueryRowContext(ctx, s.q(`SELECT `+alertCols+` FROM alerts WHERE id=? AND `+cond), append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// ListAlerts returns matching alerts, newest first.
func (s *DB) ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	cond, args := alertScope(f.Scope)
	where := []string{cond}
	for _, c := range []struct{ col, v string }{{"kind", f.Kind}, {"device_id", f.DeviceID}, {"task_id", f.TaskID}} {
		if c.v != "" {
			where, args = append(where, c.col+"=?"), append(args, c.v)
		}
	}
	for _, c := range []struct {
		cond string
		t    time.Time
	}{{"at>=?", f.From}, {"at<=?", f.To}, {"created_at>?", f.After}} {
		if !c.t.IsZero() {
			where, args = append(where, c.cond), append(args, ms(c.t))
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	return queryAll(ctx, s, `SELECT `+alertCols+` FROM alerts WHERE `+strings.Join(where, " AND ")+` ORDER BY at DESC, id LIMIT ? OFFSET ?`,
		append(args, min(limit, 1000), max(f.Offset, 0)), scanAlert)
}

// Measure is one sample of a tracked quantity (a water level) from a task.
type Measure struct {
	TaskID   string    `json:"task_id"`
	DeviceID string    `json:"device_id"`
	Name     string    `json:"name"`
	Value    float64   `json:"value"`
	Unit     string    `json:"unit"`
	Time     time.Time `json:"time"`
}

// SaveMeasures appends samples.
func (s *DB) SaveMeasures(ctx context.Context, ms_ []Measure) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms_ {
			if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`measures (task_id, device_id, name, value, unit, at) VALUES (?,?,?,?,?,?)`)),
				m.TaskID, m.DeviceID, m.Name, m.Value, m.Unit, ms(m.Time)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListMeasures returns a task's samples of one quantity in a time range, oldest first.
func (s *DB) ListMeasures(ctx context.Context, taskID, name string, from, to time.Time, limit int) ([]Measure, error) {
	q, args := `SELECT task_id, device_id, name, value, unit, at FROM measures WHERE task_id=?`, []any{taskID}
	if name != "" {
		q, args = q+` AND name=?`, append(args, name)
	}
	if !from.IsZero() {
		q, args = q+` AND at>=?`, append(args, ms(from))
	}
	if !to.IsZero() {
		q, args = q+` AND at<=?`, append(args, ms(to))
	}
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	return queryAll(ctx, s, q+` ORDER BY at LIMIT ?`, append(args, limit), func(row interface{ Scan(...any) error }) (Measure, error) {
		var m Measure
		var at int64
		err := row.Scan(&m.TaskID, &m.DeviceID, &m.Name, &m.Value, &m.Unit, &at)
		m.Time = fromMS(at)
		return m, err
	})
}
