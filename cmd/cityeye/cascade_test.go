package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// Issue 21 item 4: a district CityEye cascades up to a city CityEye, two real
// processes on loopback. The district registers with Digest, keeps alive, pushes
// the faces its rules allow (area 441502) with their images, pushes a changed face
// again as an update, rides out the city going down (re-registers, pushes the
// backlog), and after being killed itself pushes nothing twice and loses nothing.

const (
	districtLib = "44150200005030000002" // the district library's ID at the city
	inArea      = "44150200001190000007" // a camera in 441502
	outOfArea   = "44150300001190000008" // a camera in 441503: not cascaded
)

// viidPusher is a camera pushing faces into a CityEye over VIID (Digest register,
// then User-Identify).
type viidPusher struct {
	t      *testing.T
	s      *server
	id     string
	client *http.Client
}

func newPusher(t *testing.T, s *server, id, user, pass string) *viidPusher {
	p := &viidPusher{t: t, s: s, id: id, client: &http.Client{Transport: &digest.Transport{Username: user, Password: pass}}}
	p.call("/VIID/System/Register", map[string]any{"RegisterObject": map[string]any{"DeviceID": id}})
	return p
}

func (p *viidPusher) call(path string, body any) map[string]any {
	p.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, p.s.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/VIID+JSON")
	req.Header.Set("User-Identify", p.id)
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 || strings.Contains(fmt.Sprint(out), "StatusCode:8") || strings.Contains(fmt.Sprint(out), "StatusCode:4") {
		p.t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

func (p *viidPusher) faces(faces ...gat1400.Face) {
	p.t.Helper()
	p.call("/VIID/Faces", map[string]any{"FaceListObject": map[string]any{"FaceObject": faces}})
}

// faceBodies is what a server holds: FaceID → the stored object.
func (s *server) faceBodies() map[string]map[string]any {
	var out struct {
		Records []struct {
			ID     string         `json:"id"`
			Object map[string]any `json:"object"`
			Images []string       `json:"images"`
		} `json:"records"`
	}
	s.get("/api/v1/records?type=Face&limit=1000", &out)
	m := map[string]map[string]any{}
	for _, r := range out.Records {
		r.Object["_images"] = len(r.Images)
		m[r.ID] = r.Object
	}
	return m
}

func (s *server) linkStatus(id string) map[string]any {
	var out map[string]any
	s.get("/api/v1/cascade/links/"+id, &out)
	st, _ := out["status"].(map[string]any)
	return st
}

func (s *server) metric(prefix string) string {
	var b []byte
	s.get("/metrics", &b)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

func TestCascadeToSuperiorProcess(t *testing.T) {
	cityData := t.TempDir()
	city := startServer(t, cityData)
	city.post("/api/v1/departments", map[string]any{"id": "city", "name": "City bureau", "areas": []string{"441500"}})
	city.post("/api/v1/users", map[string]any{"id": "district", "name": "District platform", "department": "city", "role": "operator"})
	city.post("/api/v1/viid/peers", map[string]any{"device_id": districtLib, "username": "district-lib", "user_id": "district", "password": "district-pass-1"})

	distData := t.TempDir()
	dist := startServer(t, distData, "--outbound-allow", "127.0.0.1")
	dist.post("/api/v1/departments", map[string]any{"id": "police", "name": "District police", "areas": []string{"441500"}})
	dist.post("/api/v1/users", map[string]any{"id": "cams", "name": "Cameras", "department": "police", "role": "operator"})
	dist.post("/api/v1/viid/peers", map[string]any{"device_id": inArea, "username": "cams", "user_id": "cams", "password": "camera-pass-1"})
	link := dist.post("/api/v1/cascade/links", map[string]any{"name": "city", "url": city.url, "device_id": districtLib, "username": "district-lib",
		"password": "district-pass-1", "types": []string{"Face"}, "areas": []string{"441502"}, "keepalive_s": 1})
	linkID := link["link"].(map[string]any)["id"].(string)
	if b, _ := json.Marshal(link); strings.Contains(string(b), "district-pass-1") {
		t.Fatalf("the link's password is echoed: %s", b)
	}

	cam := newPusher(t, dist, inArea, "cams", "camera-pass-1")
	shot := time.Now().In(gat1400.Location).Add(-time.Hour).Truncate(time.Second)
	serial := 0
	face := func(dev string) gat1400.Face {
		serial++
		return testdata.VIIDFace(t, dev, shot.Add(time.Duration(serial)*time.Second), serial)
	}
	want := map[string]gat1400.Face{}
	push := func(n int) {
		var fs []gat1400.Face
		for range n {
			f := face(inArea)
			fs = append(fs, f)
			want[f.FaceID] = f
		}
		cam.faces(fs...)
	}
	arrived := func(what string, ok func(map[string]map[string]any) bool) map[string]map[string]any {
		t.Helper()
		var got map[string]map[string]any
		testkit.WaitFor(t, 60*time.Second, what, func() bool { got = city.faceBodies(); return ok(got) })
		return got
	}
	all := func(got map[string]map[string]any) bool {
		for id := range want {
			if got[id] == nil {
				return false
			}
		}
		return true
	}

	out := face(outOfArea)
	push(3)
	cam.faces(out)
	got := arrived("the first faces at the city", all)
	for id, obj := range got {
		if obj["_images"] != 1 {
			t.Errorf("face %s arrived with %v images, want its snapshot", id, obj["_images"])
		}
	}
	if st := dist.linkStatus(linkID); st["registered"] != true || st["last_keepalive_at"] == nil {
		t.Errorf("link status after the first push: %v", st)
	}
	if m := dist.metric(`cityeye_cascade_link_up{link="` + linkID + `"`); !strings.HasSuffix(m, " 1") {
		t.Errorf("metrics: %q", m)
	}

	// a face leaves the scene: its disappear time goes up as an update
	var changed gat1400.Face
	for _, f := range want {
		changed = f
		break
	}
	changed.FaceDisAppearTime = gat1400.FormatTime(shot.Add(time.Minute))
	cam.faces(changed)
	arrived("the update at the city", func(got map[string]map[string]any) bool {
		return got[changed.FaceID]["FaceDisAppearTime"] == changed.FaceDisAppearTime
	})

	// the city goes down: the link notices, the backlog waits, the city comes back
	city.cmd.Process.Signal(syscall.SIGKILL)
	city.cmd.Wait()
	push(2)
	testkit.WaitFor(t, 20*time.Second, "the link to notice the city is down", func() bool {
		st := dist.linkStatus(linkID)
		return st["registered"] == false && st["last_error"] != nil
	})
	if m := dist.metric(`cityeye_cascade_link_up{link="` + linkID + `"`); !strings.HasSuffix(m, " 0") {
		t.Errorf("metrics while the city is down: %q", m)
	}
	if st := dist.linkStatus(linkID); strings.Contains(fmt.Sprint(st["last_error"]), "connection refused") {
		t.Errorf("the link's error tells how the network answered: %v", st["last_error"])
	}
	down := dist.linkStatus(linkID)
	city = startServerAt(t, strings.TrimPrefix(city.url, "http://"), cityData)
	arrived("the backlog at the city after its restart", all)
	back := dist.linkStatus(linkID)
	t.Logf("city down: %v failures, last error %q; back: registered %v at %v", down["failures"], down["last_error"], back["registered"], back["registered_at"])

	// the district is killed mid-push and restarted: nothing lost, nothing twice
	push(4)
	time.Sleep(700 * time.Millisecond)
	dist.cmd.Process.Signal(syscall.SIGKILL)
	dist.cmd.Wait()
	dist = startServerAt(t, strings.TrimPrefix(dist.url, "http://"), distData, "--outbound-allow", "127.0.0.1")
	got = arrived("every face at the city after the district's restart", all)
	if got[out.FaceID] != nil {
		t.Errorf("a face outside the link's areas went up")
	}
	if len(got) != len(want) {
		t.Errorf("the city holds %d faces, want %d", len(got), len(want))
	}
	var batches struct {
		Batches []struct {
			State   string   `json:"state"`
			Adds    []string `json:"adds"`
			Updates []string `json:"updates"`
			Refused []string `json:"refused"`
		} `json:"batches"`
	}
	testkit.WaitFor(t, 20*time.Second, "every batch delivered", func() bool {
		dist.get("/api/v1/cascade/links/"+linkID+"/batches", &batches)
		for _, b := range batches.Batches {
			if b.State != "delivered" {
				return false
			}
		}
		return true
	})
	adds, updates := map[string]int{}, map[string]int{}
	for _, b := range batches.Batches {
		for _, id := range b.Adds {
			adds[id]++
		}
		for _, id := range b.Updates {
			updates[id]++
		}
		if len(b.Refused) > 0 {
			t.Errorf("the city refused %v", b.Refused)
		}
	}
	for id := range want {
		if adds[id] != 1 {
			t.Errorf("face %s is in %d batches as new, want 1", id, adds[id])
		}
	}
	if updates[changed.FaceID] != 1 || len(updates) != 1 {
		t.Errorf("updates in the outbox: %v, want %s once", updates, changed.FaceID)
	}
	// the snapshots went up with the faces: they are on the city's disk
	for id, obj := range got {
		if obj["_images"] != 1 {
			t.Errorf("face %s at the city has %v images", id, obj["_images"])
		}
	}
	files := 0
	filepath.WalkDir(filepath.Join(cityData, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jpg") {
			files++
		}
		return nil
	})
	if files < len(want) {
		t.Errorf("%d snapshots on the city's disk for %d faces", files, len(want))
	}
	st := dist.linkStatus(linkID)
	defer t.Logf("%d faces up in %d batches; after the district's restart: registered %v, %v pushed", len(want), len(batches.Batches), st["registered"], st["pushed_objects"])

	// paused, the district signs out at the city
	online := func() bool {
		var out struct {
			Peers []struct {
				Online bool `json:"online"`
			} `json:"peers"`
		}
		city.get("/api/v1/viid/peers", &out)
		return len(out.Peers) == 1 && out.Peers[0].Online
	}
	if !online() {
		t.Errorf("the district is not online at the city while its link runs")
	}
	resp := dist.request(http.MethodPatch, dist.url+"/api/v1/cascade/links/"+linkID, strings.NewReader(`{"disabled":true}`))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pause the link: %s", resp.Status)
	}
	testkit.WaitFor(t, 10*time.Second, "the district to sign out at the city", func() bool { return !online() })
}
