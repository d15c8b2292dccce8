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

// Subscription is a standing request to be pushed new records (a GA/T 1400
// Subscribe) or alerts (the Minqing map's feed). It runs as the user who made it:
// their department, areas and grants bound what it can ever deliver.
type Subscription struct {
	ID             string          `json:"id"`      // the SubscribeID (33 digits) or our own ID for alert feeds
	Kind           string          `json:"kind"`    // "viid" (records) or "alerts"
	UserID         string          `json:"user_id"` // whose scope applies
	DeptID         string          `json:"department"`
	Categories     []string        `json:"categories,omitempty"` // record types: Face, Person, MotorVehicle…
	Devices        []string        `json:"devices,omitempty"`    // empty: every visible device
	AlertKinds     []string        `json:"alert_kinds,omitempty"`
	Area           string          `json:"area,omitempty"` // GB/T 2260 code; alerts inside it
	ReceiveAddr    string          `json:"receive_addr"`
	ReportInterval int             `json:"report_interval_s"`
	Begin          time.Time       `json:"begin,omitzero"`
	End            time.Time       `json:"end,omitzero"`
	Status         int             `json:"status"` // 0 active, 1 cancelled, 2 expired (GA/T 1400 SubscribeStatus)
	Body           json.RawMessage `json:"body,omitempty"`
	CursorAt       int64           `json:"-"` // created_at (ms) of the last item delivered
	CursorID       string          `json:"-"`
	UpdCursorAt    int64           `json:"-"` // updated_at (ms) of the last change delivered (feed.go)
	UpdCursorID    string          `json:"-"`
	NextAt         time.Time       `json:"next_report_at"`
	CreatedAt      time.Time       `json:"created_at"`
	// Secret signs the webhook calls of an alert subscription (api/webhooksign.go);
	// shown once when the subscription is made, stored sealed like stream URLs.
	Secret string `json:"-"`
}

// Notification is one batch pushed to a subscriber. It is created together with
// the cursor advance, so no item is skipped or sent twice by the dispatcher; the
// delivery job retries it until the receiver takes it (at least once, idempotent
// by NotificationID), or marks it dead.
type Notification struct {
	ID          string          `json:"id"`
	SubID       string          `json:"subscribe_id"`
	DeptID      string          `json:"department"`
	State       string          `json:"state"` // pending, delivered, dead
	Attempts    int             `json:"attempts"`
	LastError   string          `json:"last_error,omitempty"`
	Items       []string        `json:"items"`
	Body        json.RawMessage `json:"-"`
	CreatedAt   time.Time       `json:"created_at"`
	DeliveredAt time.Time       `json:"delivered_at,omitzero"`
}

func list(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return "," + strings.Join(v, ",") + ","
}

func unlist(v string) []string {
	v = strings.Trim(v, ",")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// CreateSubscription stores an active subscription; its cursor starts now, so it
// delivers what arrives from now on.
func (s *DB) CreateSubscription(ctx context.Context, sub *Subscription) error {
	sub.CreatedAt, sub.CursorAt, sub.NextAt = now(), ms(now()), now()
	sub.UpdCursorAt = sub.CursorAt
	if len(sub.Body) == 0 {
		sub.Body = json.RawMessage(`{}`)
	}
	secret := ""
	if sub.Secret != "" {
		secret = s.sealURL(subSecretAAD+sub.ID, sub.Secret)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO subscriptions (id, kind, user_id, dept_id, categories, devices, alert_kinds, area, receive_addr,
		report_interval, begin_at, end_at, status, body, cursor_at, cursor_id, next_at, created_at, upd_cursor_at, upd_cursor_id, secret) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,'',?,?,?,'',?)`),
		sub.ID, sub.Kind, sub.UserID, sub.DeptID, list(sub.Categories), list(sub.Devices), list(sub.AlertKinds), sub.Area, sub.ReceiveAddr,
		sub.ReportInterval, optms(sub.Begin), optms(sub.End), string(sub.Body), sub.CursorAt, ms(sub.NextAt), ms(sub.CreatedAt), sub.UpdCursorAt, secret)
	return s.dialect.mapErr(err)
}

func optms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

const subCols = `id, kind, user_id, dept_id, categories, devices, alert_kinds, area, receive_addr, report_interval, begin_at, end_at, status, body, cursor_at, cursor_id, next_at, created_at, upd_cursor_at, upd_cursor_id, secret`

// subSecretAAD binds a sealed webhook secret to its subscription's row.
const subSecretAAD = "subscription:"

func (s *DB) scanSub(row interface{ Scan(...any) error }) (Subscription, error) {
	var x Subscription
	var cats, devs, kinds, body, secret string
	var b, e, n, c int64
	err := row.Scan(&x.ID, &x.Kind, &x.UserID, &x.DeptID, &cats, &devs, &kinds, &x.Area, &x.ReceiveAddr, &x.ReportInterval, &b, &e, &x.Status, &body, &x.CursorAt, &x.CursorID, &n, &c, &x.UpdCursorAt, &x.UpdCursorID, &secret)
	x.Categories, x.Devices, x.AlertKinds, x.Body = unlist(cats), unlist(devs), unlist(kinds), json.RawMessage(body)
	x.Begin, x.End, x.NextAt, x.CreatedAt = optMS(b), optMS(e), fromMS(n), fromMS(c)
	if err == nil && secret != "" {
		x.Secret, err = s.openURL(subSecretAAD+x.ID, secret)
	}
	return x, err
}

// GetSubscription returns one subscription.
func (s *DB) GetSubscription(ctx context.Context, id string) (Subscription, error) {
	x, err := s.scanSub(s.db.QueryRowContext(ctx, s.q(`SELECT `+subCols+` FROM subscriptions WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return x, ErrNotFound
	}
	return x, err
}

// ListSubscriptions returns a department's subscriptions ("" for all).
func (s *DB) ListSubscriptions(ctx context.Context, dept, kind string) ([]Subscription, error) {
	q, args := `SELECT `+subCols+` FROM subscriptions WHERE kind=?`, []any{kind}
	if dept != "" {
		q, args = q+` AND dept_id=?`, append(args, dept)
	}
	return queryAll(ctx, s, q+` ORDER BY created_at`, args, s.scanSub)
}

// CancelSubscription sets status 1 (cancelled) and records why.
func (s *DB) CancelSubscription(ctx context.Context, id string, body json.RawMessage) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE subscriptions SET status=1, body=? WHERE id=?`), string(body), id)
	return affected(res, err)
}

// DueSubscriptions returns active subscriptions whose next report is due at t; ones
// past their end become expired (status 2).
func (s *DB) DueSubscriptions(ctx context.Context, t time.Time) ([]Subscription, error) {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE subscriptions SET status=2 WHERE status=0 AND end_at>0 AND end_at<=?`), ms(t)); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, `SELECT `+subCols+` FROM subscriptions WHERE status=0 AND next_at<=? AND (begin_at=0 OR begin_at<=?) ORDER BY next_at`, []any{ms(t), ms(t)}, s.scanSub)
}

// RecordFeed is where a records subscription stands in the record feed: its
// categories and devices, inside the scope of the user it runs as.
func (sub Subscription) RecordFeed(sc auth.Scope, settled time.Time, limit int) Feed {
	return Feed{Start: ms(sub.CreatedAt), AddAt: sub.CursorAt, AddID: sub.CursorID, UpdAt: sub.UpdCursorAt, UpdID: sub.UpdCursorID,
		Types: sub.Categories, Devices: sub.Devices, Scope: sc, Settled: settled, Limit: limit}
}

// NewAlertsFor returns, in created order, up to limit alerts after an alert feed's
// cursor: its kinds and area, inside the scope of the user it runs as. Only alerts
// created before settled are taken.
func (s *DB) NewAlertsFor(ctx context.Context, sub Subscription, sc auth.Scope, settled time.Time, limit int) ([]Alert, error) {
	cond, args := alertScope(sc)
	where := []string{cond, "(alerts.created_at > ? OR (alerts.created_at = ? AND alerts.id > ?))", "alerts.created_at <= ?"}
	args = append(args, sub.CursorAt, sub.CursorAt, sub.CursorID, ms(settled))
	if len(sub.AlertKinds) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(sub.AlertKinds)), ",")
		where = append(where, "alerts.kind IN ("+ph+")")
		for _, k := range sub.AlertKinds {
			args = append(args, k)
		}
	}
	if sub.Area != "" {
		where, args = append(where, "alerts.admin_division LIKE ?"), append(args, auth.AreaPrefix(sub.Area)+"%")
	}
	return queryAll(ctx, s, `SELECT `+alertCols+` FROM alerts WHERE `+strings.Join(where, " AND ")+` ORDER BY alerts.created_at, alerts.id LIMIT ?`, append(args, limit), scanAlert)
}

// ErrCursorMoved: another server dispatched the subscription first; nothing was written.
var ErrCursorMoved = errors.New("store: the subscription's cursor moved (dispatched by another server)")

// Dispatch records notifications, the jobs that deliver them (written to the job
// outbox) and moves the subscription's cursors to next in one transaction; with no
// notification it only schedules the next report. When another server moved the
// cursors first it writes nothing and returns ErrCursorMoved, so servers
// dispatching side by side never send an item twice.
func (s *DB) Dispatch(ctx context.Context, sub Subscription, ns []*Notification, next Feed, nextAt time.Time, jobs ...OutboxJob) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE subscriptions SET cursor_at=?, cursor_id=?, upd_cursor_at=?, upd_cursor_id=?, next_at=?
			WHERE id=? AND cursor_at=? AND cursor_id=? AND upd_cursor_at=? AND upd_cursor_id=?`),
			next.AddAt, next.AddID, next.UpdAt, next.UpdID, ms(nextAt), sub.ID, sub.CursorAt, sub.CursorID, sub.UpdCursorAt, sub.UpdCursorID)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return ErrCursorMoved
		}
		for _, n := range ns {
			if err := s.insertNotification(ctx, tx, n); err != nil {
				return err
			}
		}
		return s.addOutbox(ctx, tx, jobs...)
	})
}

// insertNotification queues n for delivery inside a transaction.
func (s *DB) insertNotification(ctx context.Context, tx *sql.Tx, n *Notification) error {
	n.CreatedAt, n.State = now(), "pending"
	items, _ := json.Marshal(n.Items)
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO notifications (id, sub_id, dept_id, state, attempts, last_error, items, body, created_at, delivered_at)
		VALUES (?,?,?,?,0,'',?,?,?,0)`), n.ID, n.SubID, n.DeptID, n.State, string(items), string(n.Body), ms(n.CreatedAt))
	return s.dialect.mapErr(err)
}

const notCols = `id, sub_id, dept_id, state, attempts, last_error, items, body, created_at, delivered_at`

func scanNot(row interface{ Scan(...any) error }) (Notification, error) {
	var n Notification
	var items, body string
	var c, d int64
	err := row.Scan(&n.ID, &n.SubID, &n.DeptID, &n.State, &n.Attempts, &n.LastError, &items, &body, &c, &d)
	_ = json.Unmarshal([]byte(items), &n.Items)
	n.Body, n.CreatedAt, n.DeliveredAt = json.RawMessage(body), fromMS(c), optMS(d)
	return n, err
}

// GetNotification returns one notification.
func (s *DB) GetNotification(ctx context.Context, id string) (Notification, error) {
	n, err := scanNot(s.db.QueryRowContext(ctx, s.q(`SELECT `+notCols+` FROM notifications WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, ErrNotFound
	}
	return n, err
}

// ListNotifications returns a department's notifications in a state ("" any), newest first.
func (s *DB) ListNotifications(ctx context.Context, dept, state string, limit int) ([]Notification, error) {
	q, args := `SELECT `+notCols+` FROM notifications WHERE 1=1`, []any{}
	if dept != "" {
		q, args = q+` AND dept_id=?`, append(args, dept)
	}
	if state != "" {
		q, args = q+` AND state=?`, append(args, state)
	}
	return queryAll(ctx, s, q+` ORDER BY created_at DESC, id LIMIT ?`, append(args, max(1, min(limit, 1000))), scanNot)
}

// DeliveryAttempt records one delivery attempt's outcome; dead marks the last one.
func (s *DB) DeliveryAttempt(ctx context.Context, id string, err error, dead bool) error {
	if err == nil {
		_, e := s.db.ExecContext(ctx, s.q(`UPDATE notifications SET state='delivered', attempts=attempts+1, last_error='', delivered_at=? WHERE id=?`), ms(now()), id)
		return e
	}
	state := "pending"
	if dead {
		state = "dead"
	}
	_, e := s.db.ExecContext(ctx, s.q(`UPDATE notifications SET state=?, attempts=attempts+1, last_error=? WHERE id=?`), state, err.Error(), id)
	return e
}

// RequeueNotification puts a dead notification back to pending, with the job that
// delivers it (outbox) in the same transaction.
func (s *DB) RequeueNotification(ctx context.Context, id string, job ...OutboxJob) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE notifications SET state='pending' WHERE id=? AND state='dead'`), id)
		if err := affected(res, err); err != nil {
			return err
		}
		return s.addOutbox(ctx, tx, job...)
	})
}

// PendingNotifications lists notifications still to deliver that were created
// before the given time (re-queued at start and periodically).
func (s *DB) PendingNotifications(ctx context.Context, before time.Time) ([]Notification, error) {
	return queryAll(ctx, s, `SELECT `+notCols+` FROM notifications WHERE state='pending' AND created_at<? ORDER BY created_at LIMIT 10000`, []any{ms(before)}, scanNot)
}
