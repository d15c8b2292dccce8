package store

import (
	"context"
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// A record feed is how subscriptions and cascade links follow the records table:
// two cursors, one over creation and one over the last change. New records come
// by creation order; a record changed after it was sent (a better shot, a plate
// read later, a disappear time) comes again by change order, marked as an update.
//
// Each cursor is (time in ms, record ID) and only moves past what was handed out,
// in the transaction that records the hand-out, so nothing is skipped or handed
// out twice. An update is a record whose creation the creation cursor has passed
// (it was sent as new) and whose change is past the change cursor. A record sent
// as new carries its latest version; if that version was written in the last
// NotifySettle before the send, the next pass sends it once more as an update.

// Feed is where a follower stands.
type Feed struct {
	Start        int64  // ms: records created before it are not followed
	AddAt        int64  // creation cursor
	AddID        string //
	UpdAt        int64  // change cursor
	UpdID        string //
	Types        []string
	Devices      []string // empty: any
	Areas        []string // GB/T 2260 prefixes; empty: any
	Sharing      []int    // the camera's sharing attribute; empty: any (records of a device that is no camera here have none)
	Scope        auth.Scope
	Limit        int
	Settled      time.Time // only records written before it: a late commit cannot slip behind a cursor
	settledMS    int64
	filterWhere  []string
	filterParams []any
}

// FeedPage is one pass over a feed: the new records, the updated ones, and where
// the cursors stand after them.
type FeedPage struct {
	Added, Updated []Record
	Next           Feed
}

func (f *Feed) filter() {
	cond, args := recordScope(f.Scope)
	f.filterWhere, f.filterParams = []string{cond, "records.created_at >= ?"}, append(args, f.Start)
	in := func(col string, vs []any) {
		if len(vs) > 0 {
			f.filterWhere = append(f.filterWhere, col+" IN ("+placeholders(len(vs))+")")
			f.filterParams = append(f.filterParams, vs...)
		}
	}
	in("records.type", anys(f.Types))
	in("records.device_id", anys(f.Devices))
	if len(f.Areas) > 0 {
		cond, args := areaSQL("records.admin_division", f.Areas)
		f.filterWhere, f.filterParams = append(f.filterWhere, cond), append(f.filterParams, args...)
	}
	if len(f.Sharing) > 0 {
		f.filterWhere = append(f.filterWhere, "EXISTS (SELECT 1 FROM streams fs WHERE fs.id=records.device_id AND fs.sharing IN ("+placeholders(len(f.Sharing))+"))")
		f.filterParams = append(f.filterParams, anys(f.Sharing)...)
	}
	f.settledMS = ms(f.Settled)
}

// ReadFeed returns the next page of a feed: up to Limit updates of records already
// sent, then up to Limit new records. The caller stores Next with what it hands out.
func (s *DB) ReadFeed(ctx context.Context, f Feed) (FeedPage, error) {
	f.filter()
	if f.Limit <= 0 {
		f.Limit = 100
	}
	// updates first, against the creation cursor as it stands before this page's
	// new records (those carry their latest version already)
	where := append([]string{"(records.updated_at > ? OR (records.updated_at = ? AND records.id > ?))", "records.updated_at < ?",
		"records.updated_at > records.created_at", "(records.created_at < ? OR (records.created_at = ? AND records.id <= ?))"}, f.filterWhere...)
	args := append([]any{f.UpdAt, f.UpdAt, f.UpdID, f.settledMS, f.AddAt, f.AddAt, f.AddID}, f.filterParams...)
	upd, err := queryAll(ctx, s, `SELECT `+recordCols+` FROM records WHERE `+strings.Join(where, " AND ")+
		` ORDER BY records.updated_at, records.id LIMIT ?`, append(args, f.Limit), scanRecord)
	if err != nil {
		return FeedPage{}, err
	}
	where = append([]string{"(records.created_at > ? OR (records.created_at = ? AND records.id > ?))", "records.created_at <= ?"}, f.filterWhere...)
	args = append([]any{f.AddAt, f.AddAt, f.AddID, f.settledMS}, f.filterParams...)
	add, err := queryAll(ctx, s, `SELECT `+recordCols+` FROM records WHERE `+strings.Join(where, " AND ")+
		` ORDER BY records.created_at, records.id LIMIT ?`, append(args, f.Limit), scanRecord)
	if err != nil {
		return FeedPage{}, err
	}
	next := f
	next.filterWhere, next.filterParams = nil, nil
	if len(upd) == f.Limit {
		last := upd[len(upd)-1]
		next.UpdAt, next.UpdID = ms(last.UpdatedAt), last.ID
	} else if f.settledMS > f.UpdAt {
		// every change before settled is handed out (the bound is exclusive, so
		// changes at settled itself come next time): the cursor may move there
		next.UpdAt, next.UpdID = f.settledMS, ""
	}
	if len(add) > 0 {
		last := add[len(add)-1]
		next.AddAt, next.AddID = ms(last.CreatedAt), last.ID
	}
	return FeedPage{Added: add, Updated: upd, Next: next}, nil
}
