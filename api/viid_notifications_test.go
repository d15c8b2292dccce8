package api_test

import (
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

// Conformance (issue 21 item 5): a peer POSTs SubscribeNotifications to us. The
// answer is a ResponseStatusListObject with one ResponseStatusObject per
// notification, Id its NotificationID; the objects it carries are stored as a
// POST would store them, an update (ExecuteOperation 2) replaces the stored
// object, and a delete (3) is refused with StatusCode 4.
func TestVIIDSubscribeNotificationsReceived(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	const dev = "44150200001190000007"
	shot := time.Date(2026, 11, 22, 9, 0, 0, 0, gat1400.Location)
	face := viidFace(t, dev, shot, 1)
	nid := func(serial int) string {
		return gat1400.BusinessID("441502000000", gat1400.BusinessSubscribe, shot, serial)
	}
	notification := func(id string, op int, faces ...any) map[string]any {
		n := map[string]any{"NotificationID": id, "SubscribeID": nid(99), "Title": "faces", "TriggerTime": gat1400.FormatTime(shot),
			"InfoIDs": face.FaceID, "ExecuteOperation": op}
		if len(faces) > 0 {
			n["FaceObjectList"] = map[string]any{"FaceObject": faces}
		}
		return n
	}
	post := func(ns ...any) []map[string]any {
		t.Helper()
		code, out := v.do("POST", "/VIID/SubscribeNotifications", map[string]any{"SubscribeNotificationListObject": map[string]any{"SubscribeNotificationObject": ns}})
		if code != 200 {
			t.Fatalf("notifications: %d %v", code, out)
		}
		return statuses(t, out)
	}
	sts := post(notification(nid(1), 1, face), notification(nid(2), 3))
	if len(sts) != 2 || sts[0]["Id"] != nid(1) || sts[0]["StatusCode"] != 0.0 || sts[1]["Id"] != nid(2) || sts[1]["StatusCode"] != 4.0 {
		t.Fatalf("statuses: %v", sts)
	}
	for _, k := range []string{"RequestURL", "StatusString", "LocalTime"} {
		if sts[0][k] == nil || sts[0][k] == "" {
			t.Errorf("ResponseStatusObject without %s: %v", k, sts[0])
		}
	}
	_, out := v.do("GET", "/VIID/Faces/"+face.FaceID, nil)
	if got, _ := out["FaceObject"].(map[string]any); got == nil || got["FaceID"] != face.FaceID {
		t.Fatalf("the notified face is not stored: %v", out)
	}
	face.FaceDisAppearTime = gat1400.FormatTime(shot.Add(time.Minute))
	if sts := post(notification(nid(3), 2, face)); sts[0]["StatusCode"] != 0.0 {
		t.Fatalf("update: %v", sts)
	}
	_, out = v.do("GET", "/VIID/Faces/"+face.FaceID, nil)
	if got, _ := out["FaceObject"].(map[string]any); got == nil || got["FaceDisAppearTime"] != face.FaceDisAppearTime {
		t.Errorf("the update did not replace the face: %v", out)
	}
	// another department's device inside a notification is refused like a POST
	if sts := post(notification(nid(4), 1, viidFace(t, "44030000001190000001", shot, 2))); sts[0]["StatusCode"] != 4.0 {
		t.Errorf("a face of a device outside the peer's areas: %v", sts)
	}
	code, out := v.do("POST", "/VIID/SubscribeNotifications", map[string]any{"SubscribeNotificationObject": []any{}})
	if code != 400 || statusCode(out) != 7.0 {
		t.Errorf("a body without the list envelope: %d %v", code, out)
	}
}

// Conformance: PUT /VIID/<X>s is the standard's batch update, answered like POST
// with one ResponseStatusObject per object, Id its ID.
func TestVIIDBatchUpdate(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	face := viidFace(t, "44150200001190000007", time.Date(2026, 11, 22, 9, 0, 0, 0, gat1400.Location), 1)
	v.do("POST", "/VIID/Faces", faceList(face))
	face.Name = "updated"
	code, out := v.do("PUT", "/VIID/Faces", faceList(face))
	if sts := statuses(t, out); code != 200 || len(sts) != 1 || sts[0]["Id"] != face.FaceID || sts[0]["StatusCode"] != 0.0 {
		t.Fatalf("PUT: %d %v", code, out)
	}
	_, out = v.do("GET", "/VIID/Faces/"+face.FaceID, nil)
	if got, _ := out["FaceObject"].(map[string]any); got == nil || got["Name"] != "updated" {
		t.Errorf("after PUT: %v", out)
	}
}
