package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/testkit"
)

// internalService stands for what sits behind the platform's firewall (a metadata
// endpoint, an admin console): it counts the requests that reach it.
func internalService(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("#EXTM3U\n")) // whatever it says must not matter
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

// Attack (issue 14 item 7): an operator points an alert webhook, and an offline
// analysis, at an internal service: by IP, by a name that resolves to loopback,
// by IPv4-mapped IPv6, by 0.0.0.0, and through an allowed host that redirects
// inside. Nothing reaches the service; what the department reads back is the same
// for a listening blocked port and a closed allowed one (no port scanner); a
// downloaded playlist that names a local file is not a video; a download over the
// cap stops. Only what the administrator allowed (one host:port here) is reached.
func TestOutboundRequestsCannotReachInternalAddresses(t *testing.T) {
	inside, hits := internalService(t)
	port := inside.URL[strings.LastIndex(inside.URL, ":"):]
	var relayed atomic.Int32
	playlist := fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n%s\n#EXT-X-ENDLIST\n", testdata.Media(t, "vtest.avi"))
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/clip.m3u8": // a playlist whose segment is a file on the server
			w.Write([]byte(playlist))
		case "/big.mp4":
			http.ServeFile(w, r, testdata.Media(t, "faceclip.mp4"))
		default:
			relayed.Add(1)
			http.Redirect(w, r, inside.URL+"/admin", http.StatusTemporaryRedirect)
		}
	}))
	defer allowed.Close()
	closed := testkit.FreeAddr() // nobody listens there
	f := newFixture(t, func(s *api.Server) {
		s.Outbound = netguard.MustNew(strings.TrimPrefix(allowed.URL, "http://"), closed)
		s.ImportDirs = []string{t.TempDir()} // the media folder is not an import folder here
		s.MaxDownload = 100 << 10            // faceclip.mp4 is about 200 KiB
		s.MaxDeliveryAttempts = 2
	})
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)

	// an IP literal the policy refuses is refused when configured
	for _, u := range []string{inside.URL, "http://[::ffff:127.0.0.1]" + port, "http://0.0.0.0" + port, "http://169.254.169.254/latest/meta-data/", "http://[::1]" + port} {
		code, out := f.do("POST", "/api/v1/alert-subscriptions", "police_op", `{"receive_url":"`+u+`","report_interval_s":1}`)
		if code != 400 || out["field"] != "receive_url" {
			t.Errorf("webhook to %s: %d %v", u, code, out)
		}
		if code, out = f.do("POST", "/api/v1/analyses", "police_op", fmt.Sprintf(`{"device_id":%q,"url":%q,"algorithm":"face_capture"}`, cameras[1].id, u+"/v.mp4")); code != 400 || out["field"] != "url" {
			t.Errorf("analysis of %s: %d %v", u, code, out)
		}
	}
	// names and redirects are checked when connecting
	targets := []string{"http://localhost" + port + "/hook", allowed.URL + "/hook", "http://" + closed + "/hook"}
	for _, u := range targets {
		f.must("POST", "/api/v1/alert-subscriptions", "police_op", `{"receive_url":"`+u+`","report_interval_s":1}`, 201)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.srv.RunNotifier(ctx, 100*time.Millisecond)
	st, _ := f.db.GetStream(context.Background(), cameras[1].id)
	f.raise(t, st, "police", "fire.fire")
	var dead []any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(dead) < len(targets); time.Sleep(100 * time.Millisecond) {
		dead = f.must("GET", "/api/v1/notifications?state=dead", "police_op", "", 200)["notifications"].([]any)
	}
	if len(dead) != len(targets) {
		t.Fatalf("dead notifications: %v", dead)
	}
	texts := map[string]bool{}
	for _, d := range dead {
		e := d.(map[string]any)["last_error"].(string)
		for _, u := range targets { // the address is the department's own input; the rest must be one text
			e = strings.Replace(e, u, "<target>", 1)
		}
		texts[e] = true
	}
	if len(texts) != 1 {
		t.Errorf("delivery errors tell the targets apart: %v", texts)
	}
	for e := range texts {
		for _, leak := range []string{"refused", "timeout", "307", "redirect", "127.0.0.1", "dial"} {
			if strings.Contains(e, leak) {
				t.Errorf("delivery error says %q: %s", leak, e)
			}
		}
	}
	if relayed.Load() == 0 {
		t.Errorf("the allowed receiver was never called: the test proves nothing")
	}

	// downloads: a name for loopback, a redirect inside, a playlist, over the cap
	for _, c := range []struct{ url, want string }{
		{"http://localhost" + port + "/v.mp4", netguard.Public(netguard.ErrBlocked)},
		{allowed.URL + "/v.mp4", netguard.Public(netguard.ErrBlocked)},
		{allowed.URL + "/clip.m3u8", "not a video file"},
		{allowed.URL + "/big.mp4", "larger than allowed"},
	} {
		a := f.must("POST", "/api/v1/analyses", "police_op", fmt.Sprintf(`{"device_id":%q,"url":%q,"algorithm":"face_capture","params":{"sample_fps":5}}`, cameras[1].id, c.url), 202)
		got := f.waitAnalysis(a["id"].(string), "police_op", 60*time.Second)
		if got["state"] != "failed" || got["frames_analysed"] != 0.0 || !strings.Contains(fmt.Sprint(got["error"]), c.want) {
			t.Errorf("analysis of %s: %v, want failed with %q and no frame", c.url, got, c.want)
		}
		if strings.Contains(fmt.Sprint(got["error"]), os.TempDir()) {
			t.Errorf("analysis error names a server path: %v", got["error"])
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service was reached %d times", n)
	}
}
