package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
)

// Retention batches: each is one short transaction, so ingest never waits long for
// the sweep (SQLite has one writer; PostgreSQL row locks stay brief).

// ExpireRecords deletes up to limit records shot before cutoff. Their images move to
// pending in the same transaction; the caller deletes them and calls Forget (what a
// crash leaves pending is swept at start-up). It returns the image keys.
func (s *DB) ExpireRecords(ctx context.Context, cutoff time.Time, limit int) (int, []string, error) {
	return s.expire(ctx, `SELECT id, images FROM records WHERE shot_time < ? ORDER BY shot_time LIMIT ?`, `DELETE FROM records WHERE id=?`, cutoff, limit,
		func(v string) []string {
			var keys []string
			_ = json.Unmarshal([]byte(v), &keys)
			return keys
		})
}

// expire deletes the rows a (id, images) query selects, in one transaction that
// also logs their images as pending; images parses the second column into keys.
func (s *DB) expire(ctx context.Context, query, del string, cutoff time.Time, limit int, images func(string) []string) (n int, keys []string, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		n, keys = 0, nil
		rows, err := tx.QueryContext(ctx, s.q(query+s.dialect.forUpdate()), ms(cutoff), limit)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id, imgs string
			if err := rows.Scan(&id, &imgs); err != nil {
				rows.Close()
				return err
			}
			ids, keys = append(ids, id), append(keys, images(imgs)...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`pending_objects (key, created_at) VALUES (?,?)`)), k, ms(now())); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.q(del), id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, keys, err
}

// ExpireImages removes, from up to limit records shot before cutoff, the images whose
// key ends with suffix (e.g. "-scene.jpg"): the key leaves the record's image list and
// its SubImageInfoObject leaves the GA/T 1400 body, in the same transaction that moves
// the key to pending, so no record ever points at a deleted image.
func (s *DB) ExpireImages(ctx context.Context, suffix string, cutoff time.Time, limit int) (n int, images []string, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		n, images = 0, nil
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, body, images FROM records WHERE shot_time < ? AND images LIKE ? ORDER BY shot_time LIMIT ?`+s.dialect.forUpdate()),
			ms(cutoff), "%"+suffix+`"%`, limit)
		if err != nil {
			return err
		}
		type upd struct{ id, body, imgs string }
		var ups []upd
		for rows.Next() {
			var id, body, imgs string
			if err := rows.Scan(&id, &body, &imgs); err != nil {
				rows.Close()
				return err
			}
			var keys, keep, gone []string
			_ = json.Unmarshal([]byte(imgs), &keys)
			for _, k := range keys {
				if strings.HasSuffix(k, suffix) {
					gone = append(gone, k)
				} else {
					keep = append(keep, k)
				}
			}
			if len(gone) == 0 {
				continue
			}
			if keep == nil {
				keep = []string{}
			}
			nb := dropSubImages(body, gone)
			kb, _ := json.Marshal(keep)
			ups = append(ups, upd{id, nb, string(kb)})
			images = append(images, gone...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range images {
			if _, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`pending_objects (key, created_at) VALUES (?,?)`)), k, ms(now())); err != nil {
				return err
			}
		}
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE records SET body=?, images=? WHERE id=?`), u.body, u.imgs, u.id); err != nil {
				return err
			}
		}
		n = len(ups)
		return nil
	})
	return n, images, err
}

// dropSubImages removes from a GA/T 1400 body the SubImageInfoObject entries (and
// StorageUrl fields) that point at any of the keys.
func dropSubImages(body string, keys []string) string {
	var obj map[string]any
	if json.Unmarshal([]byte(body), &obj) != nil {
		return body
	}
	points := func(v any) bool {
		s, _ := v.(string)
		for _, k := range keys {
			if s != "" && strings.HasSuffix(s, k) {
				return true
			}
		}
		return false
	}
	if list, ok := obj["SubImageList"].(map[string]any); ok {
		imgs, _ := list["SubImageInfoObject"].([]any)
		var kept []any
		for _, x := range imgs {
			if im, ok := x.(map[string]any); ok && points(im["StoragePath"]) {
				continue
			}
			kept = append(kept, x)
		}
		if kept == nil {
			kept = []any{}
		}
		list["SubImageInfoObject"] = kept
	}
	for k, v := range obj {
		if strings.HasPrefix(k, "StorageUrl") && points(v) {
			delete(obj, k)
		}
	}
	b, _ := json.Marshal(obj)
	return string(b)
}

// ExpireAlerts deletes up to limit alerts raised before cutoff; their images move
// to pending as with records.
func (s *DB) ExpireAlerts(ctx context.Context, cutoff time.Time, limit int) (int, []string, error) {
	return s.expire(ctx, `SELECT id, image FROM alerts WHERE at < ? ORDER BY at LIMIT ?`, `DELETE FROM alerts WHERE id=?`, cutoff, limit,
		func(v string) []string {
			if v == "" { // a disposition alert of a record without images
				return nil
			}
			return []string{v}
		})
}
