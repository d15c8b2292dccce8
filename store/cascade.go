package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// CascadeLink is a superior view library this one registers with and pushes
// records up to (级联): its address, the ID and Digest account this library has
// there, and the rules of what goes up. The password is sealed at rest like stream
// URLs (secrets.go) and never serialised.
type CascadeLink struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	URL        string    `json:"url"`       // the superior's base URL (…/VIID is appended)
	DeviceID   string    `json:"device_id"` // this library's 20-digit ID at the superior
	Username   string    `json:"username"`
	Password   string    `json:"-"`
	Types      []string  `json:"types"`   // record types that go up; empty: all
	Areas      []string  `json:"areas"`   // GB/T 2260 areas; empty: all
	Sharing    []int     `json:"sharing"` // camera sharing attributes that go up; empty: any
	KeepaliveS int       `json:"keepalive_s"`
	Enabled    bool      `json:"enabled"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	start      int64
	cursor     Feed
}

// CascadeBatch is one outbox entry: record IDs to push as new (Adds) or as
// changed (Updates). Refused lists the IDs the superior refused (not retried).
type CascadeBatch struct {
	ID          string    `json:"id"`
	LinkID      string    `json:"link_id"`
	State       string    `json:"state"` // pending, delivered
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	Adds        []string  `json:"adds"`
	Updates     []string  `json:"updates"`
	Refused     []string  `json:"refused,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

func linkKey(id string) string { return "cascade:" + id }

// CreateCascadeLink stores a link; it follows records created from now on.
func (s *DB) CreateCascadeLink(ctx context.Context, l *CascadeLink) error {
	l.CreatedAt = now()
	at := ms(l.CreatedAt)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO cascade_links (id, name, url, device_id, username, password, types, areas, sharing, keepalive_s, enabled,
		start_at, cursor_at, cursor_id, upd_cursor_at, upd_cursor_id, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'',?,'',?,?)`),
		l.ID, l.Name, l.URL, l.DeviceID, l.Username, s.sealURL(linkKey(l.ID), l.Password), list(l.Types), list(l.Areas), list(sharingList(l.Sharing)), l.KeepaliveS, l.Enabled,
		at, at, at, l.CreatedBy, at)
	return s.dialect.mapErr(err)
}

// UpdateCascadeLink changes a link's settings; its cursors and outbox stay.
func (s *DB) UpdateCascadeLink(ctx context.Context, l CascadeLink) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE cascade_links SET name=?, url=?, device_id=?, username=?, password=?, types=?, areas=?, sharing=?,
		keepalive_s=?, enabled=? WHERE id=?`), l.Name, l.URL, l.DeviceID, l.Username, s.sealURL(linkKey(l.ID), l.Password), list(l.Types), list(l.Areas),
		list(sharingList(l.Sharing)), l.KeepaliveS, l.Enabled, l.ID)
	return affected(res, err)
}

func sharingList(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
}

const linkCols = `id, name, url, device_id, username, password, types, areas, sharing, keepalive_s, enabled, start_at, cursor_at, cursor_id, upd_cursor_at, upd_cursor_id, created_by, created_at`

func (s *DB) scanLink(row interface{ Scan(...any) error }) (CascadeLink, error) {
	var l CascadeLink
	var pw, types, areas, sharing string
	var c int64
	err := row.Scan(&l.ID, &l.Name, &l.URL, &l.DeviceID, &l.Username, &pw, &types, &areas, &sharing, &l.KeepaliveS, &l.Enabled,
		&l.start, &l.cursor.AddAt, &l.cursor.AddID, &l.cursor.UpdAt, &l.cursor.UpdID, &l.CreatedBy, &c)
	if err != nil {
		return l, err
	}
	l.Types, l.Areas, l.CreatedAt = unlist(types), unlist(areas), fromMS(c)
	for _, v := range unlist(sharing) {
		n, _ := strconv.Atoi(v)
		l.Sharing = append(l.Sharing, n)
	}
	l.Password, err = s.openURL(linkKey(l.ID), pw)
	return l, err
}

// GetCascadeLink returns one link with its password.
func (s *DB) GetCascadeLink(ctx context.Context, id string) (CascadeLink, error) {
	l, err := s.scanLink(s.db.QueryRowContext(ctx, s.q(`SELECT `+linkCols+` FROM cascade_links WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	return l, err
}

// ListCascadeLinks returns every link.
func (s *DB) ListCascadeLinks(ctx context.Context) ([]CascadeLink, error) {
	return queryAll(ctx, s, `SELECT `+linkCols+` FROM cascade_links ORDER BY created_at, id`, nil, s.scanLink)
}

// DeleteCascadeLink removes a link and its outbox.
func (s *DB) DeleteCascadeLink(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cascade_batches WHERE link_id=?`), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM cascade_links WHERE id=?`), id)
		return affected(res, err)
	})
}

// Feed is where the link stands in the record feed: every record its rules allow.
func (l CascadeLink) Feed(settled time.Time, limit int) Feed {
	f := l.cursor
	f.Start, f.Types, f.Areas, f.Sharing = l.start, l.Types, l.Areas, l.Sharing
	f.Scope, f.Settled, f.Limit = auth.Scope{All: true}, settled, limit
	return f
}

// CascadeDispatch stores a batch (when it has records) and moves the link's cursors
// to next in one transaction, only if they still stand where l read them
// (ErrConflict otherwise: another pass got there first, and nothing is stored).
func (s *DB) CascadeDispatch(ctx context.Context, l CascadeLink, b *CascadeBatch, next Feed) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE cascade_links SET cursor_at=?, cursor_id=?, upd_cursor_at=?, upd_cursor_id=?
			WHERE id=? AND cursor_at=? AND cursor_id=? AND upd_cursor_at=? AND upd_cursor_id=?`),
			next.AddAt, next.AddID, next.UpdAt, next.UpdID, l.ID, l.cursor.AddAt, l.cursor.AddID, l.cursor.UpdAt, l.cursor.UpdID)
		if err = affected(res, err); errors.Is(err, ErrNotFound) {
			return ErrConflict
		} else if err != nil || b == nil {
			return err
		}
		b.CreatedAt, b.State, b.LinkID = now(), "pending", l.ID
		adds, _ := json.Marshal(nonNilStrings(b.Adds))
		upds, _ := json.Marshal(nonNilStrings(b.Updates))
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO cascade_batches (id, link_id, state, attempts, last_error, adds, updates, refused, created_at, delivered_at)
			VALUES (?,?,?,0,'',?,?,'[]',?,0)`), b.ID, l.ID, b.State, string(adds), string(upds), ms(b.CreatedAt))
		return s.dialect.mapErr(err)
	})
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

const batchCols = `id, link_id, state, attempts, last_error, adds, updates, refused, created_at, delivered_at`

func scanBatch(row interface{ Scan(...any) error }) (CascadeBatch, error) {
	var b CascadeBatch
	var adds, upds, refused string
	var c, d int64
	err := row.Scan(&b.ID, &b.LinkID, &b.State, &b.Attempts, &b.LastError, &adds, &upds, &refused, &c, &d)
	_ = json.Unmarshal([]byte(adds), &b.Adds)
	_ = json.Unmarshal([]byte(upds), &b.Updates)
	_ = json.Unmarshal([]byte(refused), &b.Refused)
	b.CreatedAt, b.DeliveredAt = fromMS(c), optMS(d)
	return b, err
}

// NextCascadeBatch returns a link's oldest pending batch (ErrNotFound: none):
// batches go up in the order their records were written.
func (s *DB) NextCascadeBatch(ctx context.Context, linkID string) (CascadeBatch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, s.q(`SELECT `+batchCols+` FROM cascade_batches WHERE link_id=? AND state='pending' ORDER BY created_at, id LIMIT 1`), linkID))
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	return b, err
}

// ListCascadeBatches returns a link's batches in a state ("" any), newest first.
func (s *DB) ListCascadeBatches(ctx context.Context, linkID, state string, limit int) ([]CascadeBatch, error) {
	q, args := `SELECT `+batchCols+` FROM cascade_batches WHERE link_id=?`, []any{linkID}
	if state != "" {
		q, args = q+` AND state=?`, append(args, state)
	}
	return queryAll(ctx, s, q+` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, max(1, min(limit, 1000))), scanBatch)
}

// CascadeAttempt records one push of a batch: delivered when err is nil (with the
// IDs the superior refused), else still pending with the error.
func (s *DB) CascadeAttempt(ctx context.Context, id string, err error, refused []string) error {
	if err == nil {
		r, _ := json.Marshal(nonNilStrings(refused))
		_, e := s.db.ExecContext(ctx, s.q(`UPDATE cascade_batches SET state='delivered', attempts=attempts+1, last_error='', refused=?, delivered_at=? WHERE id=?`),
			string(r), ms(now()), id)
		return e
	}
	_, e := s.db.ExecContext(ctx, s.q(`UPDATE cascade_batches SET attempts=attempts+1, last_error=? WHERE id=?`), err.Error(), id)
	return e
}

// CascadeCounts are a link's outbox totals.
type CascadeCounts struct {
	Pending   int `json:"pending_batches"`
	Delivered int `json:"delivered_batches"`
	Attempts  int `json:"push_attempts"`
}

// CascadeCounts counts a link's batches by state and its push attempts.
func (s *DB) CascadeCounts(ctx context.Context, linkID string) (CascadeCounts, error) {
	var c CascadeCounts
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(CASE WHEN state='pending' THEN 1 ELSE 0 END),0), COALESCE(SUM(CASE WHEN state='delivered' THEN 1 ELSE 0 END),0),
		COALESCE(SUM(attempts),0) FROM cascade_batches WHERE link_id=?`), linkID).Scan(&c.Pending, &c.Delivered, &c.Attempts)
	return c, err
}
