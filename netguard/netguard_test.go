package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestInternalInEverySpelling(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "127.1.2.3", "0.0.0.0", "10.1.2.3", "172.31.255.1", "192.168.0.1", "169.254.169.254",
		"100.64.0.1", "224.0.0.1", "255.255.255.255", "198.18.0.1", "::1", "::", "::ffff:127.0.0.1",
		"::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2001::1", "fd00::1",
		"fe80::1", "fe80::1%eth0", "ff02::1",
	} {
		if !Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s is not seen as internal", s)
		}
	}
	for _, s := range []string{"1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"} {
		if Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s is seen as internal", s)
		}
	}
}

func TestAllowEntries(t *testing.T) {
	g := MustNew("10.20.0.0/16", "127.0.0.1:8443", "192.168.1.5", "cascade.internal:80")
	for ap, want := range map[string]bool{
		"10.20.3.4:1": true, "10.21.0.1:80": false, "127.0.0.1:8443": true, "127.0.0.1:8444": false,
		"[::ffff:127.0.0.1]:8443": true, "192.168.1.5:22": true, "8.8.8.8:53": true,
	} {
		if got := g.Allowed(netip.MustParseAddrPort(ap)); got != want {
			t.Errorf("%s allowed %v, want %v", ap, got, want)
		}
	}
	if !g.allowedName("Cascade.Internal:80") || g.allowedName("cascade.internal:81") {
		t.Error("name entries")
	}
	for _, bad := range []string{"nonsense", "host:0", "host:99999", "10.0.0.0/99"} {
		if _, err := New([]string{bad}); err == nil {
			t.Errorf("entry %q accepted", bad)
		}
	}
}

// A name that resolves to loopback and a redirect into it are refused at connect
// time; the error a user sees is the same as for an unreachable address.
func TestClientRefusesInternalAfterResolution(t *testing.T) {
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))
	defer inside.Close()
	port := inside.URL[strings.LastIndex(inside.URL, ":"):]
	for _, u := range []string{inside.URL, "http://localhost" + port, "http://[::ffff:127.0.0.1]" + port, "http://0.0.0.0" + port} {
		_, err := (*Guard)(nil).Client(Options{}).Get(u)
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: %v, want ErrBlocked", u, err)
		}
	}
	// a redirector the admin allowed may not send the client inside
	redir := httptest.NewServer(http.RedirectHandler(inside.URL, http.StatusFound))
	defer redir.Close()
	g := MustNew(strings.TrimPrefix(redir.URL, "http://"))
	if resp, err := g.Client(Options{}).Get(redir.URL); err == nil {
		resp.Body.Close()
		t.Errorf("redirect followed without MaxRedirects")
	}
	if _, err := g.Client(Options{MaxRedirects: 3}).Get(redir.URL); !errors.Is(err, ErrBlocked) {
		t.Errorf("redirect into loopback: %v, want ErrBlocked", err)
	}
	if Public(err1()) != Public(ErrBlocked) {
		t.Error("public texts differ")
	}
}

func err1() error { return errors.New("dial tcp 127.0.0.1:1: connect: connection refused") }

// Resolve, for clients that dial by themselves: a name resolving to loopback is
// refused unless loopback is allowed, and comes back as the address to dial; an IP
// literal is checked as itself; a name allowed by name is not resolved.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	if _, err := MustNew().Resolve(ctx, "localhost", 554); !errors.Is(err, ErrBlocked) {
		t.Errorf("localhost with nothing allowed: %v", err)
	}
	if _, err := MustNew("127.0.0.1/32").Resolve(ctx, "10.0.0.1", 554); !errors.Is(err, ErrBlocked) {
		t.Errorf("10.0.0.1 with loopback allowed: %v", err)
	}
	a, err := MustNew("127.0.0.1/32", "::1").Resolve(ctx, "localhost", 554)
	if err != nil || !a.IsLoopback() {
		t.Errorf("localhost with loopback allowed: %v %v", a, err)
	}
	if a, err := MustNew("127.0.0.1/32").Resolve(ctx, "[::1]", 554); !errors.Is(err, ErrBlocked) {
		t.Errorf("::1 with only 127.0.0.1 allowed: %v %v", a, err)
	}
	if a, err := MustNew("camera.invalid:554").Resolve(ctx, "camera.invalid", 554); err != nil || a.IsValid() {
		t.Errorf("a name allowed by name: %v %v", a, err)
	}
}
