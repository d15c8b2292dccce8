package api_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
)

// Attacks on VIID sessions and sign-in (issue 14 items 2, 14, 15), through the API.

// clientFrom returns a client whose connections leave from ip: any 127/8 address
// reaches the test server on Linux, and to the server it is another host.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

const policePeerID = "44150200001190000002"

// policePeer registers a second peer account, acting as police_op.
func (f *fixture) policePeer(t *testing.T) *viidClient {
	f.must("POST", "/api/v1/viid/peers", "police_admin", `{"device_id":"`+policePeerID+`","username":"police-platform","user_id":"police_op","password":"police-pass-1"}`, 201)
	return &viidClient{t: t, f: f, id: policePeerID, user: "police-platform"}
}

func faceList(faces ...any) map[string]any {
	return map[string]any{"FaceListObject": map[string]any{"FaceObject": faces}}
}

// send makes one request from client with the given headers and returns the answer.
func send(t *testing.T, client *http.Client, method, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Item 2: knowing an online device's ID is not enough. A request naming it from
// another address (forwarding headers or not), or with another account's Digest
// credentials, is refused; the session stays with the peer that registered it.
func TestVIIDSpoofedUserIdentify(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	if code := v.register("s3cret-pass", false); code != 200 {
		t.Fatal("register", code)
	}
	const dev = "44150200001190000007"
	shot := time.Date(2026, 11, 22, 9, 30, 0, 0, gat1400.Location)
	face := viidFace(t, dev, shot, 1)
	if code, out := v.do("POST", "/VIID/Faces", faceList(face)); code != 200 || statuses(t, out)[0]["StatusCode"] != 0.0 {
		t.Fatalf("the peer's own push: %d %v", code, out)
	}
	elsewhere := &viidClient{t: t, f: f, id: peerID, http: clientFrom("127.0.0.2")}
	forwarded := &viidClient{t: t, f: f, id: peerID, http: clientFrom("127.0.0.4"),
		hdr: http.Header{"X-Forwarded-For": {"127.0.0.1"}, "X-Real-Ip": {"127.0.0.1"}}}
	for _, m := range []*viidClient{elsewhere, forwarded} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/VIID/Faces", nil},
			{"GET", "/VIID/Faces/" + face.FaceID, nil},
			{"POST", "/VIID/Faces", faceList(viidFace(t, dev, shot, 2))},
			{"DELETE", "/VIID/Faces?IDList=" + face.FaceID, nil},
			{"POST", "/VIID/System/Keepalive", nil},
			{"POST", "/VIID/System/UnRegister", nil},
		} {
			if code, out := m.do(c.method, c.path, c.body); code != 401 || statusCode(out) != 4.0 {
				t.Errorf("spoofed %s %s (headers %v): %d %v", c.method, c.path, m.hdr, code, out)
			}
		}
	}
	// Same address (a shared NAT), another peer account's Digest credentials.
	f.policePeer(t)
	resp := send(t, http.DefaultClient, "POST", f.url+"/VIID/System/Register", nil)
	auth, err := digest.Authorize("GET", "/VIID/Faces", resp.Header.Get("WWW-Authenticate"), "police-platform", "police-pass-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	resp = send(t, http.DefaultClient, "GET", f.url+"/VIID/Faces", map[string]string{"User-Identify": peerID, "Authorization": auth})
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Digest ") {
		t.Errorf("another account's Digest with market's User-Identify: %d %v", resp.StatusCode, resp.Header)
	}
	// Nothing changed, and the real peer's session is untouched.
	if total := f.must("GET", "/api/v1/records?type=Face", "market_analyst", "", 200)["total"]; total != 1.0 {
		t.Errorf("market has %v faces after the attacks, want 1", total)
	}
	if code, _ := v.do("POST", "/VIID/System/Keepalive", nil); code != 200 {
		t.Fatalf("the peer's own keepalive: %d", code)
	}
	// The peer moving host registers again from there; the old address loses it.
	moved := &viidClient{t: t, f: f, id: peerID, http: clientFrom("127.0.0.2")}
	if code := moved.register("s3cret-pass", false); code != 200 {
		t.Fatal("register from the new address", code)
	}
	if code, _ := moved.do("GET", "/VIID/Faces", nil); code != 200 {
		t.Errorf("query from the new address: %d", code)
	}
	if code, _ := v.do("GET", "/VIID/Faces", nil); code != 401 {
		t.Errorf("query from the old address after re-registering elsewhere: %d", code)
	}
}

// Item 2, peers behind a shared address: with VIIDDigestEveryRequest, User-Identify
// without Digest is refused with a challenge, and a client answering every
// challenge (digest.Transport) works.
func TestVIIDDigestEveryRequest(t *testing.T) {
	f := newFixture(t)
	f.srv.VIIDDigestEveryRequest = true
	v := f.viidPeer(t)
	if code := v.register("s3cret-pass", false); code != 200 {
		t.Fatal("register", code)
	}
	if code, out := v.do("GET", "/VIID/Faces", nil); code != 401 || statusCode(out) != 4.0 {
		t.Errorf("User-Identify alone: %d %v", code, out)
	}
	peer := &http.Client{Transport: &digest.Transport{Username: "lower-platform", Password: "s3cret-pass", Preemptive: true}}
	for i := 0; i < 3; i++ {
		if resp := send(t, peer, "GET", f.url+"/VIID/Faces", map[string]string{"User-Identify": peerID}); resp.StatusCode != 200 {
			t.Fatalf("request %d with Digest: %d", i, resp.StatusCode)
		}
	}
	wrong := &http.Client{Transport: &digest.Transport{Username: "lower-platform", Password: "not-the-pass"}}
	if resp := send(t, wrong, "GET", f.url+"/VIID/Faces", map[string]string{"User-Identify": peerID}); resp.StatusCode != 401 {
		t.Errorf("wrong password on a later request: %d", resp.StatusCode)
	}
}

// Item 15: a signed-in user cannot end a VIID device's session by naming it; the
// device's own session or the platform admin can.
func TestVIIDUnregisterOnlyOwnSession(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	v.register("s3cret-pass", false)
	for _, user := range []string{"police_op", "market_admin", "market_op"} {
		resp := send(t, http.DefaultClient, "POST", f.url+"/VIID/System/UnRegister", map[string]string{"Authorization": "Bearer " + f.tok[user], "User-Identify": peerID})
		if resp.StatusCode != 403 {
			t.Errorf("%s unregisters market's device: %d", user, resp.StatusCode)
		}
		if code, _ := v.do("POST", "/VIID/System/Keepalive", nil); code != 200 {
			t.Fatalf("after %s's attempt the session is gone: %d", user, code)
		}
	}
	p := f.policePeer(t)
	p.register("police-pass-1", false)
	if code, _ := p.do("POST", "/VIID/System/UnRegister", nil); code != 200 {
		t.Fatalf("a peer unregistering itself: %d", code)
	}
	if code, _ := v.do("POST", "/VIID/System/Keepalive", nil); code != 200 {
		t.Fatalf("another peer's unregister ended market's session: %d", code)
	}
	resp := send(t, http.DefaultClient, "POST", f.url+"/VIID/System/UnRegister", map[string]string{"Authorization": "Bearer " + f.tok["admin"], "User-Identify": peerID})
	if resp.StatusCode != 200 {
		t.Fatalf("platform admin unregisters a device: %d", resp.StatusCode)
	}
	if code, _ := v.do("POST", "/VIID/System/Keepalive", nil); code != 401 {
		t.Errorf("session still online after the admin's unregister: %d", code)
	}
}

// Item 14: an unknown user and a wrong password get the same answer, and a source
// that keeps failing (Digest at Register, or bearer tokens) is locked out with
// 429 and Retry-After, even with good credentials, until the lockout ends; other
// sources are not affected.
func TestAuthFailuresLockOut(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	unknown := &viidClient{t: t, f: f, id: peerID, user: "nobody-here"}
	c1, o1, _ := unknown.registerAs("nobody-here", "s3cret-pass", false)
	c2, o2, _ := v.registerAs("", "wrong-password", false)
	s1, _ := o1["ResponseStatusObject"].(map[string]any)
	s2, _ := o2["ResponseStatusObject"].(map[string]any)
	if c1 != 401 || c2 != 401 || s1["StatusString"] != s2["StatusString"] {
		t.Errorf("unknown user %d %v, wrong password %d %v: must read the same", c1, s1["StatusString"], c2, s2["StatusString"])
	}
	locked := func(code int, h http.Header) bool {
		n, _ := strconv.Atoi(h.Get("Retry-After"))
		return code == http.StatusTooManyRequests && n > 0
	}
	tries := 2
	for ; tries < 30; tries++ {
		if code, _, h := v.registerAs("", "guess-"+strconv.Itoa(tries), false); locked(code, h) {
			break
		}
	}
	if tries == 30 {
		t.Fatal("30 wrong passwords from one address and no lockout")
	}
	if code, _, h := v.registerAs("", "s3cret-pass", false); !locked(code, h) {
		t.Fatalf("the right password during the lockout: %d %v", code, h)
	}
	other := &viidClient{t: t, f: f, id: peerID, http: clientFrom("127.0.0.2")}
	if code := other.register("s3cret-pass", false); code != 200 {
		t.Errorf("another address is locked out too: %d", code)
	}
	// Bearer tokens, from a third address.
	bad := clientFrom("127.0.0.3")
	tries = 0
	for ; tries < 30; tries++ {
		resp := send(t, bad, "GET", f.url+"/api/v1/streams", map[string]string{"Authorization": "Bearer guess" + strconv.Itoa(tries)})
		if locked(resp.StatusCode, resp.Header) {
			break
		}
		if resp.StatusCode != 401 {
			t.Fatalf("bad token %d: %d", tries, resp.StatusCode)
		}
	}
	if tries == 30 {
		t.Fatal("30 bad tokens from one address and no lockout")
	}
	good := map[string]string{"Authorization": "Bearer " + f.tok["market_op"]}
	if resp := send(t, bad, "GET", f.url+"/api/v1/streams", good); !locked(resp.StatusCode, resp.Header) {
		t.Errorf("a good token from the locked-out address: %d", resp.StatusCode)
	}
	if resp := send(t, clientFrom("127.0.0.5"), "GET", f.url+"/api/v1/streams", good); resp.StatusCode != 200 {
		t.Errorf("a good token from another address: %d", resp.StatusCode)
	}
	f.now = f.now.Add(time.Hour + time.Minute)
	if code := v.register("s3cret-pass", false); code != 200 {
		t.Errorf("register after the lockout: %d", code)
	}
	if resp := send(t, bad, "GET", f.url+"/api/v1/streams", good); resp.StatusCode != 200 {
		t.Errorf("good token after the lockout: %d", resp.StatusCode)
	}
}
