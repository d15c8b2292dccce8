package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Dispositions (布控): watch lists of plates or faces over cameras or areas for a
// period, owned by the department that set them. A hit (one per disposition and
// record) is stored with its alert and its DispositionNotification in one
// transaction, so a record raises each disposition's alarm once, even when the
// record is updated or two servers match it.

// Disposition statuses (DispositionStatus).
const (
	DispositionActive    = 0
	DispositionWithdrawn = 1
)

// Disposition is one watch list.
type Disposition struct {
	ID           string              `json:"id"` // 33-digit DispositionID
	DeptID       string              `json:"department"`
	UserID       string              `json:"user_id"`
	Category     string              `json:"category"` // plate or face
	Title        string              `json:"title"`
	Reason       string              `json:"reason"`
	Priority     int                 `json:"priority"` // PriorityLevel: 1 highest … 3
	Begin        time.Time           `json:"begin"`
	End          time.Time           `json:"end"`
	Devices      []string            `json:"devices"`    // cameras watched; with Areas empty too: all the department may see
	Areas        []string            `json:"areas"`      // GB/T 2260 codes watched
	PlateMode    string              `json:"plate_mode"` // exact or fuzzy
	Threshold    float64             `json:"threshold"`  // faces: least cosine similarity that alarms
	ReceiveAddr  string              `json:"receive_addr,omitempty"`
	Body         json.RawMessage     `json:"object"` // the DispositionObject as set (photos as object keys, no data)
	Status       int                 `json:"status"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
	CancelledAt  time.Time           `json:"cancelled_at,omitzero"`
	CancelledBy  string              `json:"cancelled_by,omitempty"`
	CancelReason string              `json:"cancel_reason,omitempty"`
	Targets      []DispositionTarget `json:"targets"`
}

// DispositionTarget is one watched plate or face.
type DispositionTarget struct {
	N      int       `json:"n"`
	Plate  string    `json:"plate,omitempty"`
	Model  string    `json:"model,omitempty"` // the embedding model of Vector
	Vector []float32 `json:"-"`
	Image  string    `json:"image,omitempty"` // object key of the watched photo
}

// DispositionHit is a record a disposition caught.
type DispositionHit struct {
	DispositionID  string    `json:"disposition_id"`
	RecordID       string    `json:"record_id"`
	Target         int       `json:"target"`
	Score          float64   `json:"score"`
	AlertID        string    `json:"alert_id"`
	NotificationID string    `json:"notification_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

const dispCols = `id, dept_id, user_id, category, title, reason, priority, begin_at, end_at, devices, areas, plate_mode, threshold,
	receive_addr, body, status, created_at, updated_at, cancelled_at, cancelled_by, cancel_reason`

func scanDisposition(row interface{ Scan(...any) error }) (Disposition, error) {
	var d Disposition
	var devices, areas, body string
	var b, e, c, u, x int64
	err := row.Scan(&d.ID, &d.DeptID, &d.UserID, &d.Category, &d.Title, &d.Reason, &d.Priority, &b, &e, &devices, &areas, &d.PlateMode, &d.Threshold,
		&d.ReceiveAddr, &body, &d.Status, &c, &u, &x, &d.CancelledBy, &d.CancelReason)
	d.Devices, d.Areas, d.Body = unlist(devices), unlist(areas), json.RawMessage(body)
	d.Begin, d.End, d.CreatedAt, d.UpdatedAt, d.CancelledAt = fromMS(b), fromMS(e), fromMS(c), fromMS(u), optMS(x)
	return d, err
}

// CreateDisposition stores d with its targets (ErrConflict when the ID is taken).
func (s *DB) CreateDisposition(ctx context.Context, d *Disposition) error {
	d.CreatedAt, d.UpdatedAt, d.Status = now(), now(), DispositionActive
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO dispositions (`+dispCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,'','')`),
			d.ID, d.DeptID, d.UserID, d.Category, d.Title, d.Reason, d.Priority, ms(d.Begin), ms(d.End), list(d.Devices), list(d.Areas), d.PlateMode, d.Threshold,
			d.ReceiveAddr, string(d.Body), d.Status, ms(d.CreatedAt), ms(d.UpdatedAt)); err != nil {
			return s.dialect.mapErr(err)
		}
		for _, t := range d.Targets {
			vec := ""
			if len(t.Vector) > 0 {
				vec = encodeVector(t.Vector)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO disposition_targets (disposition_id, n, plate, model, vector, image) VALUES (?,?,?,?,?,?)`),
				d.ID, t.N, t.Plate, t.Model, vec, t.Image); err != nil {
				return err
			}
		}
		return nil
	})
}

// targets loads the targets of the dispositions in ds (vectors included).
func (s *DB) targets(ctx context.Context, ds []Disposition) error {
	if len(ds) == 0 {
		return nil
	}
	at := map[string]int{}
	ids := make([]any, len(ds))
	for i, d := range ds {
		at[d.ID], ids[i] = i, d.ID
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT disposition_id, n, plate, model, vector, image FROM disposition_targets
		WHERE disposition_id IN (`+placeholders(len(ids))+`) ORDER BY disposition_id, n`), ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, vec string
		var t DispositionTarget
		if err := rows.Scan(&id, &t.N, &t.Plate, &t.Model, &vec, &t.Image); err != nil {
			return err
		}
		if vec != "" {
			if t.Vector, err = decodeVector(vec); err != nil {
				return fmt.Errorf("disposition %s target %d: %w", id, t.N, err)
			}
		}
		ds[at[id]].Targets = append(ds[at[id]].Targets, t)
	}
	return rows.Err()
}

// GetDisposition returns one disposition with its targets.
func (s *DB) GetDisposition(ctx context.Context, id string) (Disposition, error) {
	d, err := scanDisposition(s.db.QueryRowContext(ctx, s.q(`SELECT `+dispCols+` FROM dispositions WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, err
	}
	one := []Disposition{d}
	err = s.targets(ctx, one)
	return one[0], err
}

// ListDispositions returns a department's dispositions ("" all), newest first,
// with the total; targets are left out.
func (s *DB) ListDispositions(ctx context.Context, dept string, offset, limit int) ([]Disposition, int, error) {
	where, args := "1=1", []any{}
	if dept != "" {
		where, args = "dept_id=?", append(args, dept)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM dispositions WHERE `+where), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	ds, err := queryAll(ctx, s, `SELECT `+dispCols+` FROM dispositions WHERE `+where+` ORDER BY created_at DESC, id LIMIT ? OFFSET ?`,
		append(args, max(1, min(limit, 1000)), max(offset, 0)), scanDisposition)
	return ds, total, err
}

// DispositionsVersion changes whenever a disposition is set or withdrawn (the
// matcher rebuilds its index then).
func (s *DB) DispositionsVersion(ctx context.Context) (string, error) {
	var n, u int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM dispositions`).Scan(&n, &u)
	return fmt.Sprintf("%d/%d", n, u), err
}

// ActiveDispositions returns the dispositions not withdrawn and not over at t
// (some may begin later: the matcher compares each capture's time), with targets.
func (s *DB) ActiveDispositions(ctx context.Context, t time.Time) ([]Disposition, error) {
	ds, err := queryAll(ctx, s, `SELECT `+dispCols+` FROM dispositions WHERE status=? AND end_at >= ?`,
		[]any{DispositionActive, ms(t)}, scanDisposition)
	if err == nil {
		err = s.targets(ctx, ds)
	}
	return ds, err
}

// WithdrawDisposition ends an active disposition (撤控); ErrState when it is not active.
func (s *DB) WithdrawDisposition(ctx context.Context, id, by, reason string, body json.RawMessage, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE dispositions SET status=?, cancelled_at=?, cancelled_by=?, cancel_reason=?, body=?, updated_at=?
		WHERE id=? AND status=?`), DispositionWithdrawn, ms(at), by, reason, string(body), ms(now()), id, DispositionActive)
	if n, err := rowsAffected(res, err); err != nil || n == 1 {
		return err
	}
	if _, err := s.GetDisposition(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("%w: disposition %s is already withdrawn", ErrState, id)
}

// SaveDispositionHit stores a hit with its alert (whose image is written and
// pending), its notification (nil: no receiver) and the delivery job in one transaction.
// ErrConflict: the disposition had caught the record already; nothing is stored.
func (s *DB) SaveDispositionHit(ctx context.Context, h *DispositionHit, a *Alert, n *Notification, job ...OutboxJob) error {
	h.CreatedAt = now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`disposition_hits (disposition_id, record_id, target, score, alert_id, notification_id, created_at)
			VALUES (?,?,?,?,?,?,?)`)), h.DispositionID, h.RecordID, h.Target, h.Score, h.AlertID, h.NotificationID, ms(h.CreatedAt))
		if n, err := rowsAffected(res, err); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("%w: disposition %s has caught %s already", ErrConflict, h.DispositionID, h.RecordID)
			}
			return err
		}
		if err := s.insertAlert(ctx, tx, a); err != nil {
			return err
		}
		if n != nil {
			if err := s.insertNotification(ctx, tx, n); err != nil {
				return err
			}
		}
		return s.addOutbox(ctx, tx, job...)
	})
}

// HasHit reports whether a disposition has caught a record.
func (s *DB) HasHit(ctx context.Context, dispositionID, recordID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM disposition_hits WHERE disposition_id=? AND record_id=?`), dispositionID, recordID).Scan(&n)
	return n > 0, err
}

// ListHits returns a disposition's hits, newest first.
func (s *DB) ListHits(ctx context.Context, dispositionID string, limit int) ([]DispositionHit, error) {
	return queryAll(ctx, s, `SELECT disposition_id, record_id, target, score, alert_id, notification_id, created_at FROM disposition_hits
		WHERE disposition_id=? ORDER BY created_at DESC, record_id LIMIT ?`, []any{dispositionID, max(1, min(limit, 1000))},
		func(row interface{ Scan(...any) error }) (DispositionHit, error) {
			var h DispositionHit
			var c int64
			err := row.Scan(&h.DispositionID, &h.RecordID, &h.Target, &h.Score, &h.AlertID, &h.NotificationID, &c)
			h.CreatedAt = fromMS(c)
			return h, err
		})
}

// HitCounts returns how many records each of the given dispositions caught (the
// list shows it without loading every hit); an ID without hits is left out.
func (s *DB) HitCounts(ctx context.Context, ids []string) (map[string]int, error) {
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	type count struct {
		id string
		n  int
	}
	cs, err := queryAll(ctx, s, `SELECT disposition_id, COUNT(*) FROM disposition_hits WHERE disposition_id IN (`+placeholders(len(ids))+`)
		GROUP BY disposition_id`, anys(ids), func(row interface{ Scan(...any) error }) (count, error) {
		var c count
		return c, row.Scan(&c.id, &c.n)
	})
	for _, c := range cs {
		out[c.id] = c.n
	}
	return out, err
}

// ScanCursor is where a matcher has read up to: (unix ms, ID) of the last item.
type ScanCursor struct {
	At int64
	ID string
}

// GetScanCursor returns the named cursor; ok is false when none is stored yet.
func (s *DB) GetScanCursor(ctx context.Context, name string) (c ScanCursor, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT at, id FROM scan_cursors WHERE name=?`), name).Scan(&c.At, &c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// SetScanCursor stores the named cursor.
func (s *DB) SetScanCursor(ctx context.Context, name string, c ScanCursor) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO scan_cursors (name, at, id) VALUES (?,?,?)
		ON CONFLICT (name) DO UPDATE SET at=excluded.at, id=excluded.id`), name, c.At, c.ID)
	return err
}

// Watched is a capture the disposition matcher looks at: a record with its plate
// (motor vehicles) or its feature (faces), and when either last changed.
type Watched struct {
	Record
	Plate   string    // normalised plate_no
	Model   string    // the feature's model (faces)
	Vector  []float32 // the feature (faces)
	Changed int64     // unix ms of the change the cursor follows
}

// ChangedSince returns captures changed after c (faces: their feature; plates:
// their record), oldest change first, at most limit.
func (s *DB) ChangedSince(ctx context.Context, faces bool, c ScanCursor, limit int) ([]Watched, error) {
	cols := strings.ReplaceAll(`records.`+recordCols, ", ", ", records.")
	q := `SELECT ` + cols + `, records.plate_no, '', '', records.updated_at FROM records
		WHERE records.type='MotorVehicle' AND records.plate_no <> '' AND (records.updated_at > ? OR (records.updated_at = ? AND records.id > ?))
		ORDER BY records.updated_at, records.id LIMIT ?`
	if faces {
		q = `SELECT ` + cols + `, '', f.model, f.vector, f.updated_at FROM record_features f JOIN records ON records.id = f.record_id
			WHERE records.type='Face' AND (f.updated_at > ? OR (f.updated_at = ? AND f.record_id > ?))
			ORDER BY f.updated_at, f.record_id LIMIT ?`
	}
	return queryAll(ctx, s, q, []any{c.At, c.At, c.ID, limit}, func(row interface{ Scan(...any) error }) (Watched, error) {
		var w Watched
		var vec string
		r, err := scanRecord(multiScan{row, []any{&w.Plate, &w.Model, &vec, &w.Changed}})
		w.Record = r
		if err == nil && vec != "" {
			w.Vector, err = decodeVector(vec)
		}
		return w, err
	})
}

// multiScan scans a row into a scanner's destinations and extra ones after them.
type multiScan struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (m multiScan) Scan(dest ...any) error { return m.row.Scan(append(dest, m.extra...)...) }
