package api_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
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
	for _, name := range []string{"c.db", "c.db-wal"} {
		if b, _ := os.ReadFile(filepath.Join(f.dir, name)); bytes.Contains(b, []byte(cascadePassword)) {
			t.Errorf("the password is in %s in clear", name)
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunCascade(ctx, 20*time.Millisecond)
	var st map[string]any
	testkit.WaitFor(t, 10*time.Second, "the link to fail or connect", func() bool {
		st = f.must("GET", "/api/v1/cascade/links/"+id, "admin", "", 200)["status"].(map[string]any)
		return st["failures"].(float64) > 0 || hits.Load() > 0
	})
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunCascade(ctx, 20*time.Millisecond)
	var st map[string]any
	testkit.WaitFor(t, 10*time.Second, "the link to fail or reach the redirect's target", func() bool {
		st = f.must("GET", "/api/v1/cascade/links/"+id, "admin", "", 200)["status"].(map[string]any)
		return st["failures"].(float64) > 0 || hits.Load() > 0
	})
	if n := hits.Load(); n != 0 || st["registered"] != false {
		t.Errorf("the redirect was followed: %d connections to its target, registered %v", n, st["registered"])
	}
}
