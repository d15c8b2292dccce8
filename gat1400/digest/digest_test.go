package digest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// RFC 2617 §3.5 example.
const (
	rfcUser     = "Mufasa"
	rfcPass     = "Circle Of Life"
	rfcRealm    = "testrealm@host.com"
	rfcNonce    = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
	rfcURI      = "/dir/index.html"
	rfcCnonce   = "0a4f113b"
	rfcResponse = "6629fae49393a05397450978507c4ef1"
	rfcOpaque   = "5ccc069c403ebaf9f0171e9517f40e41"
)

func TestRFC2617KnownAnswer(t *testing.T) {
	got := response(ha1(rfcUser, rfcRealm, rfcPass), rfcNonce, "00000001", rfcCnonce, "auth", ha2("GET", rfcURI))
	if got != rfcResponse {
		t.Fatalf("response = %s, want %s", got, rfcResponse)
	}

	// The same through the client helper, from the RFC's challenge.
	challenge := `Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41"`
	ch, err := ParseChallenge(challenge)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ch.authorize("GET", rfcURI, rfcUser, rfcPass, 1, rfcCnonce)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseDigestHeader(h)
	if err != nil {
		t.Fatalf("parse %q: %v", h, err)
	}
	want := map[string]string{"username": rfcUser, "realm": rfcRealm, "nonce": rfcNonce, "uri": rfcURI,
		"qop": "auth", "nc": "00000001", "cnonce": rfcCnonce, "response": rfcResponse, "opaque": rfcOpaque}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q (header %s)", k, p[k], v, h)
		}
	}

	// And the RFC's Authorization header parses to the same values.
	rfcHeader := `Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41"`
	p, err = parseDigestHeader(rfcHeader)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("RFC header: %s = %q, want %q", k, p[k], v)
		}
	}
}

func TestParseParams(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
	}{
		{`a="1", b=2`, map[string]string{"a": "1", "b": "2"}},
		{`a="1",b=2`, map[string]string{"a": "1", "b": "2"}},
		{`A = "x, y" ,  B=tok , ,c=""`, map[string]string{"a": "x, y", "b": "tok", "c": ""}},
		{`a="q\"uo\\te"`, map[string]string{"a": `q"uo\te`}},
		{`a="1",opaque="null`, map[string]string{"a": "1", "opaque": "null"}}, // unterminated at the end
		{`uri="http://h:1/p?x=1&y=2", qop=auth`, map[string]string{"uri": "http://h:1/p?x=1&y=2", "qop": "auth"}},
		{``, map[string]string{}},
	}
	for _, c := range cases {
		got, err := parseParams(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{`a`, `=1`, `a="1" b=2`, `a=1, a=2`, `a="1"x`} {
		if got, err := parseParams(bad); err == nil {
			t.Errorf("%q: want error, got %v", bad, got)
		}
	}
	if _, err := parseDigestHeader(`Basic dXNlcjpwYXNz`); !errors.Is(err, errNotDigest) {
		t.Errorf("Basic: err = %v", err)
	}
	if p, err := parseDigestHeader(`digest username="u"`); err != nil || p["username"] != "u" {
		t.Errorf("lower-case scheme: %v %v", p, err)
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", `with "quotes"`, `back\slash`, `a,b=c`} {
		p, err := parseParams("x=" + quote(s))
		if err != nil || p["x"] != s {
			t.Errorf("%q: got %q, %v", s, p["x"], err)
		}
	}
}

// fakeClock is an injectable, concurrency-safe clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testUser = "34020000002000000001"
	testPass = "s3cret pass"
)

// testServer serves the VIID system endpoints behind an Authenticator and
// records the last Verify error.
type testServer struct {
	*httptest.Server
	auth  *Authenticator
	clock *fakeClock

	mu      sync.Mutex
	lastErr error
	hits    int
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{clock: newClock()}
	ts.auth = &Authenticator{
		Realm:    "VIID",
		Secret:   []byte("test secret"),
		NonceTTL: time.Minute,
		Lookup: func(u string) (string, bool) {
			if u == testUser {
				return testPass, true
			}
			return "", false
		},
		Now: ts.clock.Now,
	}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, err := ts.auth.Verify(r)
		ts.mu.Lock()
		ts.lastErr = err
		ts.hits++
		ts.mu.Unlock()
		if err != nil {
			ts.auth.Reject(w, err)
			return
		}
		fmt.Fprintf(w, "%s %s %s", user, r.URL.RequestURI(), body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) resetHits() {
	ts.mu.Lock()
	ts.hits = 0
	ts.mu.Unlock()
}

func (ts *testServer) hitCount() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.hits
}

func (ts *testServer) err() error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.lastErr
}

// challenge makes an unauthenticated request and returns the 401's
// WWW-Authenticate value.
func (ts *testServer) challenge(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Post(ts.URL+path, "application/VIID+JSON", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated: status %d", resp.StatusCode)
	}
	if !errors.Is(ts.err(), ErrMissing) {
		t.Fatalf("unauthenticated: err = %v", ts.err())
	}
	return resp.Header.Get("WWW-Authenticate")
}

// send POSTs path with the given Authorization and returns status and the
// WWW-Authenticate of the answer.
func (ts *testServer) send(t *testing.T, path, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(`{"RegisterObject":{"DeviceID":"`+testUser+`"}}`))
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

const registerPath = "/VIID/System/Register"

func TestChallengeFormat(t *testing.T) {
	ts := newTestServer(t)
	v := ts.challenge(t, registerPath)
	// Written for naive split(",")/split("=") clients: realm first, no
	// spaces after commas, no '=' inside values.
	if !strings.HasPrefix(v, `Digest realm="VIID",qop="auth",nonce="`) || !strings.HasSuffix(v, ",algorithm=MD5") {
		t.Errorf("challenge %q", v)
	}
	for _, item := range strings.Split(v, ",") {
		if strings.Count(item, "=") != 1 {
			t.Errorf("item %q of %q does not split on '=' into two", item, v)
		}
	}
	ch, err := ParseChallenge(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Nonce) != 64 || !isHex(ch.Nonce) || ch.Opaque == "" || ch.Stale || ch.QOP != "auth" || ch.Algorithm != "MD5" {
		t.Errorf("challenge fields %+v", ch)
	}
	if v2 := ts.challenge(t, registerPath); v2 == v {
		t.Errorf("two challenges share a nonce: %q", v)
	}
}

func TestEndToEndSuccess(t *testing.T) {
	ts := newTestServer(t)
	full := ts.URL + registerPath // http://127.0.0.1:port/VIID/System/Register

	t.Run("path uri", func(t *testing.T) {
		h, err := Authorize("POST", registerPath, ts.challenge(t, registerPath), testUser, testPass, 1)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := ts.send(t, registerPath, h); code != 200 {
			t.Fatalf("status %d, err %v", code, ts.err())
		}
	})
	t.Run("full URL uri", func(t *testing.T) {
		if !strings.HasPrefix(full, "http://127.0.0.1:") {
			t.Fatalf("unexpected server URL %s", full)
		}
		h, err := Authorize("POST", full, ts.challenge(t, registerPath), testUser, testPass, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(h, `uri="`+full+`"`) {
			t.Fatalf("header %s", h)
		}
		if code, _ := ts.send(t, registerPath, h); code != 200 {
			t.Fatalf("status %d, err %v", code, ts.err())
		}
	})
	t.Run("full URL uri with another host", func(t *testing.T) {
		// The client knows the server by a NAT address; only path+query count.
		u := "http://10.1.2.3:8080" + registerPath
		h, err := Authorize("POST", u, ts.challenge(t, registerPath), testUser, testPass, 1)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := ts.send(t, registerPath, h); code != 200 {
			t.Fatalf("status %d, err %v", code, ts.err())
		}
	})
	t.Run("path uri with query", func(t *testing.T) {
		p := "/VIID/System/Register?x=1&y=a%20b"
		h, err := Authorize("POST", p, ts.challenge(t, p), testUser, testPass, 1)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := ts.send(t, p, h); code != 200 {
			t.Fatalf("status %d, err %v", code, ts.err())
		}
	})

	// Hand-built headers with unusual formatting.
	odd := []struct {
		name   string
		format func(nonce, uri, resp, cnonce string) string
		uri    string
		cnonce string
	}{
		{"no spaces, reordered, unquoted qop/nc/algorithm", func(n, u, r, c string) string {
			return `Digest response="` + r + `",nc=00000001,qop=auth,algorithm=MD5,uri="` + u + `",cnonce="` + c + `",nonce="` + n + `",realm="VIID",username="` + testUser + `"`
		}, registerPath, "0a4f113b"},
		{"upper-case names, odd spaces, comma in cnonce", func(n, u, r, c string) string {
			return "DIGEST   USERNAME = \"" + testUser + "\" ,REALM=\"VIID\",\tNonce=" + n + " , URI=\"" + u + "\",QOP=\"auth\" ,NC=\"00000001\", CNonce=\"" + c + "\",Response=\"" + strings.ToUpper(r) + "\",,"
		}, registerPath, "a,b c"},
		{"Java client style: all quoted, full URL, opaque=\"null unterminated", func(n, u, r, c string) string {
			return `Digest username="` + testUser + `",realm="VIID",nonce="` + n + `",uri="` + u + `",qop="auth",nc="00000001",cnonce="` + c + `",response="` + r + `",opaque="null`
		}, full, "abcdefgh"},
	}
	for _, o := range odd {
		t.Run(o.name, func(t *testing.T) {
			ch, err := ParseChallenge(ts.challenge(t, registerPath))
			if err != nil {
				t.Fatal(err)
			}
			r := response(ha1(testUser, "VIID", testPass), ch.Nonce, "00000001", o.cnonce, "auth", ha2("POST", o.uri))
			h := o.format(ch.Nonce, o.uri, r, o.cnonce)
			if code, _ := ts.send(t, registerPath, h); code != 200 {
				t.Fatalf("status %d, err %v for %s", code, ts.err(), h)
			}
		})
	}
}

// authFor returns credentials for path from a fresh challenge on path.
func authFor(t *testing.T, ts *testServer, method, path, uri, user, pass string) string {
	t.Helper()
	h, err := Authorize(method, uri, ts.challenge(t, path), user, pass, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func expect401(t *testing.T, ts *testServer, path, auth string, kind error, stale bool) {
	t.Helper()
	code, www := ts.send(t, path, auth)
	if code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", code)
	}
	if !errors.Is(ts.err(), kind) {
		t.Errorf("err = %v, want %v", ts.err(), kind)
	}
	ch, err := ParseChallenge(www)
	if err != nil {
		t.Fatalf("401 without a usable challenge %q: %v", www, err)
	}
	if ch.Stale != stale {
		t.Errorf("stale = %v, want %v (%s)", ch.Stale, stale, www)
	}
}

func TestEndToEndFailures(t *testing.T) {
	ts := newTestServer(t)

	t.Run("missing", func(t *testing.T) { ts.challenge(t, registerPath) })
	t.Run("basic scheme", func(t *testing.T) {
		expect401(t, ts, registerPath, "Basic dXNlcjpwYXNz", ErrMissing, false)
	})
	t.Run("wrong password", func(t *testing.T) {
		expect401(t, ts, registerPath, authFor(t, ts, "POST", registerPath, registerPath, testUser, "wrong"), ErrBadResponse, false)
	})
	t.Run("unknown user", func(t *testing.T) {
		expect401(t, ts, registerPath, authFor(t, ts, "POST", registerPath, registerPath, "34020000002000000099", testPass), ErrUnknownUser, false)
		var e *Error
		if !errors.As(ts.err(), &e) || e.Username != "34020000002000000099" {
			t.Errorf("Error.Username: %v", ts.err())
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		// Credentials computed for GET, sent with POST.
		expect401(t, ts, registerPath, authFor(t, ts, "GET", registerPath, registerPath, testUser, testPass), ErrBadResponse, false)
	})
	t.Run("tampered nonce", func(t *testing.T) {
		ch, _ := ParseChallenge(ts.challenge(t, registerPath))
		for _, pos := range []int{0, 20, 63} { // expiry, random and MAC parts
			b := []byte(ch.Nonce)
			if b[pos] == '0' {
				b[pos] = '1'
			} else {
				b[pos] = '0'
			}
			forged := *ch
			forged.Nonce = string(b)
			h, _ := forged.Authorize("POST", registerPath, testUser, testPass, 1)
			expect401(t, ts, registerPath, h, ErrBadNonce, false)
		}
		forged := *ch
		forged.Nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
		h, _ := forged.Authorize("POST", registerPath, testUser, testPass, 1)
		expect401(t, ts, registerPath, h, ErrBadNonce, false)
	})
	t.Run("expired nonce", func(t *testing.T) {
		h := authFor(t, ts, "POST", registerPath, registerPath, testUser, testPass)
		ts.clock.Advance(61 * time.Second)
		expect401(t, ts, registerPath, h, ErrStaleNonce, true)
		// An expired nonce with a wrong password is not "stale".
		h = authFor(t, ts, "POST", registerPath, registerPath, testUser, "wrong")
		ts.clock.Advance(61 * time.Second)
		expect401(t, ts, registerPath, h, ErrBadResponse, false)
		// Just before expiry it still works.
		h = authFor(t, ts, "POST", registerPath, registerPath, testUser, testPass)
		ts.clock.Advance(59 * time.Second)
		if code, _ := ts.send(t, registerPath, h); code != 200 {
			t.Fatalf("status %d, err %v", code, ts.err())
		}
	})
	t.Run("uri for another path", func(t *testing.T) {
		for _, uri := range []string{"/VIID/System/UnRegister", ts.URL + "/VIID/System/UnRegister", "/VIID/System/Register?x=1", "/VIID/System", "VIID/System/Register", "*"} {
			h := authFor(t, ts, "POST", registerPath, uri, testUser, testPass)
			expect401(t, ts, registerPath, h, ErrURIMismatch, false)
		}
		// Valid credentials for Register replayed against UnRegister.
		h := authFor(t, ts, "POST", registerPath, registerPath, testUser, testPass)
		expect401(t, ts, "/VIID/System/UnRegister", h, ErrURIMismatch, false)
	})
	t.Run("wrong realm", func(t *testing.T) {
		ch, _ := ParseChallenge(ts.challenge(t, registerPath))
		ch.Realm = "Other"
		h, _ := ch.Authorize("POST", registerPath, testUser, testPass, 1)
		expect401(t, ts, registerPath, h, ErrWrongRealm, false)
	})
	t.Run("replay", func(t *testing.T) {
		h := authFor(t, ts, "POST", registerPath, registerPath, testUser, testPass)
		if code, _ := ts.send(t, registerPath, h); code != 200 {
			t.Fatalf("first use: status %d, err %v", code, ts.err())
		}
		expect401(t, ts, registerPath, h, ErrReplay, true)
		// Same nonce, same nc, new cnonce: accepted (clients that always send nc=1).
		ch, _ := ParseChallenge(ts.challenge(t, registerPath))
		for i := 0; i < 2; i++ {
			h, _ := ch.Authorize("POST", registerPath, testUser, testPass, 1)
			if code, _ := ts.send(t, registerPath, h); code != 200 {
				t.Fatalf("nonce reuse %d: status %d, err %v", i, code, ts.err())
			}
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		ch, _ := ParseChallenge(ts.challenge(t, registerPath))
		r := response(ha1(testUser, "VIID", testPass), ch.Nonce, "00000001", "c", "auth-int", ha2("POST", registerPath))
		h := `Digest username="` + testUser + `",realm="VIID",nonce="` + ch.Nonce + `",uri="` + registerPath + `",qop=auth-int,nc=00000001,cnonce="c",response="` + r + `"`
		expect401(t, ts, registerPath, h, ErrUnsupported, false)
		h = strings.Replace(h, "qop=auth-int", "qop=auth,algorithm=SHA-256", 1)
		expect401(t, ts, registerPath, h, ErrUnsupported, false)
		// RFC 2069 form is off by default.
		r = response(ha1(testUser, "VIID", testPass), ch.Nonce, "", "", "", ha2("POST", registerPath))
		h = `Digest username="` + testUser + `",realm="VIID",nonce="` + ch.Nonce + `",uri="` + registerPath + `",response="` + r + `"`
		expect401(t, ts, registerPath, h, ErrUnsupported, false)
	})
	t.Run("malformed", func(t *testing.T) {
		ch, _ := ParseChallenge(ts.challenge(t, registerPath))
		for _, h := range []string{
			`Digest username="` + testUser + `"`, // missing everything else
			`Digest username="` + testUser + `",realm="VIID",nonce="` + ch.Nonce + `",uri="/VIID/System/Register",qop=auth,nc=00000001,response="00000000000000000000000000000000"`,       // no cnonce
			`Digest username="` + testUser + `",realm="VIID",nonce="` + ch.Nonce + `",uri="/VIID/System/Register",qop=auth,nc=xyz,cnonce="c",response="00000000000000000000000000000000"`, // bad nc
			`Digest username="` + testUser + `",realm="VIID",nonce="` + ch.Nonce + `",uri="/VIID/System/Register",qop=auth,nc=1,cnonce="c",response="short"`,
			`Digest username="a",username="b"`,
			`Digest username="a" realm="b"`,
		} {
			expect401(t, ts, registerPath, h, ErrMalformed, false)
		}
	})
}

func TestRFC2069(t *testing.T) {
	ts := newTestServer(t)
	ts.auth.AllowRFC2069 = true
	ch, _ := ParseChallenge(ts.challenge(t, registerPath))
	ch.QOP = "" // a client that ignores qop
	h, err := ch.Authorize("POST", registerPath, testUser, testPass, 1)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "qop") || strings.Contains(h, "cnonce") {
		t.Fatalf("RFC 2069 header %s", h)
	}
	if code, _ := ts.send(t, registerPath, h); code != 200 {
		t.Fatalf("status %d, err %v", code, ts.err())
	}
	// Without cnonce a nonce is single-use.
	expect401(t, ts, registerPath, h, ErrReplay, true)
}

func TestLookupHA1(t *testing.T) {
	ts := newTestServer(t)
	ts.auth.Lookup = nil
	ts.auth.LookupHA1 = func(u, realm string) (string, bool) {
		if u == testUser {
			return strings.ToUpper(ha1(u, realm, testPass)), true
		}
		return "", false
	}
	h := authFor(t, ts, "POST", registerPath, registerPath, testUser, testPass)
	if code, _ := ts.send(t, registerPath, h); code != 200 {
		t.Fatalf("status %d, err %v", code, ts.err())
	}
}

func TestSharedSecretAcrossInstances(t *testing.T) {
	a1 := &Authenticator{Secret: []byte("k"), Lookup: func(string) (string, bool) { return "p", true }}
	a2 := &Authenticator{Secret: []byte("k"), Lookup: func(string) (string, bool) { return "p", true }}
	a3 := &Authenticator{Secret: []byte("other"), Lookup: func(string) (string, bool) { return "p", true }}
	h, err := Authorize("POST", registerPath, a1.ChallengeHeader(false), "u", "p", 1)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", registerPath, nil)
	req.Header.Set("Authorization", h)
	if u, err := a2.Verify(req); err != nil || u != "u" {
		t.Errorf("same secret: %q %v", u, err)
	}
	if _, err := a3.Verify(req); !errors.Is(err, ErrBadNonce) {
		t.Errorf("other secret: %v", err)
	}
	// Zero-config Authenticator: random secret, default realm.
	var a0 Authenticator
	a0.Lookup = a1.Lookup
	h, _ = Authorize("POST", registerPath, a0.ChallengeHeader(false), "u", "p", 1)
	req.Header.Set("Authorization", h)
	if u, err := a0.Verify(req); err != nil || u != "u" {
		t.Errorf("zero config: %q %v", u, err)
	}
	if !strings.Contains(a0.ChallengeHeader(true), `realm="VIID"`) || !strings.HasSuffix(a0.ChallengeHeader(true), ",stale=true") {
		t.Errorf("challenge %s", a0.ChallengeHeader(true))
	}
}

func TestMiddleware(t *testing.T) {
	a := &Authenticator{Secret: []byte("k"), Lookup: func(u string) (string, bool) { return "p", u == "u" }}
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UsernameFromContext(r.Context())
		io.WriteString(w, u)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", registerPath, nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d %v", rec.Code, rec.Header())
	}
	auth, _ := Authorize("POST", registerPath, rec.Header().Get("WWW-Authenticate"), "u", "p", 1)
	req := httptest.NewRequest("POST", registerPath, nil)
	req.Header.Set("Authorization", auth)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "u" {
		t.Fatalf("with credentials: %d %q", rec.Code, rec.Body.String())
	}
}

func TestURIMatches(t *testing.T) {
	cases := []struct {
		target, hdr string
		ok          bool
	}{
		{"/VIID/System/Register", "/VIID/System/Register", true},
		{"/VIID/System/Register", "http://127.0.0.1:8080/VIID/System/Register", true},
		{"/VIID/System/Register", "https://example.com/VIID/System/Register", true},
		{"/VIID/System/Register", "http://127.0.0.1:8080/VIID/System/Register#frag", true},
		{"/", "http://127.0.0.1:8080", true},
		{"/VIID/Faces?RecordStartNo=1&PageRecordNum=10", "/VIID/Faces?RecordStartNo=1&PageRecordNum=10", true},
		{"/VIID/Faces?RecordStartNo=1&PageRecordNum=10", "http://h/VIID/Faces?RecordStartNo=1&PageRecordNum=10", true},
		{"/VIID/a%20b", "/VIID/a b", true}, // decoded paths compared
		{"/VIID/System/Register", "/VIID/System/UnRegister", false},
		{"/VIID/System/Register", "http://127.0.0.1:8080/VIID/System/UnRegister", false},
		{"/VIID/System/Register", "/VIID/System/Register?x", false},
		{"/VIID/Faces?a=1", "/VIID/Faces", false},
		{"/VIID/System/Register", "VIID/System/Register", false},
		{"/VIID/System/Register", "//VIID/System/Register", false},
		{"/VIID/System/Register", "http:/VIID/System/Register", false},
		{"/VIID/System/Register", "", false},
		{"/VIID/System/Register", "/VIID/System/Register/", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", c.target, nil)
		if got := uriMatches(c.hdr, r); got != c.ok {
			t.Errorf("target %q, uri %q: %v, want %v", c.target, c.hdr, got, c.ok)
		}
	}
}

func TestChallengeAndErrorText(t *testing.T) {
	a := &Authenticator{Realm: "R", Secret: []byte("k")}
	rec := httptest.NewRecorder()
	a.Challenge(rec)
	ch, err := ParseChallenge(rec.Header().Get("WWW-Authenticate"))
	if err != nil || ch.Realm != "R" || ch.Stale {
		t.Fatalf("Challenge: %+v %v", ch, err)
	}
	e := error(&Error{Kind: ErrBadResponse, Username: "dev", Detail: "x"})
	if !errors.Is(e, ErrBadResponse) || e.Error() != `digest: wrong response (user "dev"): x` {
		t.Errorf("Error() = %q", e.Error())
	}
	if !IsStale(&Error{Kind: ErrReplay}) || !IsStale(&Error{Kind: ErrStaleNonce}) || IsStale(&Error{Kind: ErrBadNonce}) {
		t.Error("IsStale")
	}
}
