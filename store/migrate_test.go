package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/testdata/services"
)

// oldBackend makes a database the way code from before migrations did, with the
// schema in a testdata file, and then opens it with today's code.
type oldBackend struct {
	name, driver string
	d            dialect
	dsn          func(t *testing.T) string // a new, empty database
	open         func(t *testing.T, dsn string) *DB
}

var oldBackends = []oldBackend{
	{"sqlite", "sqlite", sqliteDialect{}, func(t *testing.T) string { return filepath.Join(t.TempDir(), "old.db") }, open},
	{"postgres", "pgx", postgresDialect{}, func(t *testing.T) string { return services.Postgres(t) }, openPostgres},
}

// create makes the database at dsn with testdata/<schema>.<backend>.sql, runs stmts
// in it, and returns it open with no migration run (closed when the test ends).
func (b oldBackend) create(t *testing.T, dsn, schema string, stmts ...string) *DB {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("testdata", schema+"."+b.name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open(b.driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	for _, st := range append([]string{string(ddl)}, stmts...) {
		if _, err := raw.ExecContext(context.Background(), st); err != nil {
			t.Fatalf("%.80s: %v", st, err)
		}
	}
	return &DB{db: raw, dialect: b.d}
}

// A database made by the code before migrations (no goose table) is adopted as is:
// its schema is the baseline's to the letter, every row stays, the migrations are
// recorded, and opening it again applies nothing.
func TestMigrateBeforeGoose(t *testing.T) {
	for _, b := range oldBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.dsn(t)
			old := b.create(t, dsn, "schema-before-goose",
				`INSERT INTO streams VALUES ('44150200001320000001','gate','rtsp://cam/1','441502',115.37,22.78,'police',1,1,10,11)`,
				`INSERT INTO tasks VALUES ('t1','44150200001320000001','plate','{"fps":5}',true,12,13,'police')`,
				`INSERT INTO records VALUES ('R1','MotorVehicle','44150200001320000001','t1','k1',1000,0.9,'{"PlateNo":"粤N12345"}','["a.jpg"]',14,15,
					'police','441502','','粤N12345','5','2','K33',115.37,22.78)`,
				`INSERT INTO plates VALUES ('粤N12345')`,
				`INSERT INTO audit_log (at, user_id, dept_id, token_id, action, target, grant_id, remote, status, detail)
					VALUES (16,'u1','police','tok','record.read','R1','','127.0.0.1',200,'{}')`,
				`INSERT INTO model_versions VALUES ('acme','plate','1.0.0','detect','["plate"]','abc',1234,'{}','published','done',100,'{}','{}','u1',17,18,19)`,
				`INSERT INTO subscriptions VALUES ('S1','viid','u1','police',',MotorVehicle,','','','441502','http://peer/notify',60,0,0,0,'{}',20,'R0',21,22)`,
				`INSERT INTO notifications VALUES ('N1','S1','police','pending',0,'',',R1,','{}',23,0)`,
			)
			before, err := schemaOf(ctx, old)
			if err != nil {
				t.Fatal(err)
			}
			rowsBefore := dumpRows(t, old)

			// adoption is the baseline's (version 1); later migrations apply after it
			migrateTarget = 1
			defer func() { migrateTarget = 0 }()
			db := b.open(t, dsn)
			if after, err := schemaOf(ctx, db); err != nil || after != before {
				t.Fatalf("schema changed by adoption (%v):\n%s", err, lineDiff(before, after))
			}
			if got := dumpRows(t, db); !slices.Equal(got, rowsBefore) {
				t.Fatalf("rows after migration:\n%s", lineDiff(strings.Join(rowsBefore, "\n"), strings.Join(got, "\n")))
			}
			if v := dbVersion(t, db); v != 1 {
				t.Fatalf("goose version %d after adoption, want the baseline's 1", v)
			}
			// the store reads what the old code wrote
			if s, err := db.GetStream(ctx, "44150200001320000001"); err != nil || s.Name != "gate" {
				t.Fatalf("stream: %+v %v", s, err)
			}
			if _, err := db.db.ExecContext(ctx, `DELETE FROM audit_log`); err == nil {
				t.Fatal("audit_log is no longer append-only")
			}
			b.open(t, dsn) // and again: nothing left to apply
			// The baseline on an empty database makes the same schema.
			fresh := b.open(t, b.dsn(t))
			migrateTarget = 0
			if v, want := dbVersion(t, b.open(t, dsn)), newestMigration(t, b.d); v != want {
				t.Fatalf("goose version %d after the later migrations, want %d", v, want)
			}
			if s, err := schemaOf(ctx, fresh); err != nil || s != before {
				t.Fatalf("baseline differs from the schema before migrations (%v):\n%s", err, lineDiff(before, s))
			}
		})
	}
}

// dumpRows lists every row of every table but goose's, as text, sorted.
func dumpRows(t *testing.T, db *DB) []string {
	t.Helper()
	ctx := context.Background()
	tables, err := db.db.QueryContext(ctx, map[string]string{
		"sqlite":   `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'goose%' AND name <> 'sqlite_sequence'`,
		"postgres": `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name NOT LIKE 'goose%'`,
	}[dialectName(db.dialect)])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	var out []string
	for _, n := range names {
		rows, err := db.db.QueryContext(ctx, "SELECT * FROM "+n)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			line := n
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				line += fmt.Sprintf(" %s=%v", cols[i], v)
			}
			out = append(out, line)
		}
		rows.Close()
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatal("no rows")
	}
	return out
}

func dialectName(d dialect) string { _, dir := d.migrations(); return dir }

// dbVersion is the newest migration goose recorded as applied.
func dbVersion(t *testing.T, db *DB) int64 {
	t.Helper()
	var v int64
	if err := db.db.QueryRow(`SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// newestMigration is the highest version among the dialect's migration files.
func newestMigration(t *testing.T, d dialect) int64 {
	t.Helper()
	files, err := fs.Glob(migrationFiles, "migrations/"+dialectName(d)+"/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	var newest int64
	for _, f := range files {
		v, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatal(f, err)
		}
		newest = max(newest, v)
	}
	return newest
}

// Both dialects have the same migrations, numbered the same.
func TestMigrationsInBothDialects(t *testing.T) {
	list := func(dir string) (names []string) {
		files, _ := fs.Glob(migrationFiles, "migrations/"+dir+"/*.sql")
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		return names
	}
	if s, p := list("sqlite"), list("postgres"); len(s) == 0 || !slices.Equal(s, p) {
		t.Fatalf("sqlite migrations %v, postgres %v", s, p)
	}
}

// schemaOf describes the database's schema as text, one line per column, index,
// trigger and function, sorted, without goose's table: two databases with the same
// text have the same tables, columns (in order), indexes and triggers.
func schemaOf(ctx context.Context, db *DB) (string, error) {
	q := map[string]string{
		"sqlite": `SELECT 'column ' || m.name || ' ' || printf('%02d', c.cid) || ' ' || c.name || ' ' || c.type || ' notnull=' || c."notnull" || ' default=' || coalesce(c.dflt_value, '') || ' pk=' || c.pk
			FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE 'goose%' AND m.name <> 'sqlite_sequence'
			UNION ALL SELECT m.type || ' ' || m.name || ' ' || coalesce(m.sql, '') FROM sqlite_master m WHERE m.type IN ('index', 'trigger') AND m.tbl_name NOT LIKE 'goose%'
			ORDER BY 1`,
		"postgres": `SELECT 'column ' || table_name || ' ' || lpad(ordinal_position::text, 2, '0') || ' ' || column_name || ' ' || data_type || ' nullable=' || is_nullable || ' default=' || coalesce(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'goose%'
			UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename NOT LIKE 'goose%'
			UNION ALL SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
			UNION ALL SELECT 'function ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
				WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
			ORDER BY 1`,
	}[dialectName(db.dialect)]
	rows, err := db.db.QueryContext(ctx, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		b.WriteString(strings.Join(strings.Fields(line), " ") + "\n")
	}
	return b.String(), rows.Err()
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range as {
		if !slices.Contains(bs, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bs {
		if !slices.Contains(as, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
