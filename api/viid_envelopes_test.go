package api_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/gat1400"
)

// checkStatus fails unless st is a complete ResponseStatusObject about id: all five
// fields present (a C++ peer treats an answer without Id as a failure), the code an
// integer, LocalTime 14 digits, RequestURL the path asked.
func checkStatus(t *testing.T, what string, st map[string]any, id, path string, code float64) {
	t.Helper()
	for _, k := range []string{"Id", "RequestURL", "StatusCode", "StatusString", "LocalTime"} {
		if _, ok := st[k]; !ok {
			t.Errorf("%s: ResponseStatusObject has no %s: %v", what, k, st)
		}
	}
	if st["Id"] != id || st["RequestURL"] != path || st["StatusCode"] != code || len(st["LocalTime"].(string)) != 14 {
		t.Errorf("%s: %v, want Id %q, RequestURL %q, StatusCode %v", what, st, id, path, code)
	}
}

func single(out map[string]any) map[string]any {
	st, _ := out["ResponseStatusObject"].(map[string]any)
	return st
}

// Every answer a peer gets is the standard's envelope with the Id it is about:
// Register (the challenge too), Keepalive, UnRegister and refusals name the device;
// a batch names each object; a missing object or a bad query names what was asked
// (with CityEye's field beside it); the server's own ID is the configured one.
func TestVIIDResponseStatusCarriesID(t *testing.T) {
	const serverID = "44150000005030000009"
	f := newFixture(t, func(s *api.Server) { s.VIIDServerID = serverID })
	v := f.viidPeer(t)
	code, out, _ := v.registerAs("", "wrong-password", false)
	if code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	checkStatus(t, "refused Register", single(out), peerID, "/VIID/System/Register", 4)
	code, out, _ = v.registerAs("", "s3cret-pass", false)
	if code != 200 {
		t.Fatalf("register: %d %v", code, out)
	}
	checkStatus(t, "Register", single(out), peerID, "/VIID/System/Register", 0)
	_, out = v.do("POST", "/VIID/System/Keepalive", map[string]any{"KeepaliveObject": map[string]any{"DeviceID": peerID}})
	checkStatus(t, "Keepalive", single(out), peerID, "/VIID/System/Keepalive", 0)

	_, out = v.do("GET", "/VIID/System/Time", nil)
	if tm := out["SystemTimeObject"].(map[string]any); tm["VIIDServerID"] != serverID {
		t.Errorf("System/Time: %v, want the configured ID %s", tm, serverID)
	}

	shot := time.Date(2026, 11, 22, 7, 0, 0, 0, gat1400.Location)
	face := viidFace(t, "44150200001190000007", shot, 3)
	_, out = v.do("POST", "/VIID/Faces", gat1400.NewFaceList(face))
	sts := statuses(t, out)
	if len(sts) != 1 {
		t.Fatalf("batch answer: %v", out)
	}
	checkStatus(t, "batch POST", sts[0], face.FaceID, "/VIID/Faces", 0)

	missing := gat1400.ContentID(gat1400.SourceID("44150200001190000007", gat1400.SourceImage, shot, 99), gat1400.SubtypeFace, 1)
	code, out = v.do("GET", "/VIID/Faces/"+missing, nil)
	if code != 404 {
		t.Fatalf("missing face: %d %v", code, out)
	}
	checkStatus(t, "missing object", single(out), missing, "/VIID/Faces/"+missing, 4)

	code, out = v.do("GET", "/VIID/Faces?"+url.PathEscape("(Face.Colour = 'red')"), nil)
	if code != 400 || out["field"] == nil || out["error"] == nil {
		t.Fatalf("bad query: %d %v", code, out)
	}
	checkStatus(t, "bad query", single(out), peerID, "/VIID/Faces", 4)

	// list answers page like the platforms that page
	_, out = v.do("GET", "/VIID/Faces?RecordStartNo=1&PageRecordNum=10", nil)
	list := out["FaceListObject"].(map[string]any)
	if list["TotalNum"] != 1.0 || list["RecordStartNo"] != 1.0 || list["PageRecordNum"] != 10.0 || len(list["FaceObject"].([]any)) != 1 {
		t.Errorf("list answer: %v", list)
	}

	_, out = v.do("POST", "/VIID/System/UnRegister", map[string]any{"UnRegisterObject": map[string]any{"DeviceID": peerID}})
	checkStatus(t, "UnRegister", single(out), peerID, "/VIID/System/UnRegister", 0)
	code, out = v.do("POST", "/VIID/System/Keepalive", nil)
	if code != 401 {
		t.Fatalf("keepalive after unregister: %d", code)
	}
	checkStatus(t, "refused Keepalive", single(out), peerID, "/VIID/System/Keepalive", 4)
}
