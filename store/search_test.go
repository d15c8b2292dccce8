package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/testdata/services"
)

func TestExtractSearch(t *testing.T) {
	for _, c := range []struct {
		body string
		want searchFields
	}{
		{`{"MotorVehicleID":"x","PlateNo":"粤B12345","PlateColor":"5","VehicleColor":"2","VehicleClass":"K33"}`, searchFields{PlateNo: "粤B12345", PlateColor: "5", VehicleColor: "2", VehicleClass: "K33"}},
		// numbers where strings are expected, lower case, separators, full-width
		{`{"PlateNo":" 粤b·d 1234５ ","PlateColor":5,"VehicleColor":"09","VehicleClass":"k33"}`, searchFields{PlateNo: "粤BD12345", PlateColor: "5", VehicleColor: "9", VehicleClass: "K33"}},
		// one malformed field costs that field only
		{`{"PlateNo":{"x":1},"PlateColor":"6","VehicleColor":[1],"VehicleClass":"H11"}`, searchFields{PlateColor: "6", VehicleClass: "H11"}},
		{`{"FaceID":"y","HairColor":"1"}`, searchFields{}},
		// person and face attributes: colour codes as vehicles, gender 1/2 only, the age
		// range's midpoint decade; one limit alone stands for the estimate
		{`{"PersonID":"p","CoatColor":"04","TrousersColor":1,"GenderCode":2}`, searchFields{CoatColor: "4", TrousersColor: "1", Gender: "2"}},
		{`{"FaceID":"f","GenderCode":"1","AgeLowerLimit":"28","AgeUpLimit":38}`, searchFields{Gender: "1", AgeBand: "30"}},
		{`{"FaceID":"f","GenderCode":9,"AgeLowerLimit":95,"AgeUpLimit":105}`, searchFields{AgeBand: "90"}},
		{`{"FaceID":"f","GenderCode":"0","AgeUpLimit":12}`, searchFields{AgeBand: "10"}},
		{`{"FaceID":"f","GenderCode":[1],"AgeLowerLimit":40,"AgeUpLimit":30}`, searchFields{}}, // malformed gender, inverted range

		{`not json`, searchFields{}},
		{``, searchFields{}},
	} {
		if got := extractSearch([]byte(c.body)); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.body, got, c.want)
		}
	}
}

func TestCursorRoundTripAndRejects(t *testing.T) {
	c := searchCursor{Shot: 1764000000123, ID: "44150200001320000001022026112208000000001021", From: 1763900000000}
	got, err := decodeCursor(c.encode())
	if err != nil || got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"!!", "eA", c.encode()[:10], "MTp4Onk6eg"} { // "1:x:y:z"
		if _, err := decodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
	if hi, ok := nextDigits("4419"); !ok || hi != "4420" {
		t.Errorf("nextDigits 4419: %s %v", hi, ok)
	}
	if _, ok := nextDigits("99"); ok {
		t.Error("nextDigits 99 has no successor")
	}
}

// searchFixture is a small city: two districts of Shanwei (441502, 441581) and one of
// Shenzhen (440305), a camera in each, and records of three departments.
type searchFixture struct {
	db   *DB
	base time.Time
	recs []Record
}

var searchCams = []struct {
	id, division string
	lon, lat     float64
}{
	{"44150200001320000001", "441502", 115.37, 22.78},
	{"44158100001320000002", "441581", 115.65, 22.95},
	{"44030500001320000003", "440305", 113.93, 22.53},
}

func vehicleBody(plate, plateColor, color, class string) string {
	return fmt.Sprintf(`{"MotorVehicleID":"x","InfoKind":1,"HasPlate":true,"PlateNo":%q,"PlateColor":%q,"VehicleColor":%q,"VehicleClass":%q}`, plate, plateColor, color, class)
}

func newSearchFixture(t *testing.T, db *DB) *searchFixture {
	t.Helper()
	f := &searchFixture{db: db, base: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)} // well outside the default window
	plates := []struct{ no, pc, vc, cls string }{
		{"粤B12345", "5", "2", "K33"}, {"粤N5A123", "5", "1", "K33"}, {"粤N12399", "9", "2", "K31"},
		{"湘A00001", "6", "4", "H11"}, {"粤B1%_34", "5", "2", "K33"}, // wildcards inside a plate: only a literal search finds it
	}
	n := 0
	for i := range 60 {
		cam := searchCams[i%3]
		r := Record{Type: "Face", DeviceID: cam.id, TaskID: "task-face", DeptID: "police", Division: cam.division,
			ShotTime: f.base.Add(time.Duration(i) * time.Minute), Body: []byte(`{"FaceID":"x"}`), Longitude: cam.lon, Latitude: cam.lat}
		switch {
		case i%4 == 0: // faces with a gender and an age range, some without
			r.Body = fmt.Appendf(nil, `{"FaceID":"x","GenderCode":"%d","AgeLowerLimit":%d,"AgeUpLimit":%d}`, i/12%3, 20+i/2, 30+i/2)
		case i%4 == 2: // people in coats of three colours, trousers of two
			r.Type, r.TaskID, r.Body = "Person", "task-person", fmt.Appendf(nil, `{"PersonID":"x","CoatColor":"%d","TrousersColor":"%d"}`, 3+i/2%3, 1+i/4%2)
		}
		if i%2 == 1 {
			p := plates[(i/2)%len(plates)]
			r.Type, r.TaskID, r.DeptID, r.Body = "MotorVehicle", "task-car", "traffic", []byte(vehicleBody(p.no, p.pc, p.vc, p.cls))
		}
		if cam.division == "440305" {
			r.DeptID = "water"
		}
		if i%10 == 4 {
			r.Longitude, r.Latitude = 0, 0 // no position recorded
		}
		n++
		r.ID = fmt.Sprintf("R%03d", n)
		if i%15 == 0 { // ties in shot time: the ID breaks them
			r.ShotTime = f.base.Add(time.Duration(i+1) * time.Minute)
		}
		f.save(t, r)
	}
	return f
}

func (f *searchFixture) save(t *testing.T, r Record) {
	t.Helper()
	r.TrackKey = r.ID
	if _, err := f.db.SaveRecord(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	f.recs = append(f.recs, r)
}

// want is what SearchRecords must return: the fixture's records matching, in order.
func (f *searchFixture) want(match func(r Record) bool) []string {
	var rs []Record
	for _, r := range f.recs {
		if match(r) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b Record) int {
		if c := b.ShotTime.Compare(a.ShotTime); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	ids := []string{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// all pages of a search, following cursors.
func (f *searchFixture) search(t *testing.T, q SearchQuery) []string {
	t.Helper()
	ids := []string{}
	for pages := 0; ; pages++ {
		p, err := f.db.SearchRecords(context.Background(), q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		for _, r := range p.Records {
			ids = append(ids, r.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		if pages > 100 {
			t.Fatal("cursor loops")
		}
		q.Cursor = p.NextCursor
	}
}

func plateOf(r Record) string { return extractSearch(r.Body).PlateNo }

func attrsOf(r Record) searchFields { return extractSearch(r.Body) }

func TestSearchRecords(t *testing.T) { forEachBackend(t, testSearchRecords) }

func testSearchRecords(t *testing.T, db *DB) {
	f := newSearchFixture(t, db)
	day := SearchQuery{From: f.base, To: f.base.Add(24 * time.Hour), Scope: all, Limit: 7}
	with := func(mod func(*SearchQuery)) SearchQuery { q := day; mod(&q); return q }
	for _, c := range []struct {
		name  string
		q     SearchQuery
		match func(Record) bool
	}{
		{"everything, paged by 7", day, func(Record) bool { return true }},
		{"window", with(func(q *SearchQuery) { q.From, q.To = f.base.Add(10*time.Minute), f.base.Add(20*time.Minute) }),
			func(r Record) bool {
				return !r.ShotTime.Before(f.base.Add(10*time.Minute)) && !r.ShotTime.After(f.base.Add(20*time.Minute))
			}},
		{"devices", with(func(q *SearchQuery) { q.DeviceIDs = []string{searchCams[0].id, searchCams[2].id} }),
			func(r Record) bool { return r.DeviceID != searchCams[1].id }},
		{"types", with(func(q *SearchQuery) { q.Types = []string{"MotorVehicle"} }), func(r Record) bool { return r.Type == "MotorVehicle" }},
		{"plate exact, normalised input", with(func(q *SearchQuery) { q.Plate = "粤b 12345" }), func(r Record) bool { return plateOf(r) == "粤B12345" }},
		{"plate partial, any case", with(func(q *SearchQuery) { q.PlatePart = "n5a" }), func(r Record) bool { return plateOf(r) == "粤N5A123" }},
		{"plate partial in several plates", with(func(q *SearchQuery) { q.PlatePart = "123" }), func(r Record) bool { return strings.Contains(plateOf(r), "123") }},
		{"plate partial: % is literal", with(func(q *SearchQuery) { q.PlatePart = "1%_3" }), func(r Record) bool { return plateOf(r) == "粤B1%_34" }},
		{"plate partial: _ is literal", with(func(q *SearchQuery) { q.PlatePart = "B1_" }), func(Record) bool { return false }},
		{"plate colour", with(func(q *SearchQuery) { q.PlateColor = "09" }), func(r Record) bool { return plateOf(r) == "粤N12399" }},
		{"vehicle colour and class", with(func(q *SearchQuery) { q.VehicleColor, q.VehicleClass = "2", "k33" }),
			func(r Record) bool { p := plateOf(r); return p == "粤B12345" || p == "粤B1%_34" }},
		{"task", with(func(q *SearchQuery) { q.TaskID = "task-car" }), func(r Record) bool { return r.TaskID == "task-car" }},
		{"coat colour, any code form", with(func(q *SearchQuery) { q.CoatColor = "04" }), func(r Record) bool { return attrsOf(r).CoatColor == "4" }},
		{"trousers colour in a city", with(func(q *SearchQuery) { q.TrousersColor, q.Area = "2", "441500" }),
			func(r Record) bool { return attrsOf(r).TrousersColor == "2" && strings.HasPrefix(r.Division, "4415") }},
		{"gender in a district", with(func(q *SearchQuery) { q.Gender, q.Area = "2", "441502" }),
			func(r Record) bool { return attrsOf(r).Gender == "2" && r.Division == "441502" }},
		{"gender unknown matches nothing", with(func(q *SearchQuery) { q.Gender = "0" }), func(Record) bool { return false }},
		{"age band", with(func(q *SearchQuery) { q.AgeBand = "40" }), func(r Record) bool { return attrsOf(r).AgeBand == "40" }},
		{"area: a city", with(func(q *SearchQuery) { q.Area = "441500" }), func(r Record) bool { return strings.HasPrefix(r.Division, "4415") }},
		{"area: a district", with(func(q *SearchQuery) { q.Area = "441581" }), func(r Record) bool { return r.Division == "441581" }},
		{"area: the country", with(func(q *SearchQuery) { q.Area = "000000" }), func(Record) bool { return true }},
		{"bbox around one camera", with(func(q *SearchQuery) { q.BBox = &BBox{115.3, 22.7, 115.4, 22.8} }),
			func(r Record) bool { return r.DeviceID == searchCams[0].id && r.Longitude != 0 }},
		{"bbox around zero excludes unknown positions", with(func(q *SearchQuery) { q.BBox = &BBox{-1, -1, 1, 1} }), func(Record) bool { return false }},
		{"combined", with(func(q *SearchQuery) {
			q.Area, q.Types, q.PlatePart = "441500", []string{"MotorVehicle", "Face"}, "12"
		}), func(r Record) bool {
			return strings.HasPrefix(r.Division, "4415") && strings.Contains(plateOf(r), "12")
		}},
		{"department scope", with(func(q *SearchQuery) { q.Scope = auth.Scope{Dept: "traffic", Areas: []string{"441500"}} }),
			func(r Record) bool { return r.DeptID == "traffic" && strings.HasPrefix(r.Division, "4415") }},
		{"department outside its areas sees nothing", with(func(q *SearchQuery) { q.Scope = auth.Scope{Dept: "water", Areas: []string{"441500"}} }),
			func(Record) bool { return false }},
		{"zero scope sees nothing", with(func(q *SearchQuery) { q.Scope = auth.Scope{} }), func(Record) bool { return false }},
	} {
		got := f.search(t, c.q)
		want := f.want(func(r Record) bool {
			return !r.ShotTime.Before(c.q.From) && !r.ShotTime.After(c.q.To) && c.match(r)
		})
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, want)
		}
	}
	// Positions and the extracted columns come back and are kept on update.
	p, err := db.SearchRecords(context.Background(), with(func(q *SearchQuery) { q.Plate = "粤N5A123"; q.Limit = 1 }))
	if err != nil || len(p.Records) != 1 || p.Records[0].Longitude == 0 || p.NextCursor == "" {
		t.Fatalf("%+v %v", p, err)
	}
	r := p.Records[0]
	r.Body = []byte(vehicleBody("粤N99999", "6", "1", "H11"))
	if _, err := db.SaveRecord(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if got := f.search(t, with(func(q *SearchQuery) { q.Plate, q.PlateColor = "粤N99999", "6" })); !slices.Equal(got, []string{r.ID}) {
		t.Fatalf("after update: %v", got)
	}
	if _, err := db.SearchRecords(context.Background(), SearchQuery{Scope: all, Cursor: "garbage!"}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	// No window: the last 24 hours.
	if p, err := db.SearchRecords(context.Background(), SearchQuery{Scope: all}); err != nil || len(p.Records) != 0 ||
		p.To.Sub(p.From) != DefaultSearchWindow || time.Since(p.To) > time.Minute {
		t.Fatalf("default window: %v %v %v", p.From, p.To, err)
	}
}

// A cursor keeps its place while records keep arriving: paging through a window
// while new records (newer shots, as live capture makes) are written returns every
// record that was there when the first page was taken exactly once, in order, and
// none that arrived after it.
func TestSearchCursorStableUnderInserts(t *testing.T) {
	forEachBackend(t, testSearchCursorStableUnderInserts)
}

func testSearchCursorStableUnderInserts(t *testing.T, db *DB) {
	f := newSearchFixture(t, db)
	ctx := context.Background()
	q := SearchQuery{From: f.base, Scope: all, Limit: 4} // To defaults to now: new records fall inside it
	live := func(id string) Record {
		r := Record{ID: id, Type: "Face", DeviceID: searchCams[0].id, TaskID: "t", DeptID: "police", Division: "441502",
			ShotTime: time.Now().UTC().Add(-time.Second), Body: []byte(`{}`)}
		r.TrackKey = r.ID
		return r
	}
	for i := range 6 { // some live records before the first page: they belong to the listing
		f.save(t, live(fmt.Sprintf("OLD%04d", i)))
	}
	before := f.want(func(r Record) bool { return true })
	var got []string
	first, err := db.SearchRecords(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range first.Records {
		got = append(got, r.ID)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var added atomic.Int64
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := live(fmt.Sprintf("NEW%04d", i))
			if _, err := db.SaveRecord(ctx, &r); err != nil {
				t.Error(err)
				return
			}
			added.Add(1)
		}
	})
	q.Cursor = first.NextCursor
	for q.Cursor != "" {
		time.Sleep(2 * time.Millisecond) // let inserts land between pages
		p, err := db.SearchRecords(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			got = append(got, r.ID)
		}
		q.Cursor = p.NextCursor
	}
	close(stop)
	wg.Wait()
	if added.Load() == 0 {
		t.Fatal("no concurrent inserts happened")
	}
	if !slices.Equal(got, before) {
		t.Fatalf("paging while %d records arrived:\n got %v\nwant %v", added.Load(), got, before)
	}
	t.Logf("%d pages while %d records arrived", (len(got)+3)/4, added.Load())
}

// A database from before the search columns is migrated: the columns are added, old
// records backfilled from their bodies and their cameras' positions, the indexes made.
func TestSearchColumnsMigrate(t *testing.T) {
	for _, b := range oldBackends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.dsn(t)
			// the first release's schema, and one record in it
			b.create(t, dsn, "schema-first-release",
				`INSERT INTO streams VALUES ('44150200001320000001','gate','file:///x','441502',115.37,22.78,'police',1,1,0,0)`,
				`INSERT INTO records (id, type, device_id, task_id, track_key, shot_time, score, body, images, created_at, updated_at)
					VALUES ('OLD1','MotorVehicle','44150200001320000001','t','k1',1000,0.9,'{"PlateNo":"粤n12345","PlateColor":5,"VehicleColor":"2"}','[]',0,0)`,
				`INSERT INTO records (id, type, device_id, task_id, track_key, shot_time, score, body, images, created_at, updated_at)
					VALUES ('OLD2','Face','44150200009990000009','t','k2',2000,0.9,'{}','[]',0,0)`,
			).db.Close()
			db := b.open(t, dsn)
			p, err := db.SearchRecords(ctx, SearchQuery{From: time.UnixMilli(0), To: time.UnixMilli(5000), Plate: "粤N12345", PlateColor: "5", VehicleColor: "2", Scope: all})
			if err != nil || len(p.Records) != 1 || p.Records[0].ID != "OLD1" || p.Records[0].Longitude != 115.37 {
				t.Fatalf("old record after migration: %+v %v", p.Records, err)
			}
			p, err = db.SearchRecords(ctx, SearchQuery{From: time.UnixMilli(0), To: time.UnixMilli(5000), PlatePart: "n123", Scope: all})
			if err != nil || len(p.Records) != 1 || p.Records[0].ID != "OLD1" {
				t.Fatalf("old record by plate substring after migration: %+v %v", p.Records, err)
			}
			var n int
			if err := db.db.QueryRowContext(ctx, db.q(db.dialect.indexExists()), "records_geo_time").Scan(&n); err != nil {
				t.Fatalf("index records_geo_time: %v", err)
			}
		})
	}
}

// Without the right to create pg_trgm the database still opens and substring search
// still answers, without the trigram index; the test cluster's superuser gets it.
func TestPlateTrigramOptional(t *testing.T) {
	ctx := context.Background()
	dsn := services.Postgres(t)
	super := openPostgres(t, dsn)
	var n int
	if err := super.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname='plates_trgm'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("superuser: trigram index %d %v", n, err)
	}
	// A role that may create tables in the schema but not extensions in the database.
	role := fmt.Sprintf("cityeye_app_%d", time.Now().UnixNano()%1e9)
	dsn2 := services.Postgres(t)
	admin, err := sql.Open("pgx", dsn2)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, st := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE, CREATE ON SCHEMA public TO ` + role,
	} {
		if _, err := admin.ExecContext(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		a, _ := sql.Open("pgx", dsn2)
		defer a.Close()
		for _, st := range []string{`REASSIGN OWNED BY ` + role + ` TO postgres`, `DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := a.ExecContext(context.Background(), st); err != nil {
				t.Logf("%s: %v", st, err)
			}
		}
	})
	db, err := OpenPostgres(ctx, strings.Replace(dsn2, "postgres@", role+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname='plates_trgm'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("no CREATE on the database, yet a trigram index: %d %v", n, err)
	}
	f := newSearchFixture(t, db)
	got := f.search(t, SearchQuery{From: f.base, To: f.base.Add(time.Hour), PlatePart: "5a1", Scope: all})
	if want := f.want(func(r Record) bool { return plateOf(r) == "粤N5A123" }); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("substring search without trigrams: %v, want %v", got, want)
	}
}
