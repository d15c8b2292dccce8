package api_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
)

// Attacks through VIID pushes (issue 14 items 5 and 16), through the API.

// Item 5: a department's push cannot replace another department's record or its
// snapshot, nor claim a camera another department owns, nor hide another's
// device inside the object ID.
func TestVIIDPushCannotOverwriteAnotherDepartment(t *testing.T) {
	f := newFixture(t)
	market := f.viidPeer(t)
	market.register("s3cret-pass", false)
	police := f.policePeer(t)
	police.register("police-pass-1", false)
	const dev = "44150200001190000007" // in both departments' areas
	shot := time.Date(2026, 11, 22, 9, 30, 0, 0, gat1400.Location)
	face := viidFace(t, dev, shot, 1)
	if _, out := market.do("POST", "/VIID/Faces", faceList(face)); statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("market's push: %v", out)
	}
	stored := func() ([]byte, []byte) {
		t.Helper()
		r, err := f.db.GetRecord(t.Context(), auth.Scope{All: true}, face.FaceID)
		if err != nil || r.DeptID != "market" || len(r.Images) != 1 {
			t.Fatalf("market's record: %+v %v", r, err)
		}
		img, err := f.objs.Get(t.Context(), r.Images[0])
		if err != nil {
			t.Fatal(err)
		}
		return r.Body, img
	}
	body, img := stored()

	forged := face
	forged.Name = "forged by police"
	forged.SubImageList.SubImageInfoObject[0].Data = base64.StdEncoding.EncodeToString([]byte("not market's picture"))
	code, out := police.do("POST", "/VIID/Faces", faceList(forged))
	if st := statuses(t, out); code != 200 || st[0]["StatusCode"] != 4.0 {
		t.Errorf("police re-pushes market's FaceID: %d %v", code, out)
	}
	if b2, img2 := stored(); !bytes.Equal(b2, body) || !bytes.Equal(img2, img) {
		t.Errorf("market's record or snapshot changed by police's push: %s", b2)
	}
	if total := f.must("GET", "/api/v1/records?type=Face", "police_op", "", 200)["total"]; total != 0.0 {
		t.Errorf("police holds %v faces", total)
	}

	// A camera registered here belongs to its owner: police's camera in market's
	// district cannot be pushed for by market, neither as DeviceID nor inside the ID.
	const policeCam = "44150200001310000009"
	f.must("POST", "/api/v1/streams", "admin", `{"device_id":"`+policeCam+`","name":"police cam","url":"rtsp://127.0.0.1:1/none","admin_division":"441502",
		"longitude":115.3,"latitude":22.7,"owner_department":"police","point_type":1,"sharing":1}`, 201)
	onCam := viidFace(t, policeCam, shot, 3)
	hidden := viidFace(t, policeCam, shot, 4)
	hidden.DeviceID = dev
	hidden.SubImageList.SubImageInfoObject[0].DeviceID = dev
	code, out = market.do("POST", "/VIID/Faces", faceList(onCam, hidden))
	if st := statuses(t, out); code != 200 || st[0]["StatusCode"] != 4.0 || st[1]["StatusCode"] != 4.0 {
		t.Errorf("market pushes for police's camera: %d %v", code, out)
	}
	if total := f.must("GET", "/api/v1/records?type=Face", "market_analyst", "", 200)["total"]; total != 1.0 {
		t.Errorf("market holds %v faces, want its 1", total)
	}
	// the owner may
	if _, out := police.do("POST", "/VIID/Faces", faceList(onCam)); statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Errorf("police pushes for its own camera: %v", out)
	}
	image := func(id, device, data string) map[string]any {
		return map[string]any{"ImageListObject": map[string]any{"Image": []any{map[string]any{
			"ImageInfo": map[string]any{"ImageID": id, "DeviceID": device, "ShotTime": gat1400.FormatTime(shot)},
			"Data":      base64.StdEncoding.EncodeToString([]byte(data))}}}}
	}
	if _, out := market.do("POST", "/VIID/Images", image(gat1400.SourceID(dev, gat1400.SourceImage, shot, 10), policeCam, "x")); statuses(t, out)[0]["StatusCode"] != 4.0 {
		t.Errorf("market pushes an image naming police's camera: %v", out)
	}
	// and an image record of market's is not police's to replace either
	imageID := gat1400.SourceID(dev, gat1400.SourceImage, shot, 9)
	if _, out := market.do("POST", "/VIID/Images", image(imageID, dev, "market image")); statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("market's image: %v", out)
	}
	if _, out := police.do("POST", "/VIID/Images", image(imageID, dev, "police image")); statuses(t, out)[0]["StatusCode"] != 4.0 {
		t.Errorf("police replaces market's image: %v", out)
	}
	r, err := f.db.GetRecord(t.Context(), auth.Scope{All: true}, imageID)
	if err != nil || r.DeptID != "market" {
		t.Fatalf("market's image record: %+v %v", r, err)
	}
	if b, _ := f.objs.Get(t.Context(), r.Images[0]); string(b) != "market image" {
		t.Errorf("market's image bytes now %q", b)
	}
}

// Item 16: records dated beyond the allowed clock skew are refused with the field
// named, so they cannot outlive retention; a small skew is accepted.
func TestVIIDFutureShotTimeRefused(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	const dev = "44150200001190000007"
	future := f.now.Add(365 * 24 * time.Hour)
	near := f.now.Add(2 * time.Minute)
	_, out := v.do("POST", "/VIID/Faces", faceList(viidFace(t, dev, future, 1), viidFace(t, dev, near, 2)))
	st := statuses(t, out)
	if st[0]["StatusCode"] != 8.0 || !strings.Contains(st[0]["StatusString"].(string), "ShotTime") || st[1]["StatusCode"] != 0.0 {
		t.Errorf("faces a year ahead and 2 min ahead: %v", st)
	}
	src := gat1400.SourceID(dev, gat1400.SourceImage, future, 3)
	ts := gat1400.FormatTime(future)
	car := gat1400.MotorVehicle{MotorVehicleID: gat1400.ContentID(src, gat1400.SubtypeMotorVehicle, 1), InfoKind: gat1400.InfoKindAuto, SourceID: src,
		DeviceID: dev, Box: gat1400.Box{LeftTopX: 1, LeftTopY: 1, RightBtmX: 9, RightBtmY: 9}, PassTime: ts, VehicleColor: gat1400.ColorOther}
	_, out = v.do("POST", "/VIID/MotorVehicles", map[string]any{"MotorVehicleListObject": map[string]any{"MotorVehicleObject": []any{car}}})
	if st := statuses(t, out); st[0]["StatusCode"] != 8.0 || !strings.Contains(st[0]["StatusString"].(string), "PassTime") {
		t.Errorf("vehicle a year ahead: %v", st)
	}
	_, out = v.do("POST", "/VIID/Images", map[string]any{"ImageListObject": map[string]any{"Image": []any{map[string]any{
		"ImageInfo": map[string]any{"ImageID": src, "DeviceID": dev, "ShotTime": ts}, "Data": base64.StdEncoding.EncodeToString([]byte("x"))}}}})
	if st := statuses(t, out); st[0]["StatusCode"] != 8.0 || !strings.Contains(st[0]["StatusString"].(string), "ImageID") {
		t.Errorf("image a year ahead: %v", st)
	}
	counts, _ := f.db.CountRecords(t.Context())
	if n := counts["Face"] + counts["MotorVehicle"] + counts["Image"]; n != 1 {
		t.Errorf("%d records stored (%v), want the one within the skew", n, counts)
	}
}
