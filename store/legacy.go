package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Before migrations, every start ran the schema with IF NOT EXISTS and added the
// columns an older database lacked. The baseline migration does the first for a
// database made that way, but cannot do the second: SQLite has no ADD COLUMN IF NOT
// EXISTS, and the baseline's indexes need the added columns. upgradeLegacy brings
// such a database up to the baseline's columns, once, before goose runs: it does
// something only for a database that has records but no migration applied and no
// records_plate_time index, which every start of the code before migrations created
// last. A database made since migrations began never needs it.

// legacyColumns are the columns added after the first release, as (table, column,
// definition); the baseline has them at the end of their tables.
var legacyColumns = [][3]string{
	{"tasks", "dept_id", "TEXT NOT NULL DEFAULT ''"},
	{"records", "dept_id", "TEXT NOT NULL DEFAULT ''"},
	{"records", "admin_division", "TEXT NOT NULL DEFAULT ''"},
	{"records", "grant_id", "TEXT NOT NULL DEFAULT ''"},
	// a constant default makes ADD COLUMN instant on PostgreSQL 11+ (no table rewrite)
	{"records", "plate_no", "TEXT NOT NULL DEFAULT ''"},
	{"records", "plate_color", "TEXT NOT NULL DEFAULT ''"},
	{"records", "vehicle_color", "TEXT NOT NULL DEFAULT ''"},
	{"records", "vehicle_class", "TEXT NOT NULL DEFAULT ''"},
	{"records", "longitude", "DOUBLE PRECISION NOT NULL DEFAULT 0"},
	{"records", "latitude", "DOUBLE PRECISION NOT NULL DEFAULT 0"},
}

// upgradeLegacy adds the missing columns and fills the search columns of the records
// already there (backfillSearch), on one connection holding the migration lock.
// Until goose then applies the baseline, which creates records_plate_time, it runs
// again at every start: a backfill cut short by a crash is redone.
func upgradeLegacy(ctx context.Context, db *sql.DB, d dialect, locker lock.SessionLocker) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if locker != nil {
		if err := locker.SessionLock(ctx, conn); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer func() {
			if uerr := locker.SessionUnlock(context.WithoutCancel(ctx), conn); uerr != nil {
				// The lock is held until this session ends: end it rather than give a
				// connection holding it back to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = fmt.Errorf("release migration lock: %w", uerr)
				}
			}
		}()
	}
	if legacy, err := isLegacy(ctx, conn, d); err != nil || !legacy {
		return err
	}
	for _, c := range legacyColumns {
		have, err := names(ctx, conn, d, d.columns(), c[0])
		if err != nil {
			return err
		}
		if have[c[1]] {
			continue
		}
		if _, err := conn.ExecContext(ctx, "ALTER TABLE "+c[0]+" ADD COLUMN "+c[1]+" "+c[2]); err != nil {
			return fmt.Errorf("add %s.%s: %w", c[0], c[1], err)
		}
	}
	// the backfill fills the plate dictionary (the baseline has the same statement)
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS plates (plate_no TEXT PRIMARY KEY)"); err != nil {
		return err
	}
	n, err := backfillSearch(ctx, conn, d)
	if err != nil {
		return fmt.Errorf("backfill search columns: %w", err)
	}
	slog.Info("store: search columns backfilled", "records", n)
	return nil
}

// isLegacy reports whether the database was made before migrations and lacks what
// the last code before them would have made.
func isLegacy(ctx context.Context, conn *sql.Conn, d dialect) (bool, error) {
	if cols, err := names(ctx, conn, d, d.columns(), "records"); err != nil || len(cols) == 0 {
		return false, err // a new database
	}
	if cols, err := names(ctx, conn, d, d.columns(), goose.DefaultTablename); err != nil {
		return false, err
	} else if len(cols) > 0 {
		var v sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT max(version_id) FROM "+goose.DefaultTablename).Scan(&v); err != nil {
			return false, err
		}
		if v.Int64 >= 1 {
			return false, nil // migrated
		}
	}
	idx, err := names(ctx, conn, d, d.indexExists(), "records_plate_time")
	return len(idx) == 0, err
}

// names runs a query with one argument that returns one column of names.
func names(ctx context.Context, conn *sql.Conn, d dialect, query string, arg any) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx, d.rebind(query), arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[s.String] = true
	}
	return out, rows.Err()
}

// backfillSearch fills the search columns of records written before they existed: the
// body fields, and the position from the camera's current catalogue entry (the best
// there is for old records; a camera that has moved since puts its old records at its
// new place). It walks the primary key in batches of 1000 records, one transaction
// each.
func backfillSearch(ctx context.Context, conn *sql.Conn, d dialect) (int, error) {
	pos := map[string][2]float64{}
	rows, err := conn.QueryContext(ctx, `SELECT id, longitude, latitude FROM streams`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		var lon, lat float64
		if err := rows.Scan(&id, &lon, &lat); err != nil {
			rows.Close()
			return 0, err
		}
		pos[id] = [2]float64{lon, lat}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	type row struct {
		id, device string
		f          searchFields
	}
	n, last := 0, ""
	for {
		rows, err := conn.QueryContext(ctx, d.rebind(`SELECT id, device_id, body FROM records WHERE id > ? ORDER BY id LIMIT 1000`), last)
		if err != nil {
			return n, err
		}
		var batch []row
		for rows.Next() {
			var r row
			var body string
			if err := rows.Scan(&r.id, &r.device, &body); err != nil {
				rows.Close()
				return n, err
			}
			r.f = extractSearch([]byte(body))
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		if len(batch) == 0 {
			return n, nil
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return n, err
		}
		for _, r := range batch {
			p := pos[r.device]
			if r.f == (searchFields{}) && p == [2]float64{} {
				continue
			}
			if _, err := tx.ExecContext(ctx, d.rebind(`UPDATE records SET plate_no=?, plate_color=?, vehicle_color=?, vehicle_class=?, longitude=?, latitude=? WHERE id=?`),
				r.f.PlateNo, r.f.PlateColor, r.f.VehicleColor, r.f.VehicleClass, p[0], p[1], r.id); err != nil {
				tx.Rollback()
				return n, err
			}
			if r.f.PlateNo != "" {
				if _, err := tx.ExecContext(ctx, d.rebind(d.insertIgnore(`plates (plate_no) VALUES (?)`)), r.f.PlateNo); err != nil {
					tx.Rollback()
					return n, err
				}
			}
			n++
		}
		if err := tx.Commit(); err != nil {
			return n, err
		}
		last = batch[len(batch)-1].id
	}
}
