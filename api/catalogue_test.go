package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/catalogue"
	catcams "github.com/cityeye/cityeye/testdata/cameras"
)

// importFile posts a catalogue file as user and decodes the answer.
func (f *fixture) importFile(user, name string, data []byte) (int, map[string]any) {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", name)
	w.Write(data)
	return f.postForm(user, "/api/v1/catalogue/import", mw, &body)
}

// download GETs a path as user and returns the body, failing unless the status is status.
func (f *fixture) download(path, user string, status int) []byte {
	f.t.Helper()
	code, _, b := f.getBytes(path, user, "")
	if code != status {
		f.t.Fatalf("GET %s as %s: %d %s, want %d", path, user, code, b, status)
	}
	return b
}

func catalogueFile(t *testing.T, format catalogue.Format, lang catalogue.Lang, cams ...store.Camera) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := catalogue.Write(&b, format, lang, cams); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (f *fixture) cameraTotal(user string) int {
	f.t.Helper()
	return int(f.must("GET", "/api/v1/cameras", user, "", 200)["total"].(float64))
}

// A catalogue goes in whole (CSV or XLSX, English or Chinese headers) as an upsert
// that keeps the streams' shared fields in step, comes back out the same without
// credentials, and a file with a bad row is refused with every row's errors and
// nothing written.
func TestCatalogueImportExport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cams := []store.Camera{catcams.Valid(1, "police", "441502"), catcams.Valid(2, "police", "441502"), catcams.Valid(3, "police", "441521")}
	cams[0].URL = "rtsp://viewer:s3cret@10.0.0.5/stream1"
	// camera 2 is already a stream: the import renames it and keeps its URL
	f.must("POST", "/api/v1/streams", "admin", fmt.Sprintf(`{"device_id":%q,"name":"old name","url":"rtsp://10.0.0.6/s","admin_division":"441502",
		"longitude":115.1,"latitude":22.1,"owner_department":"police","point_type":2,"sharing":2}`, cams[1].DeviceID), 201)

	if code, out := f.importFile("admin", "cat.csv", catalogueFile(t, catalogue.CSV, catalogue.English, cams...)); code != 200 || out["imported"] != 3.0 || out["with_url"] != 1.0 {
		t.Fatalf("import: %d %v", code, out)
	}
	if n := f.cameraTotal("admin"); n != 3 {
		t.Fatalf("%d cameras, want 3", n)
	}
	st, err := f.db.GetStream(ctx, cams[1].DeviceID)
	if err != nil || st.Name != cams[1].Name || st.URL != "rtsp://10.0.0.6/s" || st.PointType != 1 || st.Sharing != 1 || st.Longitude != cams[1].Longitude {
		t.Errorf("stream 2 not in step with the catalogue: %+v %v", st, err)
	}
	if st, err := f.db.GetStream(ctx, cams[0].DeviceID); err != nil || st.URL != cams[0].URL || st.OwnerDept != "police" {
		t.Errorf("stream 1 from the file's URL: %+v %v", st, err)
	}

	// export (Chinese headers by default) and import it back: same file, credentials kept in the store only
	exp := f.download("/api/v1/catalogue/export?format=csv", "admin", 200)
	if !bytes.HasPrefix(exp, []byte("设备编码,设备名称,行政区划")) || bytes.Contains(exp, []byte("s3cret")) || !bytes.Contains(exp, []byte("rtsp://10.0.0.5/stream1")) {
		t.Fatalf("export:\n%s", exp)
	}
	if code, out := f.importFile("admin", "back.csv", exp); code != 200 {
		t.Fatalf("re-import of the export: %d %v", code, out)
	}
	if again := f.download("/api/v1/catalogue/export?format=csv", "admin", 200); !bytes.Equal(again, exp) {
		t.Errorf("round trip changed the export:\n%s\n---\n%s", exp, again)
	}
	if st, _ := f.db.GetStream(ctx, cams[0].DeviceID); st.URL != cams[0].URL {
		t.Errorf("re-import lost the stored credentials: %q", st.URL)
	}

	// upsert from XLSX with Chinese headers: one changed, two new
	cams[2].Name, cams[2].Vendor = "改名后的摄像机", 99
	x := catalogueFile(t, catalogue.XLSX, catalogue.Chinese, cams[2], catcams.Valid(4, "police", "441500"), catcams.Valid(5, "market", "441502"))
	if code, out := f.importFile("admin", "cat.xlsx", x); code != 200 || out["imported"] != 3.0 {
		t.Fatalf("xlsx import: %d %v", code, out)
	}
	if got, _ := f.db.GetCamera(ctx, cams[2].DeviceID); got.Name != "改名后的摄像机" || got.Vendor != 99 || got.PoleNumber != cams[2].PoleNumber {
		t.Errorf("upsert: %+v", got)
	}
	if n := f.cameraTotal("admin"); n != 5 {
		t.Fatalf("%d cameras after the upsert, want 5", n)
	}
	xexp := f.download("/api/v1/catalogue/export?format=xlsx&lang=en", "admin", 200)
	rows, errs, err := catalogue.Read(bytes.NewReader(xexp), catalogue.XLSX)
	renamed := false
	for _, r := range rows {
		renamed = renamed || r.Camera.DeviceID == cams[2].DeviceID && r.Camera.Name == "改名后的摄像机"
	}
	if err != nil || len(errs) > 0 || len(rows) != 5 || !renamed {
		t.Errorf("xlsx export reads back as %d rows (renamed %v), %v %v", len(rows), renamed, errs, err)
	}

	// a bad file: every bad row reported, nothing written (not even its good rows)
	good := catcams.Valid(6, "police", "441502")
	bad := catalogueFile(t, catalogue.CSV, catalogue.English, good, catcams.Valid(7, "police", "441502"), catcams.Valid(8, "police", "441502"), catcams.Valid(9, "police", "441502"))
	lines := strings.Split(string(bad), "\n")
	lines[2] = strings.Replace(lines[2], "115.300700", "115.3007001", 1)         // row 3: 7 decimals
	lines[3] = strings.Replace(lines[3], "4415020000132", "4415210000132", 1)    // row 4: centre code of another district
	lines[4] = strings.Replace(strings.Replace(lines[4], ",WGS84,", ",GPS,", 1), // row 5: two bad fields
		"f8:a4:5f:00:00:09", "f8:a4:5f:00:00", 1)
	code, out := f.importFile("admin", "bad.csv", []byte(strings.Join(lines, "\n")))
	if code != 400 || out["field"] != "file" {
		t.Fatalf("bad file: %d %v", code, out)
	}
	got := map[string]bool{}
	for _, e := range out["errors"].([]any) {
		m := e.(map[string]any)
		got[fmt.Sprintf("%v:%v", m["row"], m["field"])] = true
	}
	for _, want := range []string{"3:longitude", "4:device_id", "5:coord_system", "5:mac"} {
		if !got[want] {
			t.Errorf("missing error %s in %v", want, out["errors"])
		}
	}
	if len(got) != 4 {
		t.Errorf("errors %v, want exactly 4", out["errors"])
	}
	if _, err := f.db.GetCamera(ctx, good.DeviceID); err != store.ErrNotFound {
		t.Errorf("the refused file's good row was written: %v", err)
	}
	if n := f.cameraTotal("admin"); n != 5 {
		t.Errorf("%d cameras after a refused file, want 5", n)
	}
}

// Department admins import their own department's cameras only, within its areas,
// and cannot take over another department's camera; they export only their own.
func TestCatalogueImportByDepartment(t *testing.T) {
	f := newFixture(t)
	police := catcams.Valid(1, "police", "441502")
	f.importFile("admin", "p.csv", catalogueFile(t, catalogue.CSV, catalogue.English, police))

	mine := catcams.Valid(2, "", "441502") // no owner: the importer's department
	if code, out := f.importFile("market_admin", "m.csv", catalogueFile(t, catalogue.CSV, catalogue.English, mine)); code != 200 {
		t.Fatalf("own camera: %d %v", code, out)
	}
	if c, _ := f.db.GetCamera(context.Background(), mine.DeviceID); c.OwnerDept != "market" {
		t.Errorf("owner %q, want market", c.OwnerDept)
	}
	for _, tc := range []struct {
		cam   store.Camera
		field string
	}{
		{catcams.Valid(3, "police", "441502"), "owner_department"},                             // someone else's
		{catcams.Valid(4, "market", "441521"), "admin_division"},                               // outside market's areas
		{func() store.Camera { c := police; c.OwnerDept = "market"; return c }(), "device_id"}, // taking over police's camera
	} {
		code, out := f.importFile("market_admin", "m.csv", catalogueFile(t, catalogue.CSV, catalogue.English, tc.cam))
		errs, _ := out["errors"].([]any)
		if code != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != tc.field {
			t.Errorf("%s: %d %v, want one %s error", tc.cam.DeviceID, code, out, tc.field)
		}
	}
	exp := f.download("/api/v1/catalogue/export?lang=en", "market_admin", 200)
	if !bytes.Contains(exp, []byte(mine.DeviceID)) || bytes.Contains(exp, []byte(police.DeviceID)) {
		t.Errorf("market's export:\n%s", exp)
	}
	f.must("POST", "/api/v1/catalogue/import", "market_op", "{}", 403)
	// a file:// URL outside the import folders is refused, as for POST /api/v1/streams
	outside := catcams.Valid(6, "police", "441502")
	outside.URL = "file:///etc/hosts"
	code, out := f.importFile("admin", "a.csv", catalogueFile(t, catalogue.CSV, catalogue.English, outside))
	if errs, _ := out["errors"].([]any); code != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "url" {
		t.Errorf("file URL outside the import folders: %d %v", code, out)
	}
	// a platform import must name the owner
	code, out = f.importFile("admin", "a.csv", catalogueFile(t, catalogue.CSV, catalogue.English, catcams.Valid(5, "", "441502")))
	if errs, _ := out["errors"].([]any); code != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "owner_department" {
		t.Errorf("platform import without owner: %d %v", code, out)
	}
}
