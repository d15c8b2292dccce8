package digest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Challenge is a parsed WWW-Authenticate Digest challenge.
type Challenge struct {
	Realm     string
	Nonce     string
	Opaque    string // empty if absent
	Algorithm string // as sent; empty if absent
	QOP       string // as sent, possibly a list such as "auth,auth-int"; empty if absent
	Stale     bool
}

// ParseChallenge parses a WWW-Authenticate value whose scheme is Digest.
func ParseChallenge(v string) (*Challenge, error) {
	p, err := parseDigestHeader(v)
	if err != nil {
		return nil, fmt.Errorf("digest: challenge: %w", err)
	}
	nonce, ok := p["nonce"]
	if !ok || nonce == "" {
		return nil, errors.New("digest: challenge has no nonce")
	}
	realm, ok := p["realm"]
	if !ok {
		return nil, errors.New("digest: challenge has no realm")
	}
	return &Challenge{
		Realm:     realm,
		Nonce:     nonce,
		Opaque:    p["opaque"],
		Algorithm: p["algorithm"],
		QOP:       p["qop"],
		Stale:     strings.EqualFold(p["stale"], "true"),
	}, nil
}

// Authorize computes the Authorization header value answering challenge (a
// WWW-Authenticate value) for a request with the given method and uri (the
// request-target, normally URL.RequestURI()). nc is the nonce count, starting
// at 1 for a new nonce. It supports algorithm MD5 (or none) and MD5-sess,
// and qop auth or none (RFC 2069); a fresh random cnonce is used.
func Authorize(method, uri string, challenge string, user, pass string, nc int) (string, error) {
	ch, err := ParseChallenge(challenge)
	if err != nil {
		return "", err
	}
	return ch.Authorize(method, uri, user, pass, nc)
}

// Authorize is like the package-level Authorize for an already parsed
// challenge.
func (ch *Challenge) Authorize(method, uri, user, pass string, nc int) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return ch.authorize(method, uri, user, pass, nc, hex.EncodeToString(b[:]))
}

func (ch *Challenge) authorize(method, uri, user, pass string, nc int, cnonce string) (string, error) {
	if nc < 1 || nc > 0xffffffff {
		return "", fmt.Errorf("digest: nonce count %d out of range", nc)
	}
	qop := ""
	if ch.QOP != "" {
		for _, q := range strings.Split(ch.QOP, ",") {
			if strings.EqualFold(strings.TrimSpace(q), "auth") {
				qop = "auth"
			}
		}
		if qop == "" {
			return "", fmt.Errorf("digest: challenge offers qop %q, only auth is supported", ch.QOP)
		}
	}
	h1 := ha1(user, ch.Realm, pass)
	switch {
	case ch.Algorithm == "" || strings.EqualFold(ch.Algorithm, "MD5"):
	case strings.EqualFold(ch.Algorithm, "MD5-sess"):
		h1 = md5hex(h1, ch.Nonce, cnonce)
	default:
		return "", fmt.Errorf("digest: unsupported algorithm %q", ch.Algorithm)
	}
	ncs := fmt.Sprintf("%08x", nc)
	var s strings.Builder
	s.WriteString("Digest username=" + quote(user) + ", realm=" + quote(ch.Realm) +
		", nonce=" + quote(ch.Nonce) + ", uri=" + quote(uri))
	if ch.Algorithm != "" {
		s.WriteString(", algorithm=" + ch.Algorithm)
	}
	if qop != "" {
		s.WriteString(", qop=" + qop + ", nc=" + ncs + ", cnonce=" + quote(cnonce))
	} else {
		ncs, cnonce = "", ""
	}
	s.WriteString(", response=" + quote(response(h1, ch.Nonce, ncs, cnonce, qop, ha2(method, uri))))
	if ch.Opaque != "" {
		s.WriteString(", opaque=" + quote(ch.Opaque))
	}
	return s.String(), nil
}

// findChallenge returns the first Digest challenge among the response's
// WWW-Authenticate values.
func findChallenge(resp *http.Response) (*Challenge, bool) {
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if ch, err := ParseChallenge(v); err == nil {
			return ch, true
		}
	}
	return nil, false
}

// Transport is an http.RoundTripper that answers a 401 Digest challenge by
// sending the request once more with credentials. Request bodies without
// GetBody are buffered in memory so they can be sent twice. Requests that
// already carry an Authorization header are passed through untouched. It is
// safe for concurrent use.
type Transport struct {
	Username, Password string
	// Base performs the requests; http.DefaultTransport if nil.
	Base http.RoundTripper
	// Preemptive reuses the last challenge from a host (with an increasing
	// nc) on later requests to it, saving the 401 round trip against peers
	// that challenge every request. A rejected preemptive attempt still gets
	// its one retry with the new challenge.
	Preemptive bool

	mu    sync.Mutex
	cache map[string]*cachedChallenge // scheme://host -> last challenge
}

type cachedChallenge struct {
	ch *Challenge
	nc int
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.base().RoundTrip(req)
	}
	// The first attempt sends req.Body itself (so it is closed by the base
	// transport as the RoundTripper contract requires) unless it had to be
	// buffered; the retry gets a fresh copy from GetBody or the buffer.
	firstBody, getBody := req.Body, req.GetBody
	if req.Body != nil && req.Body != http.NoBody && getBody == nil {
		buf, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("digest: buffering request body: %w", err)
		}
		getBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
		firstBody, _ = getBody()
	}
	attempt := func(auth string, retry bool) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.Body, r.GetBody = firstBody, getBody
		if retry && getBody != nil && firstBody != nil && firstBody != http.NoBody {
			body, err := getBody()
			if err != nil {
				return nil, fmt.Errorf("digest: request body for retry: %w", err)
			}
			r.Body = body
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return t.base().RoundTrip(r)
	}

	key := req.URL.Scheme + "://" + req.URL.Host
	uri := req.URL.RequestURI()
	auth := ""
	if t.Preemptive {
		t.mu.Lock()
		if c := t.cache[key]; c != nil && c.nc < 0xffffffff {
			c.nc++
			auth, _ = c.ch.Authorize(req.Method, uri, t.Username, t.Password, c.nc)
		}
		t.mu.Unlock()
	}
	resp, err := attempt(auth, false)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	ch, ok := findChallenge(resp)
	if !ok {
		return resp, nil
	}
	auth, err = ch.Authorize(req.Method, uri, t.Username, t.Password, 1)
	if err != nil {
		return resp, nil // cannot answer this challenge; hand back the 401
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if t.Preemptive {
		t.mu.Lock()
		if t.cache == nil {
			t.cache = make(map[string]*cachedChallenge)
		}
		t.cache[key] = &cachedChallenge{ch: ch, nc: 1}
		t.mu.Unlock()
	}
	resp, err = attempt(auth, true)
	if t.Preemptive && (err != nil || resp.StatusCode == http.StatusUnauthorized) {
		t.mu.Lock()
		delete(t.cache, key)
		t.mu.Unlock()
	}
	return resp, err
}
