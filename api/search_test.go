package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
)

// searchFixture is the API fixture serving GET /api/v1/search, with records of three
// departments on the fixture's cameras, all shot in the last 24 hours.
type searchFixture struct {
	*fixture
	recs []store.Record
}

// positions of the fixture's cameras (cameras in authz_test.go)
var camPos = map[string][2]float64{
	cameras[0].id: {115.37, 22.78}, cameras[1].id: {115.38, 22.79}, cameras[2].id: {115.64, 22.95}, cameras[3].id: {113.93, 22.53},
}

func newSearchFixture(t *testing.T) *searchFixture {
	f := &searchFixture{fixture: newFixture(t)}
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	f.url = ts.URL
	plates := []string{"粤B12345", "粤N5A123", "湘A00001"}
	for i := range 30 {
		cam := cameras[i%4]
		dept := cam.owner
		if i%6 == 5 {
			dept = "market" // market's own task on the police's unconditionally shared camera
			cam = cameras[1]
		}
		typ, body := "Face", fmt.Sprintf(`{"FaceID":"x","GenderCode":%d,"AgeLowerLimit":%d,"AgeUpLimit":%d}`, 1+i/8%2, 25+i, 35+i)
		if i%8 == 1 {
			typ, body = "Person", fmt.Sprintf(`{"PersonID":"x","CoatColor":"%d","TrousersColor":"1"}`, 4+i%3)
		}
		if i%2 == 0 {
			typ = "MotorVehicle"
			body = fmt.Sprintf(`{"MotorVehicleID":"x","PlateNo":%q,"PlateColor":"%d","VehicleColor":"2","VehicleClass":"K33"}`, plates[(i/2)%3], 5+(i/2)%2)
		}
		f.save(t, dept, cam, typ, body, f.now.Add(-time.Duration(30-i)*time.Minute), i)
	}
	return f
}

func (f *searchFixture) save(t *testing.T, dept string, cam camera, typ, body string, shot time.Time, serial int) store.Record {
	t.Helper()
	r := f.record(t, dept, cam, typ, body, shot, serial)
	if _, err := f.db.SaveRecord(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	f.recs = append(f.recs, r)
	return r
}

// record builds a record (and stores the first one's snapshot).
func (f *searchFixture) record(t *testing.T, dept string, cam camera, typ, body string, shot time.Time, serial int) store.Record {
	t.Helper()
	sub := gat1400.SubtypeFace
	if typ == "MotorVehicle" {
		sub = gat1400.SubtypeMotorVehicle
	}
	id := gat1400.ContentID(gat1400.SourceID(cam.id, gat1400.SourceImage, shot, serial%100000), sub, 1)
	key := "snapshots/" + cam.id + "/" + shot.Format("20060102") + "/" + id + "-v1-scene.jpg"
	if len(f.recs) == 0 { // one real image, to fetch through the URL search returns
		img, err := os.ReadFile(testdata.Media(t, "grace_hopper_512x512.jpg"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.objs.Put(context.Background(), key, img, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
	}
	pos := camPos[cam.id]
	return store.Record{ID: id, Type: typ, DeviceID: cam.id, TaskID: "task-" + dept, DeptID: dept, Division: cam.division, TrackKey: id,
		ShotTime: shot, Body: []byte(body), Images: []string{key}, Longitude: pos[0], Latitude: pos[1]}
}

// want lists the IDs of the fixture's records that match, newest first.
func (f *searchFixture) want(match func(store.Record) bool) []string {
	var rs []store.Record
	for _, r := range f.recs {
		if match(r) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b store.Record) int {
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

// search follows next_cursor to the end and returns every record ID, in order.
func (f *searchFixture) search(t *testing.T, user, query string) []string {
	t.Helper()
	ids := []string{}
	cursor := ""
	for pages := 0; pages < 100; pages++ {
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		out := f.must("GET", "/api/v1/search?"+q, user, "", 200)
		for _, r := range out["records"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		if cursor, _ = out["next_cursor"].(string); cursor == "" {
			return ids
		}
	}
	t.Fatal("cursor loops")
	return nil
}

func plateIn(r store.Record, plates ...string) bool {
	for _, p := range plates {
		if strings.Contains(string(r.Body), `"PlateNo":"`+p+`"`) {
			return true
		}
	}
	return false
}

// faceAttrs are the gender and age range of a fixture's face.
type faceAttrs struct{ gender, lo, up int }

func attrs(r store.Record) faceAttrs {
	var a struct{ GenderCode, AgeLowerLimit, AgeUpLimit int }
	_ = json.Unmarshal(r.Body, &a)
	return faceAttrs{a.GenderCode, a.AgeLowerLimit, a.AgeUpLimit}
}

func TestSearchFilters(t *testing.T) {
	f := newSearchFixture(t)
	police := func(r store.Record) bool { return r.DeptID == "police" }
	for _, c := range []struct {
		name, user, query string
		match             func(store.Record) bool
	}{
		{"default window, the caller's records", "police_op", "limit=4", police},
		{"type", "police_op", "type=MotorVehicle&limit=3", func(r store.Record) bool { return police(r) && r.Type == "MotorVehicle" }},
		{"plate exact, any case and spacing", "police_op", "plate=" + url.QueryEscape("粤b 12345"), func(r store.Record) bool { return police(r) && plateIn(r, "粤B12345") }},
		{"plate partial", "police_op", "plate_part=5a1", func(r store.Record) bool { return police(r) && plateIn(r, "粤N5A123") }},
		{"plate partial in several plates", "police_op", "plate_part=123", func(r store.Record) bool { return police(r) && plateIn(r, "粤N5A123", "粤B12345") }},
		{"plate colour and vehicle class", "police_op", "plate_color=6&vehicle_class=k33",
			func(r store.Record) bool { return police(r) && strings.Contains(string(r.Body), `"PlateColor":"6"`) }},
		{"person colours, any code form", "admin", "coat_color=05&trousers_color=1",
			func(r store.Record) bool { return strings.Contains(string(r.Body), `"CoatColor":"5"`) }},
		{"gender and age decade", "admin", "gender=2&age=40",
			func(r store.Record) bool {
				f := attrs(r)
				return r.Type == "Face" && f.gender == 2 && (f.lo+f.up)/2/10 == 4
			}},
		{"cameras", "police_op", "device_id=" + cameras[0].id + "," + cameras[2].id + "&device_id=" + cameras[3].id,
			func(r store.Record) bool { return police(r) && r.DeviceID != cameras[1].id }},
		{"bbox around the first two cameras", "police_op", "bbox=115.36,22.77,115.385,22.795",
			func(r store.Record) bool {
				return police(r) && (r.DeviceID == cameras[0].id || r.DeviceID == cameras[1].id)
			}},
		{"area: a district", "police_op", "area=441502", police},
		{"area: elsewhere", "police_op", "area=440300", func(store.Record) bool { return false }},
		{"window", "police_op", "from=" + url.QueryEscape(f.now.Add(-10*time.Minute).Format(time.RFC3339)) + "&to=" + f.now.Add(-5*time.Minute).In(gat1400.Location).Format("20060102150405"),
			func(r store.Record) bool {
				return police(r) && !r.ShotTime.Before(f.now.Add(-10*time.Minute)) && !r.ShotTime.After(f.now.Add(-5*time.Minute))
			}},
		{"task", "admin", "task_id=task-market", func(r store.Record) bool { return r.DeptID == "market" }},
		{"the platform office sees every department", "admin", "type=Face", func(r store.Record) bool { return r.Type == "Face" }},
	} {
		if got, want := f.search(t, c.user, c.query), f.want(c.match); !slices.Equal(got, want) {
			t.Errorf("%s (%s):\n got %v\nwant %v", c.name, c.query, got, want)
		}
	}

	// A hit carries its snapshots' keys and URLs; the URL serves the image (watermarked).
	out := f.must("GET", "/api/v1/search?plate=粤B12345&limit=1", "police_op", "", 200)
	hit := out["records"].([]any)[0].(map[string]any)
	snaps := hit["snapshots"].([]any)
	if len(snaps) != 1 || hit["longitude"] == nil || out["next_cursor"] == "" || out["limit"] != 1.0 {
		t.Fatalf("hit: %v", out)
	}
	first := f.recs[0]
	at := url.QueryEscape(first.ShotTime.Format(time.RFC3339))
	out = f.must("GET", "/api/v1/search?device_id="+first.DeviceID+"&from="+at+"&to="+at, "admin", "", 200)
	snap := out["records"].([]any)[0].(map[string]any)["snapshots"].([]any)[0].(map[string]any)
	if snap["key"] != first.Images[0] || snap["url"] != "/api/v1/objects/"+first.Images[0] {
		t.Fatalf("snapshot ref: %v", snap)
	}
	f.must("GET", snap["url"].(string), "admin", "", 200)

	// Searches are audited, with the query.
	audit := f.must("GET", "/api/v1/audit?action=record.search", "admin", "", 200)
	if n := len(audit["entries"].([]any)); n < 10 {
		t.Fatalf("%d record.search audit entries", n)
	}
}

// What a department sees is what its scope allows, whatever it asks for; outside
// the readers nobody may search.
func TestSearchScope(t *testing.T) {
	f := newSearchFixture(t)
	for _, c := range []struct {
		user string
		see  func(store.Record) bool
	}{
		{"police_op", func(r store.Record) bool { return r.DeptID == "police" && strings.HasPrefix(r.Division, "4415") }},
		{"market_analyst", func(r store.Record) bool { return r.DeptID == "market" }},
		{"market_sub", func(r store.Record) bool { return r.DeptID == "market" }},
		{"water_op", func(r store.Record) bool { return r.DeptID == "water" }},
		{"admin", func(store.Record) bool { return true }},
	} {
		for _, q := range []string{"limit=1000", "device_id=" + cameras[1].id, "area=000000", "bbox=100,10,130,40", "plate_part=123"} {
			want := f.want(c.see)
			if strings.HasPrefix(q, "device_id") {
				want = f.want(func(r store.Record) bool { return c.see(r) && r.DeviceID == cameras[1].id })
			}
			if q == "plate_part=123" {
				want = f.want(func(r store.Record) bool { return c.see(r) && plateIn(r, "粤N5A123", "粤B12345") })
			}
			if got := f.search(t, c.user, q); !slices.Equal(got, want) {
				t.Errorf("%s %s:\n got %v\nwant %v", c.user, q, got, want)
			}
		}
	}
	if got := f.search(t, "water_op", "device_id="+cameras[0].id); len(got) != 0 {
		t.Errorf("water sees police's camera records: %v", got)
	}
	if code, _ := f.do("GET", "/api/v1/search", "vendor", ""); code != 403 {
		t.Errorf("vendor search: %d", code)
	}
	if code, _ := f.do("GET", "/api/v1/search", "", ""); code != 401 {
		t.Errorf("anonymous search: %d", code)
	}
}

// Paging with next_cursor while records keep arriving returns every record that was
// there once, in order, and nothing that arrived after the first page.
func TestSearchCursorUnderConcurrentInserts(t *testing.T) {
	f := newSearchFixture(t)
	before := f.want(func(r store.Record) bool { return r.DeptID == "police" })
	first := f.must("GET", "/api/v1/search?limit=4", "police_op", "", 200)
	var got []string
	for _, r := range first["records"].([]any) {
		got = append(got, r.(map[string]any)["id"].(string))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	arrived := 0
	wg.Go(func() {
		for i := 0; i < 900; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// newest of all: shot after every seeded record, inside the default window
			r := f.record(t, "police", cameras[0], "Face", `{}`, f.now.Add(-time.Duration(1000-i)*time.Millisecond), 50000+i)
			if _, err := f.db.SaveRecord(context.Background(), &r); err != nil {
				t.Error(err)
				return
			}
			arrived++
		}
	})
	cursor := first["next_cursor"].(string)
	for cursor != "" {
		time.Sleep(5 * time.Millisecond)
		out := f.must("GET", "/api/v1/search?limit=4&cursor="+url.QueryEscape(cursor), "police_op", "", 200)
		for _, r := range out["records"].([]any) {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		cursor, _ = out["next_cursor"].(string)
	}
	close(stop)
	wg.Wait()
	if arrived == 0 {
		t.Fatal("no records arrived while paging")
	}
	if !slices.Equal(got, before) {
		t.Fatalf("%d records arrived while paging:\n got %v\nwant %v", arrived, got, before)
	}
	// And from the top again, the new records come first.
	if all := f.search(t, "police_op", "limit=1000"); len(all) != len(before)+arrived {
		t.Fatalf("after: %d records, want %d", len(all), len(before)+arrived)
	}
}

func TestSearchBadInputNamesTheField(t *testing.T) {
	f := newSearchFixture(t)
	for _, c := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01T00:00:00Z", "to"},
		{"from=20261122090000&to=20261122080000", "from"},
		{"device_id=4415", "device_id"},
		{"device_id=" + strings.Repeat(cameras[0].id+",", 201), "device_id"},
		{"area=4415", "area"},
		{"bbox=115,22,116", "bbox"},
		{"bbox=116,22,115,23", "bbox"},
		{"bbox=115,22,116,north", "bbox"},
		{"bbox=115,22,181,23", "bbox"},
		{"type=Cat", "type"},
		{"type=Face,Cat", "type"},
		{"plate=" + strings.Repeat("8", 17), "plate"},
		{"plate_part=B1", "plate_part"},
		{"plate_color=14", "plate_color"},
		{"vehicle_color=red", "vehicle_color"},
		{"vehicle_class=K3333", "vehicle_class"},
		{"coat_color=navy", "coat_color"},
		{"trousers_color=0", "trousers_color"},
		{"gender=0", "gender"},
		{"gender=male", "gender"},
		{"age=35", "age"},
		{"age=100", "age"},
		{"task_id=" + strings.Repeat("t", 65), "task_id"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"cursor=not-a-cursor!", "cursor"},
		{"cursor=" + url.QueryEscape("MTp4Onk6eg"), "cursor"},
		{"colour=red", "colour"},
		{"plate=A&plate=B", "plate"},
	} {
		code, body := f.do("GET", "/api/v1/search?"+c.query, "police_op", "")
		if code != 400 || body["field"] != c.field || !strings.HasPrefix(fmt.Sprint(body["error"]), c.field+":") {
			t.Errorf("%s: %d %v, want 400 naming %s", c.query, code, body, c.field)
		}
	}
}
