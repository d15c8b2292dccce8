package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/testdata/testkit"
)

const cascadePassword = "up-to-the-city-7"

func cascadeLinkBody(url string) string {
	return `{"name":"city","url":"` + url + `","device_id":"44150200005030000002","password":"` + cascadePassword + `","types":["Face"],"areas":["441502"],"sharing":[1],"keepalive_s":1}`
}

// Only the platform administrator configures cascade links; bad fields are named;
// the password is never shown again, nor written in clear.
func TestCascadeLinkConfiguration(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/cascade/links", "police_admin", cascadeLinkBody("http://city.example:8080"), 403)
	for field, body := range map[string]string{
		"url":         cascadeLinkBody("ftp://city.example"),
		"device_id":   strings.Replace(cascadeLinkBody("http://city.example"), "44150200005030000002", "4415", 1),
		"types":       strings.Replace(cascadeLinkBody("http://city.example"), `["Face"]`, `["Alert"]`, 1),
		"areas":       strings.Replace(cascadeLinkBody("http://city.example"), `["441502"]`, `["4415"]`, 1),
		"sharing":     strings.Replace(cascadeLinkBody("http://city.example"), `[1]`, `[7]`, 1),
		"keepalive_s": strings.Replace(cascadeLinkBody("http://city.example"), `"keepalive_s":1`, `"keepalive_s":-1`, 1),
		"password":    strings.Replace(cascadeLinkBody("http://city.example"), cascadePassword, "", 1),
	} {
		if out := f.must("POST", "/api/v1/cascade/links", "admin", body, 400); out["field"] != field {
			t.Errorf("bad %s: answered for field %v (%v)", field, out["field"], out["error"])
		}
	}
	created := f.must("POST", "/api/v1/cascade/links", "admin", cascadeLinkBody("http://city.example:8080/VIID/"), 201)
	link := created["link"].(map[string]any)
	if link["url"] != "http://city.example:8080" || link["username"] != "44150200005030000002" {
		t.Errorf("link as stored: %v", link)
	}
	id := link["id"].(string)
	_, list := f.raw("GET", "/api/v1/cascade/links", "admin", "")
	_, one := f.raw("GET", "/api/v1/cascade/links/"+id, "admin", "")
	_, audit := f.raw("GET", "/api/v1/audit?action=cascade.create", "admin", "")
	for what, text := range map[string]string{"the list": list, "the link": one, "the audit trail": audit} {
		if strings.Contains(text, cascadePassword) {
			t.Errorf("%s shows the password: %s", what, text)
		}
	}
	if !strings.Contains(audit, id) {
		t.Errorf("the link's creation is not audited: %s", audit)
	}
	// a new password and the link paused; the rest stays
	f.must("PATCH", "/api/v1/cascade/links/"+id, "police_admin", `{"disabled":true}`, 403)
	if out := f.must("PATCH", "/api/v1/cascade/links/"+id, "admin", `{"keepalive_s":0}`, 400); out["field"] != "keepalive_s" {
		t.Errorf("bad keepalive_s in a change: %v", out)
	}
	const newPassword = "rotated-pass-2027"
	code, changed := f.raw("PATCH", "/api/v1/cascade/links/"+id, "admin", `{"password":"`+newPassword+`","disabled":true}`)
	if code != 200 || strings.Contains(changed, newPassword) || !strings.Contains(changed, `"enabled":false`) || !strings.Contains(changed, `"areas":["441502"]`) {
		t.Errorf("change: %d %s", code, changed)
	}
	for _, name := range []string{"c.db", "c.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(f.dir, name))
		if bytes.Contains(b, []byte(cascadePassword)) || bytes.Contains(b, []byte(newPassword)) {
			t.Errorf("a password is in %s in clear", name)
		}
	}
	f.must("DELETE", "/api/v1/cascade/links/"+id, "admin", "", 204)
	f.must("GET", "/api/v1/cascade/links/"+id, "admin", "", 404)
}

// countingListener accepts and counts connections on loopback.
func countingListener(t *testing.T, h http.Handler) (string, *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), &n
}

// runUntilFailure runs the cascade until link id fails or the listener behind
// hits is reached, and returns the link's status.
func runUntilFailure(t *testing.T, f *fixture, id string, hits *atomic.Int64) map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.srv.RunCascade(ctx, 20*time.Millisecond)
	var st map[string]any
	testkit.WaitFor(t, 10*time.Second, "the link to fail or reach the listener", func() bool {
		st = f.must("GET", "/api/v1/cascade/links/"+id, "admin", "", 200)["status"].(map[string]any)
		return st["failures"].(float64) > 0 || hits.Load() > 0
	})
	return st
}

// Attack: a superior's URL is an address someone names, so it is a way into the
// internal network. Internal IP literals are refused when configured; a name that
// resolves to an internal address gets no connection; a superior that redirects
// is not followed; and the link's error does not tell what the network answered.
func TestCascadeSuperiorURLIsGuarded(t *testing.T) {
	f := newFixture(t, func(s *api.Server) { s.Outbound = netguard.MustNew() }) // no internal target allowed
	for _, u := range []string{"http://10.0.0.1", "http://169.254.169.254/latest", "http://127.0.0.1:8080", "http://[::1]:80", "http://[::ffff:10.0.0.1]", "http://0.0.0.0", "http://admin:pw@city.example"} {
		if out := f.must("POST", "/api/v1/cascade/links", "admin", cascadeLinkBody(u), 400); out["field"] != "url" {
			t.Errorf("%s: %v", u, out)
		}
	}
	inside, hits := countingListener(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	_, port, _ := net.SplitHostPort(inside)
	id := f.must("POST", "/api/v1/cascade/links", "admin", cascadeLinkBody("http://localhost:"+port), 201)["link"].(map[string]any)["id"].(string)
	st := runUntilFailure(t, f, id, hits)
	if n := hits.Load(); n != 0 {
		t.Errorf("a name resolving to loopback got %d connections", n)
	}
	if e, _ := st["last_error"].(string); strings.Contains(e, "127.0.0.1") || strings.Contains(e, "refused") || !strings.Contains(e, "could not reach") {
		t.Errorf("the error tells about the network: %q", e)
	}
}

// Attack: an allowed superior that answers with a redirect to another internal
// place does not get the link there, neither at register nor with the password.
func TestCascadeRedirectNotFollowed(t *testing.T) {
	f := newFixture(t) // the fixture allows 127.0.0.1 (the superior's address)
	target, hits := countingListener(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	superior, _ := countingListener(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+target+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	id := f.must("POST", "/api/v1/cascade/links", "admin", cascadeLinkBody("http://"+superior), 201)["link"].(map[string]any)["id"].(string)
	st := runUntilFailure(t, f, id, hits)
	if n := hits.Load(); n != 0 || st["registered"] != false {
		t.Errorf("the redirect was followed: %d connections to its target, registered %v", n, st["registered"])
	}
}

// "Never twice" across a crash: the lower library can lose the superior's answer
// (it crashed, or the connection broke, after the superior stored the objects and
// before the batch was marked delivered). The batch is then pushed again, whole;
// the superior stores by object ID, so it holds each object once. Here a gateway
// in front of a real CityEye superior drops the answer to the first push; it also
// checks what the lower sends is what a peer expects (conformance): User-Identify
// and application/VIID+JSON on every request, RegisterObject.DeviceID, and each
// FaceObject with its snapshot inline as Data, no StoragePath.
func TestCascadePushRepeatedAfterLostAnswerIsStoredOnce(t *testing.T) {
	sup := newFixture(t)
	sup.must("POST", "/api/v1/viid/peers", "market_admin", `{"device_id":"44150200005030000002","user_id":"market_op","password":"`+cascadePassword+`"}`, 201)
	target, _ := url.Parse(sup.url)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	seen := map[string]int{} // FaceID → times it reached the superior
	var drop atomic.Int32
	drop.Store(1)
	var bad []string // what the lower sent that a peer would not expect
	registered := 0
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isPush := r.URL.Path == "/VIID/Faces"
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var env struct {
			RegisterObject struct{ DeviceID string }
			FaceListObject struct{ FaceObject []gat1400.Face }
		}
		json.Unmarshal(b, &env)
		mu.Lock()
		if r.Header.Get("User-Identify") != "44150200005030000002" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/VIID+JSON") {
			bad = append(bad, r.URL.Path+": headers "+fmt.Sprint(r.Header))
		}
		if r.URL.Path == "/VIID/System/Register" {
			registered++
			if env.RegisterObject.DeviceID != "44150200005030000002" {
				bad = append(bad, "Register body "+string(b))
			}
		}
		for _, fc := range env.FaceListObject.FaceObject {
			seen[fc.FaceID]++
			img := fc.SubImageList.SubImageInfoObject
			if len(img) != 1 || img[0].StoragePath != "" || len(img[0].Data) < 1000 {
				bad = append(bad, "face "+fc.FaceID+" without its snapshot inline")
			}
		}
		mu.Unlock()
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		if isPush && drop.Add(-1) >= 0 {
			http.Error(w, "gateway lost the answer", http.StatusBadGateway)
			return
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(gateway.Close)

	f := newFixture(t)
	cam := f.viidPeer(t)
	cam.register("s3cret-pass", false)
	body := strings.Replace(cascadeLinkBody(gateway.URL), `"sharing":[1],`, "", 1)
	id := f.must("POST", "/api/v1/cascade/links", "admin", body, 201)["link"].(map[string]any)["id"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunCascade(ctx, 50*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	shot := time.Date(2026, 11, 22, 9, 0, 0, 0, gat1400.Location)
	faces := []any{viidFace(t, "44150200001190000007", shot, 1), viidFace(t, "44150200001190000007", shot, 2)}
	cam.do("POST", "/VIID/Faces", faceList(faces...))
	// the faces may go up in one batch or two; the first push's answer is lost
	var batches []any
	testkit.WaitFor(t, 20*time.Second, "every face up and every batch delivered", func() bool {
		batches = f.must("GET", "/api/v1/cascade/links/"+id+"/batches", "admin", "", 200)["batches"].([]any)
		up := 0
		for _, b := range batches {
			if b.(map[string]any)["state"] == "delivered" {
				up += len(b.(map[string]any)["adds"].([]any))
			}
		}
		return up == len(faces)
	})
	attempts := 0
	for _, b := range batches {
		attempts += int(b.(map[string]any)["attempts"].(float64))
	}
	if attempts != len(batches)+1 {
		t.Errorf("%d batches pushed in %d attempts, want one more (the lost answer)", len(batches), attempts)
	}
	mu.Lock()
	twice := 0
	for _, x := range faces {
		id := x.(gat1400.Face).FaceID
		if seen[id] == 2 {
			twice++
		} else if seen[id] != 1 {
			t.Errorf("face %s reached the superior %d times", id, seen[id])
		}
	}
	if len(bad) > 0 || registered == 0 {
		t.Errorf("requests (%d registrations): %v", registered, bad)
	}
	mu.Unlock()
	if twice == 0 {
		t.Errorf("no face was pushed again after the lost answer: %v", seen)
	}
	if total := sup.must("GET", "/api/v1/records?type=Face", "market_op", "", 200)["total"]; total != 2.0 {
		t.Errorf("the superior holds %v faces, want 2", total)
	}
	// every push attempt of data out of the platform is in the audit trail
	if pushes := f.auditEntries("limit=100&action=cascade.push&target=" + id); len(pushes) != attempts || !strings.Contains(fmt.Sprint(pushes[0]["detail"]), gateway.URL) {
		t.Errorf("%d cascade pushes audited for %d attempts: %v", len(pushes), attempts, pushes)
	}
}
