package catalogue_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/catalogue"
	"github.com/cityeye/cityeye/testdata/cameras"
	"github.com/cityeye/cityeye/testdata/services"
	"github.com/cityeye/cityeye/testdata/testkit"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the backends' CPU time
)

// TestMain stops the PostgreSQL server the benchmark started.
func TestMain(m *testing.M) { services.Main(m) }

// cityCatalogue is a city's catalogue file: n cameras over ten districts of Shanwei.
func cityCatalogue(b *testing.B, n int, f catalogue.Format) []byte {
	b.Helper()
	cams := make([]store.Camera, n)
	for i := range cams {
		cams[i] = cameras.Valid(i, "police", fmt.Sprintf("4415%02d", 2+i%10))
		if i%2 == 0 {
			cams[i].URL = fmt.Sprintf("rtsp://admin:pw@10.%d.%d.%d/Streaming/Channels/101", i/65536%256, i/256%256, i%256)
		}
	}
	var buf bytes.Buffer
	if err := catalogue.Write(&buf, f, catalogue.Chinese, cams); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// importFile is what POST /api/v1/catalogue/import does after the upload: parse and
// check every row, check owners and areas, upsert in one transaction.
func importFile(ctx context.Context, db *store.DB, data []byte, f catalogue.Format) (int, error) {
	rows, errs, err := catalogue.Read(bytes.NewReader(data), f)
	if err != nil || len(errs) > 0 {
		return 0, fmt.Errorf("read: %v %v", err, errs)
	}
	admin := store.Principal{User: store.User{Role: auth.PlatformAdmin}}
	if errs, err := catalogue.Admit(ctx, db, admin, rows, nil); err != nil || len(errs) > 0 {
		return 0, fmt.Errorf("admit: %v %v", err, errs)
	}
	cams := make([]store.Camera, len(rows))
	for i := range rows {
		cams[i] = rows[i].Camera
	}
	return len(cams), db.ImportCameras(ctx, cams)
}

// BenchmarkImport80k imports an 80,000-camera catalogue (half with pull URLs, so
// 40,000 streams made) into an empty database, then again over itself (the upsert
// path), on SQLite and PostgreSQL, from CSV and XLSX. Target: ≤ 10 s each. The CPU
// time (this process's: parsing, checks, the SQLite engine, pgx) is reported beside
// the wall time because the machine is shared; PostgreSQL's own work is in its wall time.
//
//	go test ./store/catalogue -run '^$' -bench Import80k -benchtime 1x
func BenchmarkImport80k(b *testing.B) {
	const n = 80_000
	ctx := context.Background()
	var serverCPU func() time.Duration // the PostgreSQL backends' CPU time (0 on SQLite)
	open := map[string]func(b *testing.B) *store.DB{
		"sqlite": func(b *testing.B) *store.DB {
			db, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "c.db"))
			if err != nil {
				b.Fatal(err)
			}
			serverCPU = func() time.Duration { return 0 }
			return db
		},
		"postgres": func(b *testing.B) *store.DB {
			dsn := services.Postgres(b)
			db, err := store.OpenPostgres(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			serverCPU = backendsCPU(b, dsn)
			return db
		},
	}
	for _, format := range []catalogue.Format{catalogue.CSV, catalogue.XLSX} {
		data := cityCatalogue(b, n, format)
		for _, backend := range []string{"sqlite", "postgres"} {
			b.Run(fmt.Sprintf("%s/%s", backend, format), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					db := open[backend](b)
					if err := db.CreateDepartment(ctx, &store.Department{ID: "police", Name: "police", Areas: []string{"441500"}}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					for _, pass := range []string{"insert", "upsert"} {
						start, cpu, server := time.Now(), testkit.CPUTime(), serverCPU()
						got, err := importFile(ctx, db, data, format)
						if err != nil || got != n {
							b.Fatalf("%s: %d rows, %v", pass, got, err)
						}
						b.ReportMetric(time.Since(start).Seconds(), pass+"-s")
						b.ReportMetric((testkit.CPUTime() - cpu).Seconds(), pass+"-cpu-s")
						if backend == "postgres" {
							b.ReportMetric((serverCPU() - server).Seconds(), pass+"-pg-cpu-s")
						}
					}
					b.StopTimer()
					if _, total, err := db.ListCameras(ctx, store.CameraFilter{Scope: auth.Scope{All: true}, Limit: 1}); err != nil || total != n {
						b.Fatalf("%d cameras stored, %v", total, err)
					}
					db.Close()
				}
			})
		}
	}
}

// backendsCPU returns a function that sums the CPU time of the PostgreSQL backends
// serving the DSN's database, from /proc (the test server runs on this machine).
func backendsCPU(b *testing.B, dsn string) func() time.Duration {
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	const tick = 10 * time.Millisecond // /proc/<pid>/stat counts in 1/USER_HZ s; USER_HZ is 100 on Linux
	return func() time.Duration {
		rows, err := conn.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var total time.Duration
		for rows.Next() {
			var pid int
			rows.Scan(&pid)
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
			ut, _ := strconv.Atoi(f[11])
			st, _ := strconv.Atoi(f[12])
			total += time.Duration(ut+st) * tick
		}
		return total
	}
}
