package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400/digest"
)

const peerID = "44150200001190000001" // a lower platform's VIID ID

// viidPeer registers a peer account acting as market_op and returns a client that
// sends User-Identify.
func (f *fixture) viidPeer(t *testing.T) *viidClient {
	f.must("POST", "/api/v1/viid/peers", "market_admin", `{"device_id":"`+peerID+`","username":"lower-platform","user_id":"market_op","password":"s3cret-pass"}`, 201)
	return &viidClient{t: t, f: f, id: peerID}
}

type viidClient struct {
	t    *testing.T
	f    *fixture
	id   string
	user string       // the peer account's user name (default lower-platform)
	http *http.Client // default http.DefaultClient: from 127.0.0.1
	hdr  http.Header  // extra headers on every request of do
}

func (v *viidClient) client() *http.Client {
	if v.http != nil {
		return v.http
	}
	return http.DefaultClient
}

// do sends a VIID request with User-Identify; body may be nil.
func (v *viidClient) do(method, path string, body any) (int, map[string]any) {
	v.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, v.f.url+path, rd)
	req.Header.Set("Content-Type", "application/VIID+JSON;charset=UTF-8")
	req.Header.Set("User-Identify", v.id)
	for k, vs := range v.hdr {
		req.Header[k] = vs
	}
	resp, err := v.client().Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// register does the Digest handshake by hand: 401 with a challenge, then the answer
// computed over uri exactly as the client writes it (a full URL here, as the
// Dahua-tested client sends).
func (v *viidClient) register(password string, fullURL bool) int {
	v.t.Helper()
	code, out, _ := v.registerAs(v.user, password, fullURL)
	if code == 200 && statusCode(out) != 0.0 {
		v.t.Fatalf("Register answered 200 with StatusCode %v (want the integer 0)", statusCode(out))
	}
	return code
}

// registerAs registers as the account user (default lower-platform) and returns the
// answer to the credentials: status, body and headers.
func (v *viidClient) registerAs(user, password string, fullURL bool) (int, map[string]any, http.Header) {
	v.t.Helper()
	body := `{"RegisterObject":{"DeviceID":"` + v.id + `"}}`
	resp, err := v.client().Post(v.f.url+"/VIID/System/Register", "application/VIID+JSON", strings.NewReader(body))
	if err != nil {
		v.t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode == http.StatusTooManyRequests {
		return resp.StatusCode, nil, resp.Header // locked out before any challenge
	}
	if resp.StatusCode != 401 || !strings.HasPrefix(ch, "Digest ") || !strings.Contains(ch, `qop="auth"`) {
		v.t.Fatalf("first Register: %d %q", resp.StatusCode, ch)
	}
	uri := "/VIID/System/Register"
	if fullURL {
		uri = v.f.url + uri
	}
	if user == "" {
		user = "lower-platform"
	}
	h, err := digest.Authorize("POST", uri, ch, user, password, 1)
	if err != nil {
		v.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", v.f.url+"/VIID/System/Register", strings.NewReader(body))
	req.Header.Set("Authorization", h)
	req.Header.Set("Content-Type", "application/json")
	resp, err = v.client().Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func statusCode(out map[string]any) any {
	st, _ := out["ResponseStatusObject"].(map[string]any)
	return st["StatusCode"]
}

// The VIID session: Digest registration (wrong password refused; a full-URL uri
// accepted), User-Identify on later requests, keepalive (POST and GET), time,
// unregister, and expiry without keepalive.
func TestVIIDRegisterKeepaliveUnregister(t *testing.T) {
	f := newFixture(t)
	v := f.viidPeer(t)
	if code, out := v.do("POST", "/VIID/System/Keepalive", map[string]any{"KeepaliveObject": map[string]any{"DeviceID": peerID}}); code != 401 || statusCode(out) != 4.0 {
		t.Fatalf("keepalive before register: %d %v", code, out)
	}
	if code := v.register("wrong-password", false); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code := v.register("s3cret-pass", true); code != 200 {
		t.Fatalf("register with a full-URL uri: %d", code)
	}
	for _, m := range []string{"POST", "GET"} {
		if code, out := v.do(m, "/VIID/System/Keepalive", map[string]any{"KeepaliveObject": map[string]any{"DeviceID": peerID}}); code != 200 || statusCode(out) != 0.0 {
			t.Fatalf("%s keepalive: %d %v", m, code, out)
		}
	}
	if code, out := v.do("GET", "/VIID/System/Time", nil); code != 200 || len(out["SystemTimeObject"].(map[string]any)["LocalTime"].(string)) != 14 {
		t.Fatalf("time: %d %v", code, out)
	}
	peers := f.must("GET", "/api/v1/viid/peers", "market_admin", "", 200)["peers"].([]any)
	if len(peers) != 1 || peers[0].(map[string]any)["online"] != true {
		t.Fatalf("peers: %v", peers)
	}
	if peers := f.must("GET", "/api/v1/viid/peers", "police_admin", "", 200)["peers"].([]any); len(peers) != 0 {
		t.Errorf("another department sees market's peer: %v", peers)
	}
	v.do("POST", "/VIID/System/UnRegister", map[string]any{"UnRegisterObject": map[string]any{"DeviceID": peerID}})
	if code, _ := v.do("POST", "/VIID/System/Keepalive", nil); code != 401 {
		t.Fatalf("keepalive after unregister: %d", code)
	}
	// a session without keepalive expires
	v.register("s3cret-pass", false)
	f.now = f.now.Add(4 * time.Minute)
	if code, out := v.do("POST", "/VIID/System/Keepalive", nil); code != 401 || statusCode(out) != 4.0 {
		t.Fatalf("keepalive after the session expired: %d %v", code, out)
	}
	// an unknown User-Identify, a malformed one
	v.id = "44150200001190000099"
	if code, _ := v.do("GET", "/VIID/Faces", nil); code != 401 && code != 404 {
		t.Fatalf("unregistered device: %d", code)
	}
	f.must("POST", "/api/v1/viid/peers", "market_admin", `{"device_id":"123","user_id":"market_op","password":"s3cret-pass"}`, 400)
	f.must("POST", "/api/v1/viid/peers", "market_admin", `{"device_id":"44150200001190000002","user_id":"police_op","password":"s3cret-pass"}`, 404)
}
