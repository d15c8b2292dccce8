package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/testdata"
)

// viidRegister registers device as account user over HTTP Digest and returns a
// request maker that sends User-Identify.
func viidRegister(t *testing.T, base, device, user, password string) func(method, path string, body any) (int, map[string]any) {
	t.Helper()
	reg := `{"RegisterObject":{"DeviceID":"` + device + `"}}`
	resp, err := http.Post(base+"/VIID/System/Register", "application/VIID+JSON", strings.NewReader(reg))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	auth, err := digest.Authorize("POST", "/VIID/System/Register", resp.Header.Get("WWW-Authenticate"), user, password, 1)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/VIID/System/Register", strings.NewReader(reg))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/VIID+JSON")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("register: %v %v", err, resp)
	}
	resp.Body.Close()
	return func(method, path string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/VIID+JSON;charset=UTF-8")
		req.Header.Set("User-Identify", device)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
}

// A real server process with its own view-library ID: a plate disposition set over
// REST catches a vehicle a lower platform pushes over /VIID; the alert is on the
// map and the DispositionNotification reaches the receiver (a peer on loopback,
// allowed by outbound_allow) within 2 s, sent as the configured ID.
func TestDispositionInRealProcess(t *testing.T) {
	const serverID, lower = "44150000005030000042", "44150200001190000001"
	s := startServer(t, t.TempDir(), "--viid-server-id", serverID, "--outbound-allow", "127.0.0.1")
	got := make(chan [2]string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- [2]string{string(b), r.Header.Get("User-Identify")}
		w.Write([]byte(`{"ResponseStatusObject":{"RequestURL":"/VIID/DispositionNotifications","StatusCode":0,"StatusString":"OK","Id":"x","LocalTime":"20261122080000"}}`))
	}))
	defer recv.Close()

	s.post("/api/v1/departments", map[string]any{"id": "police", "name": "Public security bureau", "areas": []string{"441500"}}, 201, 409)
	s.post("/api/v1/users", map[string]any{"id": "op1", "name": "Operator", "department": "police", "role": "operator"})
	s.post("/api/v1/viid/peers", map[string]any{"device_id": lower, "username": "lower", "user_id": "op1", "password": "s3cret-pass"})
	d := s.post("/api/v1/dispositions", map[string]any{"category": "plate", "title": "stolen car", "reason": "case 2026-130", "priority": 1,
		"end": time.Now().Add(24 * time.Hour).Format(time.RFC3339), "areas": []string{"441502"}, "plates": []string{"粤B12345"},
		"receive_addr": recv.URL + "/VIID/DispositionNotifications"})

	peer := viidRegister(t, s.url, lower, "lower", "s3cret-pass")
	if _, out := peer("GET", "/VIID/System/Time", nil); out["SystemTimeObject"].(map[string]any)["VIIDServerID"] != serverID {
		t.Errorf("System/Time: %v", out)
	}
	img, _ := os.ReadFile(testdata.Media(t, "car1.jpg"))
	const dev = "44150200001190000007"
	time.Sleep(500 * time.Millisecond) // the matcher's first pass places its cursor
	shot := time.Now().In(gat1400.Location)
	src := gat1400.SourceID(dev, gat1400.SourceImage, shot, 1)
	v := gat1400.MotorVehicle{MotorVehicleID: gat1400.ContentID(src, gat1400.SubtypeMotorVehicle, 1), InfoKind: gat1400.InfoKindAuto, SourceID: src,
		DeviceID: dev, Box: gat1400.Box{LeftTopX: 43, LeftTopY: 197, RightBtmX: 956, RightBtmY: 476}, PassTime: gat1400.FormatTime(shot),
		HasPlate: true, PlateNo: "粤B12345", VehicleColor: gat1400.ColorWhite,
		SubImageList: gat1400.NewSubImageList(gat1400.SubImageInfo{ImageID: src, EventSort: gat1400.EventVehicleDetection, DeviceID: dev,
			Type: gat1400.ImageVehicleCloseUp, FileFormat: gat1400.FormatJpeg, ShotTime: gat1400.FormatTime(shot), Width: 1024, Height: 683,
			Data: base64.StdEncoding.EncodeToString(img)})}
	start := time.Now()
	if code, out := peer("POST", "/VIID/MotorVehicles", gat1400.NewMotorVehicleList(v)); code != 200 || !strings.Contains(toJSON(out), `"StatusCode":0`) {
		t.Fatalf("push: %d %v", code, out)
	}
	select {
	case n := <-got:
		took := time.Since(start)
		t.Logf("push → DispositionNotification at the receiver: %v", took)
		if took > 2*time.Second {
			t.Errorf("alarm after %v, want within 2 s", took)
		}
		if n[1] != serverID || !strings.Contains(n[0], `"DispositionID":"`+d["id"].(string)+`"`) || !strings.Contains(n[0], `"CntObjectID":"`+v.MotorVehicleID+`"`) {
			t.Errorf("notification %s from %s", n[0], n[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no DispositionNotification after 10 s\n%s", s.logs)
	}
	var alerts struct{ Alerts []map[string]any }
	s.get("/api/v1/alerts?kind=disposition.plate", &alerts)
	if len(alerts.Alerts) != 1 || alerts.Alerts[0]["device_id"] != dev {
		t.Fatalf("alerts: %v", alerts)
	}
	var snap []byte
	if code := s.get("/api/v1/objects/"+alerts.Alerts[0]["image"].(string), &snap); code != 200 || len(snap) < 1000 {
		t.Errorf("alert image: %d", code)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
