package api_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/catalogue"
	catcams "github.com/cityeye/cityeye/testdata/cameras"
)

// listOf returns the objects of a {"<X>ListObject":{"<X>Object":[…]}} answer and the list object.
func listOf(t *testing.T, out map[string]any, object string) ([]map[string]any, map[string]any) {
	t.Helper()
	list, ok := out[object+"ListObject"].(map[string]any)
	if !ok {
		t.Fatalf("no %sListObject in %v", object, out)
	}
	var objs []map[string]any
	for _, x := range list[object+"Object"].([]any) {
		objs = append(objs, x.(map[string]any))
	}
	return objs, list
}

// Devices from the catalogue as a peer sees them: every camera it may see is an
// APE, a checkpoint camera is also a Tollgate with one Lane; the three query
// styles and paging work; cameras outside its areas or not shared stay hidden.
func TestVIIDDevicesFromCatalogue(t *testing.T) {
	f := newFixture(t)
	plain := catcams.Valid(1, "police", "441502")
	gate := catcams.Valid(2, "police", "441502")
	gate.CameraType = 5
	elsewhere := catcams.Valid(3, "police", "441521") // outside market's areas
	private := catcams.Valid(4, "police", "441502")
	private.Sharing = 2
	if code, out := f.importFile("admin", "cat.csv", catalogueFile(t, catalogue.CSV, catalogue.English, plain, gate, elsewhere, private)); code != 200 {
		t.Fatalf("import: %d %v", code, out)
	}
	v := f.viidPeer(t) // acts as market_op
	v.register("s3cret-pass", false)

	_, out := v.do("GET", "/VIID/APEs", nil)
	apes, list := listOf(t, out, "APE")
	if len(apes) != 2 || list["TotalNum"] != 2.0 {
		t.Fatalf("APEs: %v", out)
	}
	byID := map[string]map[string]any{}
	for _, a := range apes {
		byID[a["ApeID"].(string)] = a
	}
	if a := byID[plain.DeviceID]; a == nil || a["FunctionType"] != "5" || a["PlaceCode"] != "441502" || a["IsOnline"] != "1" || a["Name"] != plain.Name || a["OwnerApsID"] != plain.PlatformCode {
		t.Errorf("APE of an ordinary camera: %v", a)
	}
	if a := byID[gate.DeviceID]; a == nil || a["FunctionType"] != "1" {
		t.Errorf("APE of a checkpoint camera: %v", a)
	}
	queries := map[string][]string{
		url.PathEscape("(APE.Name LIKE '路口2号')"):                       {gate.DeviceID},
		"APEs.ApeID=" + plain.DeviceID:                                 {plain.DeviceID},
		"IDList=" + plain.DeviceID + "," + elsewhere.DeviceID:          {plain.DeviceID},
		"RecordStartNo=2&PageRecordNum=1":                              {gate.DeviceID},
		url.PathEscape("(Sort = APE.ApeID DESC)") + "&PageRecordNum=1": {gate.DeviceID},
	}
	for q, want := range queries {
		code, out := v.do("GET", "/VIID/APEs?"+q, nil)
		if code != 200 {
			t.Errorf("%s: %d %v", q, code, out)
			continue
		}
		got, _ := listOf(t, out, "APE")
		if len(got) != len(want) || got[0]["ApeID"] != want[0] {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	if code, out := v.do("GET", "/VIID/APEs?"+url.PathEscape("(APE.Colour = 'red')"), nil); code != 400 || out["field"] == nil {
		t.Errorf("unknown attribute: %d %v", code, out)
	}

	_, out = v.do("GET", "/VIID/Tollgates", nil)
	gates, _ := listOf(t, out, "Tollgate")
	if len(gates) != 1 || gates[0]["TollgateID"] != gate.DeviceID || gates[0]["LaneNum"] != 1.0 || gates[0]["TollgateUsage"] != 80.0 || gates[0]["Status"] != "1" {
		t.Errorf("Tollgates: %v", out)
	}
	_, out = v.do("GET", "/VIID/Lanes?TollgateID="+gate.DeviceID, nil)
	lanes, _ := listOf(t, out, "Lane")
	if len(lanes) != 1 || lanes[0]["ApeID"] != gate.DeviceID || lanes[0]["LaneNo"] != 1.0 {
		t.Errorf("Lanes: %v", out)
	}
	if code, out := v.do("GET", "/VIID/Tollgates/"+gate.DeviceID, nil); code != 200 || out["TollgateObject"].(map[string]any)["TollgateID"] != gate.DeviceID {
		t.Errorf("one tollgate: %d %v", code, out)
	}
	for _, hidden := range []store.Camera{elsewhere, private} {
		code, out := v.do("GET", "/VIID/APEs/"+hidden.DeviceID, nil)
		if code != 404 {
			t.Errorf("a camera the peer may not see: %d %v", code, out)
		}
		checkStatus(t, "hidden APE", single(out), hidden.DeviceID, "/VIID/APEs/"+hidden.DeviceID, 4)
	}
}

// DELETE /VIID/Faces/{ID}: another department cannot (404, audited), the owner can
// (its Id in the answer, audited), and the record and its snapshot are gone.
func TestVIIDDeleteOneObject(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	face := viidFace(t, "44150200001190000007", time.Date(2026, 11, 22, 7, 0, 0, 0, gat1400.Location), 4)
	if _, out := v.do("POST", "/VIID/Faces", gat1400.NewFaceList(face)); statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("push: %v", out)
	}
	path := "/VIID/Faces/" + face.FaceID
	if code, out := f.do("DELETE", path, "police_op", ""); code != 404 || single(out)["Id"] != face.FaceID {
		t.Fatalf("another department's delete: %d %v", code, out)
	}
	code, out := v.do("DELETE", path, nil)
	if code != 200 {
		t.Fatalf("owner's delete: %d %v", code, out)
	}
	checkStatus(t, "delete", single(out), face.FaceID, path, 0)
	if code, _ := v.do("GET", path, nil); code != 404 {
		t.Errorf("deleted face still served: %d", code)
	}
	refused, done := 0, 0
	for _, e := range f.auditEntries("action=record.delete&target=" + face.FaceID) {
		switch e["status"] {
		case 404.0:
			refused++
		case 200.0:
			done++
		}
	}
	if refused != 1 || done != 1 {
		t.Errorf("audit: %d refused and %d done, want 1 each", refused, done)
	}
}

// Resources CityEye does not serve answer 501 with the standard's envelope and a
// reason; an unknown /VIID path answers the envelope too.
func TestVIIDUnsupportedResources(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	for _, p := range []string{"/VIID/VideoSlices", "/VIID/Files", "/VIID/Cases", "/VIID/APSs"} {
		code, out := v.do("GET", p, nil)
		if code != 501 || out["error"] == nil {
			t.Errorf("%s: %d %v", p, code, out)
		}
		checkStatus(t, p, single(out), peerID, p, 4)
	}
	code, out := v.do("PUT", "/VIID/Nothing", nil)
	if code != 404 {
		t.Errorf("unknown resource: %d %v", code, out)
	}
	checkStatus(t, "unknown resource", single(out), peerID, "/VIID/Nothing", 4)
}
