package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/gat1400/digest"
)

// Issue 19 item 3: two API servers on one database (behind a load balancer), each
// with its own process state and its own watermark key. A peer registers on the
// first and keeps alive on the second (a restarted server is the second server
// too); a nonce the first issued is good on the second; a Register's credentials
// replayed to the second are refused.
func TestVIIDSessionSharedBetweenServers(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	_, f2 := f.secondServer(func(s *api.Server) { s.WatermarkKey = []byte("another server's watermark key..") })
	v2 := &viidClient{t: t, f: f2, id: peerID}

	body := `{"RegisterObject":{"DeviceID":"` + peerID + `"}}`
	post := func(url, auth string) int {
		req, _ := http.NewRequest("POST", url+"/VIID/System/Register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/VIID+JSON")
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	resp, err := http.Post(f.url+"/VIID/System/Register", "application/VIID+JSON", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	h1, _ := digest.Authorize("POST", "/VIID/System/Register", challenge, "lower-platform", "s3cret-pass", 1)
	if code := post(f.url, h1); code != 200 {
		t.Fatalf("Register on the first server: %d", code)
	}
	keepalive := map[string]any{"KeepaliveObject": map[string]any{"DeviceID": peerID}}
	if code, out := v2.do("POST", "/VIID/System/Keepalive", keepalive); code != 200 || statusCode(out) != 0.0 {
		t.Fatalf("Keepalive on the second server: %d %v", code, out)
	}
	if code := post(f2.url, h1); code != 401 {
		t.Fatalf("the first server's Register replayed to the second: %d", code)
	}
	h2, _ := digest.Authorize("POST", "/VIID/System/Register", challenge, "lower-platform", "s3cret-pass", 2)
	if code := post(f2.url, h2); code != 200 {
		t.Fatalf("the first server's nonce, next count, on the second: %d", code)
	}
	if code, _ := v.do("GET", "/VIID/Faces", nil); code != 200 {
		t.Fatalf("the session on the first server after re-registering on the second: %d", code)
	}
}

// secondServer is another API server on the fixture's database (as behind a load
// balancer), with its own process state, configured by opts; the fixture it returns
// sends requests to it.
func (f *fixture) secondServer(opts ...func(*api.Server)) (*api.Server, *fixture) {
	f.t.Helper()
	second := &api.Server{DB: f.db, Objects: f.objs, Scheduler: f.srv.Scheduler, Repo: f.srv.Repo, Started: time.Now(), Jobs: f.srv.Jobs,
		WatermarkKey: f.srv.WatermarkKey, Now: f.srv.Now, Outbound: f.srv.Outbound}
	for _, o := range opts {
		o(second)
	}
	ts := httptest.NewServer(second.Handler())
	f.t.Cleanup(ts.Close)
	f2 := *f
	f2.url = ts.URL
	return second, &f2
}
