package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/services"
)

// BenchmarkIngestPostgres measures the store's durable write path on PostgreSQL,
// one transaction per operation beside group commit, in one run (issue 19 item 5;
// docs/bench/search.md "Ingest"). It fills a table with the search benchmark's
// synthetic city first (all indexes in place), then runs writeRates. It runs only
// when CITYEYE_BENCH_INGEST is set (seconds per path, e.g. 15):
//
//	CITYEYE_BENCH_INGEST=15 go test -run XXX -bench IngestPostgres -benchtime 1x -timeout 30m ./store/
//
// CITYEYE_BENCH_ROWS (default 200,000) is the table's size before the run.
func BenchmarkIngestPostgres(b *testing.B) {
	secs := envInt("CITYEYE_BENCH_INGEST", 0)
	if secs <= 0 {
		b.Skip("set CITYEYE_BENCH_INGEST (seconds per path, e.g. 15) to run; see docs/bench/search.md")
	}
	n := int64(envInt("CITYEYE_BENCH_ROWS", 200_000))
	ctx := context.Background()
	dsn := services.Postgres(b)
	db, err := OpenPostgres(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	city := newBenchCity(2000, 400_000, time.Now().UTC().Truncate(time.Hour))
	conn, err := db.db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 7))
	start := time.Now()
	for from := int64(0); from < n; from += 10_000 {
		rows := make([]benchRow, 0, 10_000)
		for i := from; i < min(from+10_000, n); i++ {
			rows = append(rows, city.row(rng, i, n))
		}
		if err := copyRecords(ctx, conn, rows); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close()
	if _, err := db.db.ExecContext(ctx, "VACUUM (ANALYZE) records"); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("# ingest benchmark, %s\n\n- table: %d records loaded with COPY in %v\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), n, time.Since(start).Round(time.Second))
	for range b.N {
		for _, line := range writeRates(b, dsn, db, city, n, time.Duration(secs)*time.Second) {
			fmt.Println(line)
		}
	}
}

// durablePostgres turns durability back on for the run (the test cluster runs
// without it; an ingest rate measured that way would flatter) and gives the WAL
// room as a production server would. All of it is reloadable.
func durablePostgres(b *testing.B, db *sql.DB) {
	for _, st := range []string{
		"ALTER SYSTEM SET fsync = on", "ALTER SYSTEM SET synchronous_commit = on", "ALTER SYSTEM SET full_page_writes = on",
		"ALTER SYSTEM SET max_wal_size = '8GB'", "ALTER SYSTEM SET checkpoint_timeout = '15min'", "SELECT pg_reload_conf()",
	} {
		if _, err := db.ExecContext(context.Background(), st); err != nil {
			b.Fatal(st, err)
		}
	}
}

// writeRates measures, durably, the store's write path on a table of n records:
// SaveRecord alone (one transaction per record: read the track FOR UPDATE,
// insert, clear pending keys) from 16 goroutines and from 1; the recorder's
// protocol (Intend, then SaveRecord: two commits per record) from 16 goroutines;
// and the same protocol in group commit from 16 and 64 goroutines (a worker's
// pipelines, a few cameras each). It returns the Markdown table, each rate beside
// the 5,000 records/s target and the protocol's rate one transaction each.
func writeRates(b *testing.B, dsn string, db *DB, city *benchCity, n int64, d time.Duration) []string {
	durablePostgres(b, db.db)
	gc, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer gc.Close()
	gc.EnableGroupCommit(GroupCommit{})
	type path struct {
		name            string
		db              *DB
		intend          bool
		goroutines      int
		d               time.Duration
		rate, perCommit float64
	}
	paths := []*path{
		{name: "SaveRecord, one transaction each", db: db, goroutines: 16, d: d},
		{name: "SaveRecord, one transaction each", db: db, goroutines: 1, d: d / 2},
		{name: "recorder protocol (Intend + SaveRecord), one transaction each", db: db, intend: true, goroutines: 16, d: d},
		{name: "recorder protocol, group commit", db: gc, intend: true, goroutines: 16, d: d},
		{name: "recorder protocol, group commit", db: gc, intend: true, goroutines: 64, d: d},
		{name: "recorder protocol, group commit", db: gc, intend: true, goroutines: 256, d: d},
	}
	for i, p := range paths {
		b0, o0 := gc.GroupCommitStats()
		p.rate = saveRate(b, p.db, city, n, n+int64(i+1)*10_000_000, p.intend, p.d, p.goroutines)
		if b1, o1 := gc.GroupCommitStats(); b1 > b0 {
			p.perCommit = float64(o1-o0) / float64(b1-b0)
		}
	}
	alone := paths[2].rate
	lines := []string{"", fmt.Sprintf("| write path (table at %d records, durable) | goroutines | records/s | target 5,000/s | vs protocol one transaction each | operations per commit |", n),
		"| --- | ---: | ---: | ---: | ---: | ---: |"}
	for _, p := range paths {
		per := "1"
		if p.perCommit > 0 {
			per = fmt.Sprintf("%.1f", p.perCommit)
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %.0f | %.2f× | %.2f× | %s |", p.name, p.goroutines, p.rate, p.rate/5000, p.rate/alone, per))
	}
	return append(lines, "")
}

// saveRate runs SaveRecord (with Intend before it when intend is set, as the
// recorder does) for d from the given goroutines on new records numbered from
// base, shot now, and returns records/s.
func saveRate(b *testing.B, db *DB, city *benchCity, n, base int64, intend bool, d time.Duration, goroutines int) float64 {
	ctx := context.Background()
	var count atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w)+100, uint64(base)))
			for i := base + int64(w); time.Now().Before(deadline); i += int64(goroutines) {
				r := city.row(rng, i, n)
				r.ShotTime = time.Now().UTC().Truncate(time.Millisecond) // live capture
				if intend {
					if err := db.Intend(ctx, r.Images); err != nil {
						b.Error(err)
						return
					}
				}
				if _, err := db.SaveRecord(ctx, &r.Record); err != nil {
					b.Error(err)
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}
