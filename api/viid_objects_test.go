package api_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/testdata"
)

// viidFace builds a valid Face with its scene image inline (base64), shot at t.
func viidFace(t *testing.T, device string, shot time.Time, serial int) gat1400.Face {
	return testdata.VIIDFace(t, device, shot, serial)
}

func statuses(t *testing.T, out map[string]any) []map[string]any {
	list, _ := out["ResponseStatusListObject"].(map[string]any)
	var res []map[string]any
	for _, x := range list["ResponseStatusObject"].([]any) {
		res = append(res, x.(map[string]any))
	}
	return res
}

// A registered lower platform pushes Faces in, queries them back in the three query
// styles, fetches one, and deletes them; another department sees none of it.
func TestVIIDFacesRoundTrip(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	if code := v.register("s3cret-pass", false); code != 200 {
		t.Fatal("register", code)
	}
	const dev = "44150200001190000007" // a checkpoint in market's district
	shot := time.Date(2026, 11, 22, 9, 30, 0, 0, gat1400.Location)
	a, b := viidFace(t, dev, shot, 1), viidFace(t, dev, shot.Add(time.Hour), 2)
	bad := a
	bad.FaceID = "123"
	outside := viidFace(t, "44030500001190000001", shot, 3) // Shenzhen: outside market's areas
	push := map[string]any{"FaceListObject": map[string]any{"FaceObject": []any{a, b, bad, outside}}}
	code, out := v.do("POST", "/VIID/Faces", push)
	st := statuses(t, out)
	if code != 200 || len(st) != 4 || st[0]["StatusCode"] != 0.0 || st[1]["StatusCode"] != 0.0 || st[2]["StatusCode"] != 8.0 || st[3]["StatusCode"] != 4.0 {
		t.Fatalf("push: %d %v", code, out)
	}
	if !strings.Contains(st[2]["StatusString"].(string), "FaceID") || st[0]["Id"] != a.FaceID {
		t.Errorf("statuses do not name the problem or the ID: %v", st)
	}
	v.do("POST", "/VIID/Faces", map[string]any{"FaceListObject": map[string]any{"FaceObject": []any{a}}}) // re-push: idempotent

	list := func(q string) (int, []any, map[string]any) {
		t.Helper()
		code, out := v.do("GET", "/VIID/Faces?"+q, nil)
		lo, _ := out["FaceListObject"].(map[string]any)
		objs, _ := lo["FaceObject"].([]any)
		return code, objs, lo
	}
	for _, c := range []struct {
		name, q string
		want    int
	}{
		{"all", "", 2},
		{"expression", url.PathEscape("(Face.ShotTime BETWEEN '20261122093000' AND '20261122100000')"), 1},
		{"expression OR", "RecordStartNo=1&PageRecordNum=10&" + url.PathEscape("((Face.FaceID = '"+a.FaceID+"' OR Face.FaceID = '"+b.FaceID+"') AND Face.DeviceID = '"+dev+"')"), 2},
		{"plain", "Faces.DeviceID=" + dev + "&PageRecordNum=1", 1},
		{"IDList", "IDList=" + b.FaceID, 1},
		{"sorted", url.PathEscape("(Sort = Face.ShotTime)"), 2},
	} {
		code, objs, lo := list(c.q)
		if code != 200 || len(objs) != c.want {
			t.Errorf("%s (%s): %d, %d objects, want %d: %v", c.name, c.q, code, len(objs), c.want, lo)
		}
		if c.name == "plain" && lo["TotalNum"] != 2.0 {
			t.Errorf("TotalNum %v with a page of 1", lo["TotalNum"])
		}
	}
	if code, out := v.do("GET", "/VIID/Faces?"+url.PathEscape("(Face.Colour = 'red')"), nil); code != 400 || !strings.Contains(out["error"].(string), "Colour") {
		t.Errorf("unknown attribute: %d %v", code, out)
	}
	code, one := v.do("GET", "/VIID/Faces/"+a.FaceID, nil)
	fo, _ := one["FaceObject"].(map[string]any)
	if code != 200 || fo["FaceID"] != a.FaceID {
		t.Fatalf("single: %d %v", code, one)
	}
	img := fo["SubImageList"].(map[string]any)["SubImageInfoObject"].([]any)[0].(map[string]any)
	if img["Data"] != nil || !strings.Contains(img["StoragePath"].(string), "snapshots/"+dev) {
		t.Fatalf("inline image not turned into a stored snapshot: %v", img)
	}
	key := img["StoragePath"].(string)[strings.Index(img["StoragePath"].(string), "snapshots/"):]
	if code, _ := f.do("GET", "/api/v1/objects/"+key, "market_analyst", ""); code != 200 {
		t.Errorf("pushed snapshot not served: %d", code)
	}
	// another department sees none of it, over VIID or the JSON API
	if total := f.must("GET", "/api/v1/records?type=Face", "police_op", "", 200)["total"]; total != 0.0 {
		t.Errorf("police sees %v of market's pushed faces", total)
	}
	if total := f.must("GET", "/api/v1/records?type=Face", "market_analyst", "", 200)["total"]; total != 2.0 {
		t.Errorf("market sees %v faces, want 2 (re-push must not duplicate)", total)
	}
	code, out = v.do("DELETE", "/VIID/Faces?IDList="+a.FaceID+",44150200001190000007022026112209300000001069999", nil)
	st = statuses(t, out)
	if code != 200 || st[0]["StatusCode"] != 0.0 || st[1]["StatusCode"] != 4.0 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if code, _ := f.do("GET", "/api/v1/objects/"+key, "market_analyst", ""); code != 404 {
		t.Errorf("deleted record's snapshot still served: %d", code)
	}
	if _, err := f.objs.Get(t.Context(), key); err == nil {
		t.Errorf("deleted record's snapshot still stored")
	}
	if p, _ := f.db.Pending(t.Context()); len(p) != 0 {
		t.Errorf("pending after delete: %v", p)
	}
	var env struct {
		ResponseStatusListObject struct{ ResponseStatusObject []gat1400.ResponseStatus }
	}
	b2, _ := json.Marshal(out)
	if err := json.Unmarshal(b2, &env); err != nil || len(env.ResponseStatusListObject.ResponseStatusObject) != 2 {
		t.Errorf("status list does not decode as GA/T 1400: %v", err)
	}
}

// Images use the exception envelope: the image is stored with its Data as a
// snapshot, the objects in its lists become records, and the bytes come back
// watermarked from /VIID/Images/{ID}/Data. Things and Scenes are stored by ID.
func TestVIIDImagesThingsScenes(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	const dev = "44150200001190000007"
	shot := time.Date(2026, 11, 22, 9, 30, 0, 0, gat1400.Location)
	face := viidFace(t, dev, shot, 1)
	img, _ := os.ReadFile(testdata.Media(t, "grace_hopper_512x512.jpg"))
	imageID := face.SourceID
	push := map[string]any{"ImageListObject": map[string]any{"Image": []any{map[string]any{
		"ImageInfo": map[string]any{"ImageID": imageID, "DeviceID": dev, "ShotTime": gat1400.FormatTime(shot), "EventSort": 10, "FileFormat": "Jpeg", "Width": 512, "Height": 512},
		"FaceList":  map[string]any{"FaceObject": []any{face}},
		"Data":      base64.StdEncoding.EncodeToString(img)}}}}
	code, out := v.do("POST", "/VIID/Images", push)
	if code != 200 || statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("images: %d %v", code, out)
	}
	code, out = v.do("GET", "/VIID/Images?IDList="+imageID, nil)
	imgs := out["ImageListObject"].(map[string]any)["Image"].([]any)
	if code != 200 || len(imgs) != 1 || imgs[0].(map[string]any)["ImageInfo"].(map[string]any)["StoragePath"] == nil {
		t.Fatalf("image list: %d %v", code, out)
	}
	if code, objs := v.do("GET", "/VIID/Faces/"+face.FaceID, nil); code != 200 || objs["FaceObject"] == nil {
		t.Fatalf("the face inside the image was not stored: %d %v", code, objs)
	}
	req, _ := http.NewRequest("GET", f.url+"/VIID/Images/"+imageID+"/Data", nil)
	req.Header.Set("User-Identify", peerID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || len(data) < 1000 {
		t.Fatalf("image data: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(data))
	}
	// Things and Scenes: stored and queried by ID; a wrong subtype is refused
	thingID := gat1400.ContentID(face.SourceID, gat1400.SubtypeThing, 1)
	code, out = v.do("POST", "/VIID/Things", map[string]any{"ThingListObject": map[string]any{"ThingObject": []any{
		map[string]any{"ThingID": thingID, "DeviceID": dev, "ShotTime": gat1400.FormatTime(shot), "Name": "garbage bin"},
		map[string]any{"ThingID": face.FaceID, "DeviceID": dev}}}})
	if st := statuses(t, out); code != 200 || st[0]["StatusCode"] != 0.0 || st[1]["StatusCode"] != 8.0 {
		t.Fatalf("things: %d %v", code, out)
	}
	if _, out := v.do("GET", "/VIID/Things?"+url.PathEscape("(Thing.DeviceID = '"+dev+"')"), nil); len(out["ThingListObject"].(map[string]any)["ThingObject"].([]any)) != 1 {
		t.Fatalf("thing query: %v", out)
	}
}
