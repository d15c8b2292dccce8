package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/testdata/services"
)

// BenchmarkSearchPostgres fills a real PostgreSQL (services.Postgres) with a city's
// month of records and measures ingest (bulk COPY and the store's SaveRecord path) and
// the latency of the analyst searches. It runs only when CITYEYE_BENCH_ROWS is set:
//
//	CITYEYE_BENCH_ROWS=10000000 go test -run XXX -bench SearchPostgres -benchtime 1x -timeout 90m ./store/
//
// CITYEYE_BENCH_RUNS (default 200) is the number of runs of each query,
// CITYEYE_BENCH_WRITERS (default 2) the parallel COPY streams, CITYEYE_BENCH_OUT a
// file for the Markdown report. See docs/bench/search.md.
func BenchmarkSearchPostgres(b *testing.B) {
	rows := envInt("CITYEYE_BENCH_ROWS", 0)
	if rows <= 0 {
		b.Skip("set CITYEYE_BENCH_ROWS (e.g. 10000000) to run; see docs/bench/search.md")
	}
	for range b.N {
		runSearchBench(b, rows, envInt("CITYEYE_BENCH_RUNS", 200), envInt("CITYEYE_BENCH_WRITERS", 2))
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// ---- the synthetic city ----

type benchDistrict struct {
	code     string
	lon, lat float64
	weight   int
}

// Four districts of Shanwei and four of Shenzhen; weights are camera shares.
var benchDistricts = []benchDistrict{
	{"441502", 115.37, 22.78, 3}, {"441521", 115.32, 22.97, 2}, {"441523", 115.66, 23.30, 1}, {"441581", 115.65, 22.94, 2},
	{"440303", 114.13, 22.55, 2}, {"440304", 114.05, 22.54, 3}, {"440305", 113.93, 22.53, 3}, {"440306", 113.88, 22.56, 3},
}

// Departments and what they may see (auth.Scope).
var benchScopes = map[string]auth.Scope{
	"police_sw": {Dept: "police_sw", Areas: []string{"441500"}}, // Shanwei public security
	"police_sz": {Dept: "police_sz", Areas: []string{"440300"}}, // Shenzhen public security
	"traffic":   {Dept: "traffic", Areas: []string{"441500", "440300"}},
	"market":    {Dept: "market", Areas: []string{"441502"}}, // one district's market supervision
}

type benchDevice struct {
	id, division string
	lon, lat     float64
	checkpoint   bool    // a vehicle checkpoint (卡口): mostly vehicles
	granted      bool    // a Shenzhen camera police_sw holds a records grant on
	activity     float64 // cumulative weight, for picking busy cameras more often
}

type benchVehicle struct {
	plate, plateColor, color, class string
}

type benchCity struct {
	devices  []benchDevice
	vehicles []benchVehicle
	end      time.Time // the newest shot; the month ends here
}

const benchDays = 30

var (
	provinces   = []string{"粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "粤", "湘", "桂", "闽", "赣", "川", "鄂", "豫"}
	plateLetter = "ABCDEFGHJKLMNPQRSTUVWXYZ" // no I, O
	vehColors   = []string{"2", "2", "2", "2", "2", "2", "1", "1", "1", "1", "3", "3", "3", "4", "4", "5", "5", "6", "9", "99"}
	vehClasses  = []string{"K33", "K33", "K33", "K33", "K33", "K33", "K33", "K33", "K33", "K33", "K33", "K33", "K33", "K32", "K32", "K31", "H11", "H12", "H31", "K11", "Q11", "M22"}
)

func newBenchCity(devices, vehicles int, end time.Time) *benchCity {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &benchCity{end: end}
	total := 0
	for _, d := range benchDistricts {
		total += d.weight
	}
	var cum float64
	for i := range devices {
		// district by weight
		x, d := rng.IntN(total), benchDistricts[0]
		for _, dd := range benchDistricts {
			if x < dd.weight {
				d = dd
				break
			}
			x -= dd.weight
		}
		cum += math.Exp(rng.NormFloat64() * 0.8) // some cameras are much busier than others
		dev := benchDevice{
			division:   d.code,
			lon:        d.lon + (rng.Float64()-0.5)*0.16,
			lat:        d.lat + (rng.Float64()-0.5)*0.12,
			checkpoint: rng.Float64() < 0.35,
			activity:   cum,
		}
		// GB/T 28181: center code (district + 00), industry, type, network, serial
		dev.id = d.code + "00" + "05" + "121" + "0" + fmt.Sprintf("%06d", i+1) // traffic checkpoint, video checkpoint
		if !dev.checkpoint {
			dev.id = d.code + "00" + "00" + "132" + "0" + fmt.Sprintf("%06d", i+1) // public-security road camera, IPC
		}
		dev.granted = strings.HasPrefix(d.code, "4403") && i%50 == 0
		c.devices = append(c.devices, dev)
	}
	for range vehicles {
		v := benchVehicle{plateColor: "5", color: vehColors[rng.IntN(len(vehColors))], class: vehClasses[rng.IntN(len(vehClasses))]}
		prov := provinces[rng.IntN(len(provinces))]
		city := string(plateLetter[rng.IntN(len(plateLetter))])
		if prov == "粤" && rng.Float64() < 0.6 {
			city = []string{"B", "N"}[rng.IntN(2)] // Shenzhen, Shanwei
		}
		var tail []byte
		switch p := rng.Float64(); {
		case p < 0.12: // new energy: D/F and five digits, green plate
			v.plateColor = "9"
			tail = append(tail, "DF"[rng.IntN(2)])
			for range 5 {
				tail = append(tail, byte('0'+rng.IntN(10)))
			}
		default:
			for range 5 {
				tail = append(tail, byte('0'+rng.IntN(10)))
			}
			if rng.Float64() < 0.3 { // one letter somewhere
				tail[rng.IntN(5)] = plateLetter[rng.IntN(len(plateLetter))]
			}
			switch q := rng.Float64(); {
			case q < 0.07:
				v.plateColor = "6" // yellow: large vehicles
			case q < 0.08:
				v.plateColor = "2"
			case q < 0.09:
				v.plateColor = "1"
			}
		}
		v.plate = prov + city + string(tail)
		c.vehicles = append(c.vehicles, v)
	}
	return c
}

// vehicle picks a vehicle, skewed: a few are seen every day, most rarely.
func (c *benchCity) vehicle(rng *rand.Rand) benchVehicle {
	return c.vehicles[int(float64(len(c.vehicles))*math.Pow(rng.Float64(), 2.5))]
}

func (c *benchCity) device(rng *rand.Rand) *benchDevice {
	x := rng.Float64() * c.devices[len(c.devices)-1].activity
	i, _ := slices.BinarySearchFunc(c.devices, x, func(d benchDevice, x float64) int {
		if d.activity < x {
			return -1
		}
		return 1
	})
	return &c.devices[min(i, len(c.devices)-1)]
}

// benchRow is one generated record with its search columns.
type benchRow struct {
	Record
	f searchFields
}

// row generates record number i of n (i makes its ID unique). Records arrive as
// they are captured: record i is shot at i/n of the month, give or take two minutes
// (late uploads), so the table's physical order follows shot time as in production.
func (c *benchCity) row(rng *rand.Rand, i, n int64) benchRow {
	d := c.device(rng)
	month := int64(benchDays * 24 * time.Hour)
	shot := c.end.Add(time.Duration(-month + month/n*i - rng.Int64N(int64(2*time.Minute))))
	shot = shot.Truncate(time.Millisecond)
	var typ, sub string
	p := rng.Float64()
	switch {
	case d.checkpoint && p < 0.90, !d.checkpoint && p < 0.15:
		typ, sub = "MotorVehicle", "02"
	case d.checkpoint && p < 0.95, !d.checkpoint && p < 0.23:
		typ, sub = "NonMotorVehicle", "03"
	case d.checkpoint, p < 0.68:
		typ, sub = "Face", "06"
	default:
		typ, sub = "Person", "01"
	}
	owner := "police_sw"
	if strings.HasPrefix(d.division, "4403") {
		owner = "police_sz"
	}
	dept, grant := owner, ""
	switch {
	case typ == "MotorVehicle" && d.checkpoint:
		dept = "traffic"
	case d.division == "441502" && rng.Float64() < 0.3:
		dept = "market"
	case d.granted && rng.Float64() < 0.3:
		dept, grant = "police_sw", "G-sw-sz"
	}
	local := shot.In(benchLoc)
	ts := local.Format("20060102150405")
	src := d.id + "02" + ts + fmt.Sprintf("%05d", i%100000)
	id := src + sub + fmt.Sprintf("%05d", (i/100000)%100000)
	day := local.Format("20060102")
	keys := []string{"snapshots/" + d.id + "/" + day + "/" + id + "-v1-scene.jpg", "snapshots/" + d.id + "/" + day + "/" + id + "-v1-crop.jpg"}
	r := benchRow{Record: Record{ID: id, Type: typ, DeviceID: d.id, TaskID: "task-" + dept + "-" + strings.ToLower(typ), DeptID: dept, Division: d.division,
		GrantID: grant, TrackKey: id, ShotTime: shot, Score: 0.5 + rng.Float64()/2, Images: keys, Longitude: d.lon, Latitude: d.lat,
		CreatedAt: shot.Add(2 * time.Second), UpdatedAt: shot.Add(2 * time.Second)}}
	var b []byte
	x1, y1 := rng.IntN(1500), rng.IntN(800)
	box := fmt.Sprintf(`"LeftTopX":%d,"LeftTopY":%d,"RightBtmX":%d,"RightBtmY":%d`, x1, y1, x1+80+rng.IntN(300), y1+80+rng.IntN(300))
	images := fmt.Sprintf(`"SubImageList":{"SubImageInfoObject":[{"ImageID":%q,"EventSort":%d,"DeviceID":%q,"StoragePath":"s3://cityeye/%s","Type":"14","FileFormat":"Jpeg","ShotTime":%q,"Width":1920,"Height":1080},`+
		`{"ImageID":"%s","EventSort":%d,"DeviceID":%q,"StoragePath":"s3://cityeye/%s","Type":"%s","FileFormat":"Jpeg","ShotTime":%q,"Width":%d,"Height":%d}]}`,
		src, 12, d.id, keys[0], ts, src[:36]+fmt.Sprintf("%05d", (i+1)%100000), 12, d.id, keys[1], map[string]string{"02": "09", "03": "12", "06": "11", "01": "10"}[sub], ts, 100+rng.IntN(300), 100+rng.IntN(300))
	switch typ {
	case "MotorVehicle":
		v := c.vehicle(rng)
		plate := ""
		if rng.Float64() < 0.97 { // 3% unreadable plates
			plate = fmt.Sprintf(`"HasPlate":true,"PlateClass":"02","PlateColor":%q,"PlateNo":%q,"PlateReliability":%d,`, v.plateColor, v.plate, 80+rng.IntN(20))
			r.f.PlateNo, r.f.PlateColor = v.plate, v.plateColor
		} else {
			plate = `"HasPlate":false,`
		}
		r.f.VehicleColor, r.f.VehicleClass = v.color, v.class
		b = fmt.Appendf(b, `{"MotorVehicleID":%q,"InfoKind":1,"SourceID":%q,"DeviceID":%q,"StorageUrl1":"s3://cityeye/%s","StorageUrl3":"s3://cityeye/%s",%s,"MarkTime":%q,"AppearTime":%q,%s"Speed":%d,"VehicleClass":%q,"VehicleColor":%q,"PassTime":%q,%s}`,
			id, src, d.id, keys[1], keys[0], box, ts, ts, plate, 20+rng.IntN(60), v.class, v.color, ts, images)
	case "NonMotorVehicle":
		b = fmt.Appendf(b, `{"NonMotorVehicleID":%q,"InfoKind":1,"SourceID":%q,"DeviceID":%q,%s,"MarkTime":%q,"AppearTime":%q,"HasPlate":false,%s}`, id, src, d.id, box, ts, ts, images)
	case "Face":
		b = fmt.Appendf(b, `{"FaceID":%q,"InfoKind":1,"SourceID":%q,"DeviceID":%q,%s,"FaceAppearTime":%q,"ShotTime":%q,`+faceAttrs(rng, &r)+`"IsDriver":2,"IsForeigner":2,"IsSuspectedTerrorist":2,"IsCriminalInvolved":2,"IsDetainees":2,"IsVictim":2,"IsSuspiciousPerson":2,%s}`,
			id, src, d.id, box, ts, ts, images)
	default:
		b = fmt.Appendf(b, `{"PersonID":%q,"InfoKind":1,"SourceID":%q,"DeviceID":%q,%s,"PersonAppearTime":%q,"ShotTime":%q,`+personAttrs(rng, &r)+`"IsDriver":2,"IsForeigner":2,"IsSuspectedTerrorist":2,"IsCriminalInvolved":2,"IsDetainees":2,"IsVictim":2,"IsSuspiciousPerson":2,%s}`,
			id, src, d.id, box, ts, ts, images)
	}
	r.Body = b
	return r
}

var benchLoc = time.FixedZone("CST", 8*3600)

var benchCopyCols = []string{"id", "type", "device_id", "task_id", "dept_id", "admin_division", "grant_id", "track_key", "shot_time", "score", "body", "images",
	"created_at", "updated_at", "plate_no", "plate_color", "vehicle_color", "vehicle_class", "longitude", "latitude",
	"coat_color", "trousers_color", "gender", "age_band"}

// copyRecords writes rows with COPY on one connection, in transactions of len(rows),
// and adds their plates to the plate dictionary, as a bulk writer must.
func copyRecords(ctx context.Context, conn *sql.Conn, rows []benchRow) error {
	var plates []string
	for _, r := range rows {
		if r.f.PlateNo != "" {
			plates = append(plates, r.f.PlateNo)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO plates SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING`, plates); err != nil {
		return err
	}
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		i := -1
		vals := make([]any, len(benchCopyCols))
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"records"}, benchCopyCols, pgx.CopyFromFunc(func() ([]any, error) {
			if i++; i == len(rows) {
				return nil, nil
			}
			r := rows[i]
			imgs := `["` + strings.Join(r.Images, `","`) + `"]`
			vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7] = r.ID, r.Type, r.DeviceID, r.TaskID, r.DeptID, r.Division, r.GrantID, r.TrackKey
			vals[8], vals[9], vals[10], vals[11], vals[12], vals[13] = ms(r.ShotTime), r.Score, string(r.Body), imgs, ms(r.CreatedAt), ms(r.UpdatedAt)
			vals[14], vals[15], vals[16], vals[17], vals[18], vals[19] = r.f.PlateNo, r.f.PlateColor, r.f.VehicleColor, r.f.VehicleClass, r.Longitude, r.Latitude
			vals[20], vals[21], vals[22], vals[23] = r.f.CoatColor, r.f.TrousersColor, r.f.Gender, r.f.AgeBand
			return vals, nil
		}))
		return err
	})
}

// ---- the run ----

type benchQuery struct {
	name, what string
	target     time.Duration // p95 target; 0: none stated
	gen        func(rng *rand.Rand) SearchQuery
}

func runSearchBench(b *testing.B, n, runs, writers int) {
	ctx := context.Background()
	var report strings.Builder
	say := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		fmt.Fprintln(os.Stdout, line)
		report.WriteString(line + "\n")
	}
	host, _ := os.Hostname()
	cpu := "?"
	if out, err := exec.Command("sh", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'").Output(); err == nil {
		cpu = strings.TrimSpace(string(out))
	}
	mem := "?"
	if out, err := exec.Command("sh", "-c", "free -g | awk '/Mem:/{print $2}'").Output(); err == nil {
		mem = strings.TrimSpace(string(out)) + " GiB"
	}
	say("# search benchmark: %d records, %s", n, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	say("")
	say("- machine: %s (%s), %d cores visible to Go, RAM %s, %s", host, cpu, runtime.NumCPU(), mem, runtime.Version())

	dsn := services.Postgres(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	durablePostgres(b, admin)
	var version, sharedBuffers string
	admin.QueryRowContext(ctx, "SHOW server_version").Scan(&version)
	admin.QueryRowContext(ctx, "SHOW shared_buffers").Scan(&sharedBuffers)
	say("- PostgreSQL %s (services.Postgres test cluster: shared_buffers %s, wal_level minimal, autovacuum off; set for the run: fsync, synchronous_commit, full_page_writes on, max_wal_size 8GB)", version, sharedBuffers)

	db, err := OpenPostgres(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var trgm int
	db.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname='plates_trgm'`).Scan(&trgm)
	say("- plate trigram index: %v", trgm == 1)

	end := time.Now().UTC().Truncate(time.Hour)
	city := newBenchCity(2000, 400_000, end)
	if _, err := db.db.ExecContext(ctx, `INSERT INTO applications (id, device_id, dept_id, owner_dept, reason, rights, algorithms, starts_at, ends_at, deadline, state, created_by, decided_by, decided_at, note, reminded_at, withdrawn_at, withdrawn_by, created_at)
		VALUES ('G-sw-sz', '', 'police_sw', 'police_sz', 'bench', '["records","snapshots"]', '[]', $1, $2, $1, 'approved', 'b', 'b', $1, '', 0, 0, '', $1)`,
		ms(end.Add(-40*24*time.Hour)), ms(end.Add(24*time.Hour))); err != nil {
		b.Fatal(err)
	}
	say("- data: %d cameras in %d districts (35%% vehicle checkpoints), %d days ending %s, %d distinct vehicles (skewed sightings), 4 departments",
		len(city.devices), len(benchDistricts), benchDays, end.Format(time.RFC3339), len(city.vehicles))
	say("")

	// 1. The month: COPY, writers in parallel, 10,000 records a transaction. All but
	// the last 5% are loaded with the records indexes dropped and rebuilt afterwards
	// (how a month is imported); the last 5% then go in with every index in place,
	// into the full table, and that is the bulk ingest rate reported.
	const batch = 10_000
	tail := int64(min(n, max(n/20, 100_000)))
	type index struct{ name, def string }
	var idx []index
	{
		rows, err := db.db.QueryContext(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename='records' AND indexname NOT IN ('records_pkey','records_track_key_key')`)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var i index
			rows.Scan(&i.name, &i.def)
			idx = append(idx, i)
		}
		rows.Close()
	}
	copyRange := func(from, to int64, seed uint64) (time.Duration, error) {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				conn, err := db.db.Conn(ctx)
				if err != nil {
					errs <- err
					return
				}
				defer conn.Close()
				rng := rand.New(rand.NewPCG(uint64(w)+seed, 7))
				rows := make([]benchRow, 0, batch)
				for i := from + int64(w); i < to; i += int64(writers) {
					rows = append(rows, city.row(rng, i, int64(n)))
					if len(rows) == batch || i+int64(writers) >= to {
						if err := copyRecords(ctx, conn, rows); err != nil {
							errs <- err
							return
						}
						rows = rows[:0]
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return time.Since(start), <-errs
	}
	for _, i := range idx {
		if _, err := db.db.ExecContext(ctx, "DROP INDEX "+i.name); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []string{"records_pkey", "records_track_key_key"} {
		if _, err := db.db.ExecContext(ctx, "ALTER TABLE records DROP CONSTRAINT "+c); err != nil {
			b.Fatal(err)
		}
	}
	load, err := copyRange(0, int64(n)-tail, 10)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("  loaded %d records without indexes in %v\n", int64(n)-tail, load.Round(time.Second))
	t0 := time.Now()
	var builds []string
	{
		conn, err := db.db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range []string{"SET maintenance_work_mem = '1GB'", "SET max_parallel_maintenance_workers = 2"} {
			if _, err := conn.ExecContext(ctx, st); err != nil {
				b.Fatal(err)
			}
		}
		for _, i := range append([]index{{"records_pkey", "ALTER TABLE records ADD PRIMARY KEY (id)"}, {"records_track_key_key", "ALTER TABLE records ADD UNIQUE (track_key)"}}, idx...) {
			t := time.Now()
			if _, err := conn.ExecContext(ctx, i.def); err != nil {
				b.Fatal(i.def, err)
			}
			builds = append(builds, fmt.Sprintf("%s %.0fs", i.name, time.Since(t).Seconds()))
			fmt.Printf("  built %s in %v\n", i.name, time.Since(t).Round(time.Second))
		}
		conn.Close()
	}
	build := time.Since(t0)
	t0 = time.Now()
	if _, err := db.db.ExecContext(ctx, "VACUUM (ANALYZE) records"); err != nil {
		b.Fatal(err)
	}
	vacuum := time.Since(t0)
	bulk, err := copyRange(int64(n)-tail, int64(n), 20)
	if err != nil {
		b.Fatal(err)
	}
	bulkRate := float64(tail) / bulk.Seconds()
	if _, err := db.db.ExecContext(ctx, "ANALYZE records, plates"); err != nil {
		b.Fatal(err)
	}
	var tableSize, indexSize string
	db.db.QueryRowContext(ctx, `SELECT pg_size_pretty(pg_table_size('records')), pg_size_pretty(pg_indexes_size('records'))`).Scan(&tableSize, &indexSize)
	var sizes []string
	{
		rows, _ := db.db.QueryContext(ctx, `SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes WHERE relname='records' ORDER BY pg_relation_size(indexrelid) DESC`)
		for rows.Next() {
			var a, s string
			rows.Scan(&a, &s)
			sizes = append(sizes, a+" "+s)
		}
		rows.Close()
	}

	// 2. The store's write path, one transaction per operation and in group commit.
	writes := writeRates(b, dsn, db, city, int64(n), 20*time.Second)

	say("## Ingest")
	say("")
	say("| path | records/s | target 5,000/s | ratio |")
	say("| --- | ---: | ---: | ---: |")
	say("| bulk COPY, %d streams × %d-record transactions, the last %d records into the table at %d, all %d indexes in place | %.0f | 5000 | %.2f× |",
		writers, batch, tail, int64(n)-tail, len(idx)+2, bulkRate, bulkRate/5000)
	for _, line := range writes {
		say("%s", line)
	}
	say("")
	say("- initial load of %d records with the indexes dropped: %v (%.0f records/s); index builds %v (%s); VACUUM (ANALYZE) %v",
		int64(n)-tail, load.Round(time.Second), float64(int64(n)-tail)/load.Seconds(), build.Round(time.Second), strings.Join(builds, ", "), vacuum.Round(time.Second))
	say("- sizes: table %s, indexes %s (%s)", tableSize, indexSize, strings.Join(sizes, ", "))
	say("")

	// 3. Queries.
	rngDept := func(rng *rand.Rand) auth.Scope {
		return benchScopes[[]string{"police_sw", "police_sz", "traffic", "market"}[rng.IntN(4)]]
	}
	ownerScope := func(d *benchDevice) auth.Scope {
		if strings.HasPrefix(d.division, "4403") {
			return benchScopes["police_sz"]
		}
		return benchScopes["police_sw"]
	}
	vehScope := func(rng *rand.Rand) auth.Scope {
		if rng.Float64() < 0.7 {
			return benchScopes["traffic"]
		}
		return benchScopes[[]string{"police_sw", "police_sz"}[rng.IntN(2)]]
	}
	windowEnd := func(rng *rand.Rand, span time.Duration) time.Time {
		return end.Add(-time.Duration(rng.Int64N(int64(benchDays*24*time.Hour - span))))
	}
	month := func(q SearchQuery) SearchQuery { q.From, q.To = end.Add(-benchDays*24*time.Hour), end; return q }
	queries := []benchQuery{
		{"plate exact", "a sighted plate over the whole month (traffic 70%, police 30%)", 50 * time.Millisecond, func(rng *rand.Rand) SearchQuery {
			return month(SearchQuery{Plate: city.vehicle(rng).plate, Scope: vehScope(rng)})
		}},
		{"plate partial", "4 characters of a sighted plate's letters/digits, whole month", 50 * time.Millisecond, func(rng *rand.Rand) SearchQuery {
			p := []rune(city.vehicle(rng).plate)[1:] // drop the province character
			i := rng.IntN(len(p) - 3)
			return month(SearchQuery{PlatePart: strings.ToLower(string(p[i : i+4])), Scope: vehScope(rng)})
		}},
		{"device + 1 h", "a camera (busy ones likelier), a random hour of the month, its owner's scope", 50 * time.Millisecond, func(rng *rand.Rand) SearchQuery {
			d := city.device(rng)
			to := windowEnd(rng, time.Hour)
			return SearchQuery{DeviceIDs: []string{d.id}, From: to.Add(-time.Hour), To: to, Scope: ownerScope(d)}
		}},
		{"area + 24 h", "a district (6 digits) or a city (441500/440300), a random day, police of that city", 0, func(rng *rand.Rand) SearchQuery {
			d := benchDistricts[rng.IntN(len(benchDistricts))]
			area := d.code
			if rng.IntN(2) == 0 {
				area = d.code[:4] + "00"
			}
			sc := benchScopes["police_sw"]
			if strings.HasPrefix(d.code, "4403") {
				sc = benchScopes["police_sz"]
			}
			to := windowEnd(rng, 24*time.Hour)
			return SearchQuery{Area: area, From: to.Add(-24 * time.Hour), To: to, Scope: sc}
		}},
		{"bbox + 24 h", "a ~2 km square around a camera, a random day, its owner's scope", 0, func(rng *rand.Rand) SearchQuery {
			d := city.device(rng)
			to := windowEnd(rng, 24*time.Hour)
			return SearchQuery{BBox: &BBox{d.lon - 0.01, d.lat - 0.01, d.lon + 0.01, d.lat + 0.01}, From: to.Add(-24 * time.Hour), To: to, Scope: ownerScope(d)}
		}},
		{"type + 24 h", "one object type, a random day, a random department", 0, func(rng *rand.Rand) SearchQuery {
			to := windowEnd(rng, 24*time.Hour)
			return SearchQuery{Types: []string{[]string{"Face", "Person", "MotorVehicle", "NonMotorVehicle"}[rng.IntN(4)]}, From: to.Add(-24 * time.Hour), To: to, Scope: rngDept(rng)}
		}},
		{"department + 24 h", "no filter but the scope, a random day, a random department", 0, func(rng *rand.Rand) SearchQuery {
			to := windowEnd(rng, 24*time.Hour)
			return SearchQuery{From: to.Add(-24 * time.Hour), To: to, Scope: rngDept(rng)}
		}},
		{"plate colour + class + 24 h", "green plates of small cars (K33) in a city, a random day", 0, func(rng *rand.Rand) SearchQuery {
			to := windowEnd(rng, 24*time.Hour)
			return SearchQuery{PlateColor: "9", VehicleClass: "K33", From: to.Add(-24 * time.Hour), To: to, Scope: vehScope(rng)}
		}},
		{"plate exact, page 2", "as plate exact, the page after the first 50 (cursor)", 50 * time.Millisecond, nil},
	}
	queries = append(queries, attrQueries(windowEnd)...)
	say("## Queries (%d runs each, random parameters, page of 50, department scope)", runs)
	say("")
	say("| query | p50 ms | p95 ms | max ms | mean rows | p95 target | p95 / target |")
	say("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	plans := map[string]string{}
	for qi, bq := range queries {
		rng := rand.New(rand.NewPCG(uint64(qi)+1000, 3))
		var lat []time.Duration
		rowsSeen := 0
		for run := range runs {
			var q SearchQuery
			if bq.gen == nil { // page 2 of a plate search: the busiest plates have one
				q = queries[0].gen(rng)
				q.Plate = city.vehicles[rng.IntN(200)].plate
				first, err := db.SearchRecords(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				q.Cursor = first.NextCursor
				if q.Cursor == "" {
					continue
				}
			} else {
				q = bq.gen(rng)
			}
			if run == 0 {
				plans[bq.name] = explain(ctx, b, db, q)
			}
			t := time.Now()
			p, err := db.SearchRecords(ctx, q)
			lat = append(lat, time.Since(t))
			if err != nil {
				b.Fatalf("%s: %v", bq.name, err)
			}
			rowsSeen += len(p.Records)
		}
		if len(lat) == 0 {
			say("| %s | – | – | – | – | – | no second pages |", bq.name)
			continue
		}
		slices.Sort(lat)
		p50, p95, mx := lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1]
		ratio, target := "–", "–"
		if bq.target > 0 {
			target = fmt.Sprintf("%d", bq.target.Milliseconds())
			ratio = fmt.Sprintf("%.2f", float64(p95)/float64(bq.target))
		}
		say("| %s | %.1f | %.1f | %.1f | %.1f | %s | %s |", bq.name, msf(p50), msf(p95), msf(mx), float64(rowsSeen)/float64(len(lat)), target, ratio)
	}
	say("")
	say("Query parameters:")
	say("")
	for _, bq := range queries {
		say("- %s: %s", bq.name, bq.what)
	}
	say("")
	say("## Plans (EXPLAIN ANALYZE of the first run of each query)")
	say("")
	for _, bq := range queries {
		if plans[bq.name] == "" {
			continue
		}
		say("%s:", bq.name)
		say("")
		say("```")
		say("%s", plans[bq.name])
		say("```")
		say("")
	}
	if path := os.Getenv("CITYEYE_BENCH_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(report.String()), 0o644); err != nil {
			b.Error(err)
		}
	}
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// explain returns the plan of the query SearchRecords runs for q, with timings.
func explain(ctx context.Context, b *testing.B, db *DB, q SearchQuery) string {
	query, args, _, err := searchSQL(q, true)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := db.db.QueryContext(ctx, db.q("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+query), args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		rows.Scan(&l)
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}
