package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

// Conformance: every data envelope round-trips under its standard name, IDs keep
// their lengths (48 content, 41 image/source, 20 device), the content types seen
// in the wild are accepted, and StatusCode is emitted as an integer.
func TestVIIDConformance(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	const dev = "44150200001190000007"
	shot := time.Date(2026, 11, 22, 10, 0, 0, 0, gat1400.Location)
	ts := gat1400.FormatTime(shot)
	src := gat1400.SourceID(dev, gat1400.SourceImage, shot, 5)
	box := gat1400.Box{LeftTopX: 10, LeftTopY: 10, RightBtmX: 100, RightBtmY: 200}
	img := func(typ gat1400.ImageType) gat1400.SubImageList {
		return gat1400.NewSubImageList(gat1400.SubImageInfo{ImageID: src, EventSort: gat1400.EventVehicleDetection, DeviceID: dev, StoragePath: "http://elsewhere/img.jpg",
			Type: typ, FileFormat: gat1400.FormatJpeg, ShotTime: ts, Width: 640, Height: 480})
	}
	objs := map[string]any{
		"Person": gat1400.Person{PersonID: gat1400.ContentID(src, gat1400.SubtypePerson, 1), InfoKind: gat1400.InfoKindAuto, SourceID: src, DeviceID: dev, Box: box,
			ShotTime: ts, StatusFlags: gat1400.UncertainFlags(), SubImageList: img(gat1400.ImagePerson)},
		"MotorVehicle": gat1400.MotorVehicle{MotorVehicleID: gat1400.ContentID(src, gat1400.SubtypeMotorVehicle, 1), InfoKind: gat1400.InfoKindAuto, SourceID: src,
			DeviceID: dev, Box: box, PassTime: ts, MarkTime: ts, StorageUrl1: "http://elsewhere/img.jpg", VehicleColor: gat1400.ColorOther, SubImageList: img(gat1400.ImageVehicleCloseUp)},
		"NonMotorVehicle": gat1400.NonMotorVehicle{NonMotorVehicleID: gat1400.ContentID(src, gat1400.SubtypeNonMotorVehicle, 1), InfoKind: gat1400.InfoKindAuto,
			SourceID: src, DeviceID: dev, Box: box, MarkTime: ts, SubImageList: img(gat1400.ImageNonMotorVehicle)},
		"Scene": map[string]any{"SceneID": gat1400.ContentID(src, gat1400.SubtypeScene, 1), "DeviceID": dev, "ShotTime": ts},
	}
	cts := []string{"application/VIID+JSON", "application/viid+json", "application/json;charset=UTF-8", "application/*+JSON;charset=UTF-8"}
	i := 0
	for kind, obj := range objs {
		body, _ := json.Marshal(map[string]any{kind + "ListObject": map[string]any{kind + "Object": []any{obj}}})
		req, _ := http.NewRequest("POST", f.url+"/VIID/"+kind+"s", bytes.NewReader(body))
		req.Header.Set("Content-Type", cts[i%len(cts)])
		req.Header.Set("User-Identify", peerID)
		i++
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw := new(bytes.Buffer)
		raw.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(raw.String(), `"StatusCode":0`) {
			t.Fatalf("%s push (%s): %d %s", kind, req.Header.Get("Content-Type"), resp.StatusCode, raw)
		}
		_, out := v.do("GET", "/VIID/"+kind+"s", nil)
		list, ok := out[kind+"ListObject"].(map[string]any)
		if !ok || len(list[kind+"Object"].([]any)) != 1 {
			t.Fatalf("%s list envelope: %v", kind, out)
		}
		got := list[kind+"Object"].([]any)[0].(map[string]any)
		id := got[kind+"ID"].(string)
		if len(id) != 48 || got["DeviceID"] != dev {
			t.Errorf("%s ID %q (%d chars) / device %v", kind, id, len(id), got["DeviceID"])
		}
		if sid, _ := got["SourceID"].(string); sid != "" && len(sid) != 41 {
			t.Errorf("%s SourceID length %d", kind, len(sid))
		}
		_, one := v.do("GET", "/VIID/"+kind+"s/"+id, nil)
		if one[kind+"Object"] == nil {
			t.Errorf("%s single envelope: %v", kind, one)
		}
	}
	// the list answer of a batch: ResponseStatusListObject with integer codes, one per object
	_, out := v.do("DELETE", "/VIID/Persons?IDList="+gat1400.ContentID(src, gat1400.SubtypePerson, 1), nil)
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), `"ResponseStatusListObject":{"ResponseStatusObject":[{`) || !strings.Contains(string(b), `"StatusCode":0`) {
		t.Errorf("delete answer: %s", b)
	}
	// a text/plain body is refused with the JSON-format status
	req, _ := http.NewRequest("POST", f.url+"/VIID/Faces", strings.NewReader("hello"))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Identify", peerID)
	resp, _ := http.DefaultClient.Do(req)
	var st map[string]any
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != 400 || statusCode(st) != 7.0 {
		t.Errorf("text/plain push: %d %v", resp.StatusCode, st)
	}
}
