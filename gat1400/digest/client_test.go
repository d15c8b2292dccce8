package digest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestAuthorizeRoundTrip(t *testing.T) {
	a := &Authenticator{Realm: "VIID", Secret: []byte("k"), Lookup: func(u string) (string, bool) { return testPass, u == testUser }}
	for _, method := range []string{"POST", "GET", "PUT", "DELETE"} {
		for nc := 1; nc <= 3; nc++ {
			h, err := Authorize(method, "/VIID/System/Keepalive?x=1", a.ChallengeHeader(false), testUser, testPass, nc)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(method, "/VIID/System/Keepalive?x=1", nil)
			r.Header.Set("Authorization", h)
			if u, err := a.Verify(r); err != nil || u != testUser {
				t.Errorf("%s nc=%d: %q %v (%s)", method, nc, u, err, h)
			}
		}
	}
	// User names and realms needing escapes survive the round trip.
	b := &Authenticator{Realm: `odd "realm"`, Secret: []byte("k"), Lookup: func(u string) (string, bool) { return "p", u == `we\ird"user` }}
	h, err := Authorize("POST", "/x", b.ChallengeHeader(false), `we\ird"user`, "p", 7)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set("Authorization", h)
	if u, err := b.Verify(r); err != nil || u != `we\ird"user` {
		t.Errorf("escaped: %q %v (%s)", u, err, h)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	ok := `Digest realm="r",qop="auth",nonce="n"`
	for _, c := range []struct {
		challenge string
		nc        int
	}{
		{`Basic realm="r"`, 1},
		{`Digest realm="r",qop="auth"`, 1},               // no nonce
		{`Digest nonce="n"`, 1},                          // no realm
		{`Digest realm="r",qop="auth-int",nonce="n"`, 1}, // only auth-int
		{`Digest realm="r",nonce="n",algorithm=SHA-256`, 1},
		{ok, 0},
		{ok, 1 << 33},
	} {
		if h, err := Authorize("GET", "/", c.challenge, "u", "p", c.nc); err == nil {
			t.Errorf("%q nc=%d: want error, got %s", c.challenge, c.nc, h)
		}
	}
	// MD5-sess: HA1 = MD5(MD5(user:realm:pass):nonce:cnonce).
	ch, _ := ParseChallenge(`Digest realm="r",qop="auth",nonce="n",algorithm=MD5-sess`)
	h, err := ch.authorize("GET", "/", "u", "p", 1, "c")
	if err != nil {
		t.Fatal(err)
	}
	want := response(md5hex(ha1("u", "r", "p"), "n", "c"), "n", "00000001", "c", "auth", ha2("GET", "/"))
	if !strings.Contains(h, `response="`+want+`"`) || !strings.Contains(h, "algorithm=MD5-sess") {
		t.Errorf("MD5-sess header %s, want response %s", h, want)
	}
}

// onlyReader hides bytes.Reader's type so http.NewRequest sets no GetBody.
type onlyReader struct{ io.Reader }

func TestTransport(t *testing.T) {
	ts := newTestServer(t)
	body := `{"RegisterObject":{"DeviceID":"` + testUser + `"}}`
	for _, c := range []struct {
		name string
		body func() io.Reader
	}{
		{"buffered body (no GetBody)", func() io.Reader { return onlyReader{strings.NewReader(body)} }},
		{"GetBody", func() io.Reader { return bytes.NewReader([]byte(body)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts.resetHits()
			client := &http.Client{Transport: &Transport{Username: testUser, Password: testPass}}
			req, _ := http.NewRequest("POST", ts.URL+registerPath, c.body())
			req.Header.Set("User-Identify", testUser)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(got) != testUser+" "+registerPath+" "+body {
				t.Fatalf("status %d body %q, err %v", resp.StatusCode, got, ts.err())
			}
			if ts.hitCount() != 2 {
				t.Errorf("%d requests, want 2 (challenge + retry)", ts.hitCount())
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("caller's request was modified")
			}
		})
	}

	t.Run("wrong password retries once", func(t *testing.T) {
		ts.resetHits()
		client := &http.Client{Transport: &Transport{Username: testUser, Password: "wrong"}}
		resp, err := client.Post(ts.URL+registerPath, "application/VIID+JSON", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || ts.hitCount() != 2 {
			t.Errorf("status %d after %d requests, want 401 after 2", resp.StatusCode, ts.hitCount())
		}
	})

	t.Run("preemptive", func(t *testing.T) {
		ts.resetHits()
		tr := &Transport{Username: testUser, Password: testPass, Preemptive: true}
		client := &http.Client{Transport: tr}
		for i := 0; i < 3; i++ {
			resp, err := client.Post(ts.URL+registerPath, "application/VIID+JSON", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("request %d: status %d, err %v", i, resp.StatusCode, ts.err())
			}
		}
		if ts.hitCount() != 4 {
			t.Errorf("%d requests, want 4 (one challenge, then preemptive)", ts.hitCount())
		}
		// After the cached nonce expires the 401 stale=true is answered with one retry.
		ts.clock.Advance(2 * ts.auth.NonceTTL)
		ts.resetHits()
		resp, err := client.Post(ts.URL+registerPath, "application/VIID+JSON", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || ts.hitCount() != 2 {
			t.Errorf("after expiry: status %d after %d requests", resp.StatusCode, ts.hitCount())
		}
	})
}

func TestTransportPassThrough(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/basic":
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			w.WriteHeader(401)
		case "/auth":
			io.WriteString(w, r.Header.Get("Authorization"))
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: &Transport{Username: "u", Password: "p"}}

	resp, err := client.Get(srv.URL + "/basic")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || n.Load() != 1 {
		t.Errorf("non-Digest 401: status %d after %d requests", resp.StatusCode, n.Load())
	}
	req, _ := http.NewRequest("GET", srv.URL+"/auth", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "Bearer tok" {
		t.Errorf("caller's Authorization replaced: %q", got)
	}
}

func TestTransportConcurrent(t *testing.T) {
	ts := newTestServer(t)
	client := &http.Client{Transport: &Transport{Username: testUser, Password: testPass, Preemptive: true}}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				resp, err := client.Post(ts.URL+registerPath, "application/VIID+JSON", strings.NewReader("{}"))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d, err %v", resp.StatusCode, ts.err())
					return
				}
			}
		}()
	}
	wg.Wait()
}
