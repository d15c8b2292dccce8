package digest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRealm is used when Authenticator.Realm is empty.
const DefaultRealm = "VIID"

// DefaultNonceTTL is used when Authenticator.NonceTTL is zero or negative.
const DefaultNonceTTL = 5 * time.Minute

// Sentinel errors returned (wrapped in *Error) by Authenticator.Verify. Every
// one of them should be answered with 401 and ChallengeFor(err).
var (
	// ErrMissing: no Authorization header with the Digest scheme.
	ErrMissing = errors.New("digest: missing Digest Authorization header")
	// ErrMalformed: the header could not be parsed or lacks a required parameter.
	ErrMalformed = errors.New("digest: malformed Authorization header")
	// ErrUnsupported: algorithm other than MD5, qop other than auth, or RFC 2069 form when not allowed.
	ErrUnsupported = errors.New("digest: unsupported algorithm or qop")
	// ErrWrongRealm: the realm parameter is not the Authenticator's realm.
	ErrWrongRealm = errors.New("digest: wrong realm")
	// ErrURIMismatch: the uri parameter does not refer to the request's path and query.
	ErrURIMismatch = errors.New("digest: uri does not match the request")
	// ErrBadNonce: the nonce was not issued by this Authenticator (bad format or HMAC).
	ErrBadNonce = errors.New("digest: invalid nonce")
	// ErrUnknownUser: Lookup did not know the username.
	ErrUnknownUser = errors.New("digest: unknown user")
	// ErrBadResponse: the response digest is wrong (wrong password, or tampered parameters).
	ErrBadResponse = errors.New("digest: wrong response")
	// ErrStaleNonce: the credentials are right but the nonce has expired; challenge with stale=true.
	ErrStaleNonce = errors.New("digest: stale nonce")
	// ErrReplay: the credentials are right but this (nonce, nc, cnonce) was already used; challenge with stale=true.
	ErrReplay = errors.New("digest: replayed credentials")
)

// Error is the concrete error returned by Verify. errors.Is(err, ErrX) tests
// its kind.
type Error struct {
	Kind     error  // one of the Err* sentinels
	Username string // username claimed in the header, if it was parsed; not authenticated
	Detail   string // human-readable detail, may be empty
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Username != "" {
		s += " (user " + strconvQuote(e.Username) + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// IsStale reports whether err means the client knows the password and only
// needs a fresh nonce (ErrStaleNonce or ErrReplay).
func IsStale(err error) bool {
	return errors.Is(err, ErrStaleNonce) || errors.Is(err, ErrReplay)
}

// Authenticator verifies HTTP Digest credentials (RFC 2617, MD5, qop=auth)
// with stateless, expiring nonces. Configure the exported fields, then use it
// through a pointer; do not copy it after first use. It is safe for
// concurrent use.
type Authenticator struct {
	// Realm sent in challenges and required in credentials; DefaultRealm if empty.
	Realm string
	// Secret keys the nonce HMAC. Processes that share a Secret accept each
	// other's nonces. If empty, a random secret is generated on first use
	// (nonces then die with the process).
	Secret []byte
	// NonceTTL is how long a nonce is valid; DefaultNonceTTL if <= 0.
	NonceTTL time.Duration
	// Lookup returns the plain password of username.
	Lookup func(username string) (password string, ok bool)
	// LookupHA1, if set, is used instead of Lookup and returns the stored
	// hex MD5(username:realm:password), so plain passwords need not be kept.
	LookupHA1 func(username, realm string) (ha1 string, ok bool)
	// Opaque sent in challenges; derived from Secret and Realm if empty. It
	// is not checked in credentials (see package doc).
	Opaque string
	// AllowRFC2069 accepts credentials without qop (MD5(HA1:nonce:HA2)),
	// each nonce once; it has no effect when DisableReplayCheck is set.
	AllowRFC2069 bool
	// DisableReplayCheck turns off the in-memory record of used (nonce, nc,
	// cnonce) triples.
	DisableReplayCheck bool
	// Remember, if set, replaces the in-memory replay record: it stores key until
	// expiry and reports whether it was new, so servers that share it (and a
	// Secret) refuse a triple used on any of them. An error refuses the request.
	Remember func(key string, expiry time.Time) (bool, error)
	// Now is the clock; time.Now if nil.
	Now func() time.Time

	once   sync.Once
	secret []byte
	opaque string

	mu        sync.Mutex
	seen      map[string]time.Time // replay key -> nonce expiry
	nextSweep time.Time
}

func (a *Authenticator) init() {
	a.once.Do(func() {
		a.secret = a.Secret
		if len(a.secret) == 0 {
			a.secret = make([]byte, 32)
			if _, err := rand.Read(a.secret); err != nil {
				panic("digest: crypto/rand: " + err.Error())
			}
		}
		a.opaque = a.Opaque
		if a.opaque == "" {
			m := a.mac("opaque", nil)
			a.opaque = hex.EncodeToString(m[:16])
		}
	})
}

func (a *Authenticator) realm() string {
	if a.Realm == "" {
		return DefaultRealm
	}
	return a.Realm
}

func (a *Authenticator) ttl() time.Duration {
	if a.NonceTTL <= 0 {
		return DefaultNonceTTL
	}
	return a.NonceTTL
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// mac is HMAC-SHA256(secret, "cityeye/viid/digest\x00" purpose \x00 realm \x00 data).
func (a *Authenticator) mac(purpose string, data []byte) []byte {
	h := hmac.New(sha256.New, a.secret)
	h.Write([]byte("cityeye/viid/digest\x00" + purpose + "\x00" + a.realm() + "\x00"))
	h.Write(data)
	return h.Sum(nil)
}

const nonceLen = 64 // hex characters: 8 expiry + 8 random + 16 MAC bytes

// NewNonce returns a fresh nonce valid for NonceTTL.
func (a *Authenticator) NewNonce() string {
	a.init()
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(a.now().Add(a.ttl()).Unix()))
	if _, err := rand.Read(b[8:16]); err != nil {
		panic("digest: crypto/rand: " + err.Error())
	}
	copy(b[16:], a.mac("nonce", b[:16])[:16])
	return hex.EncodeToString(b[:])
}

// checkNonce verifies the nonce's HMAC and returns its expiry.
func (a *Authenticator) checkNonce(nonce string) (time.Time, bool) {
	if len(nonce) != nonceLen {
		return time.Time{}, false
	}
	b, err := hex.DecodeString(nonce)
	if err != nil {
		return time.Time{}, false
	}
	if !hmac.Equal(a.mac("nonce", b[:16])[:16], b[16:]) {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0), true
}

// ChallengeHeader returns a WWW-Authenticate value with a fresh nonce:
//
//	Digest realm="…",qop="auth",nonce="…",opaque="…",algorithm=MD5[,stale=true]
func (a *Authenticator) ChallengeHeader(stale bool) string {
	a.init()
	s := "Digest realm=" + quote(a.realm()) +
		`,qop="auth",nonce="` + a.NewNonce() + `",opaque=` + quote(a.opaque) + ",algorithm=MD5"
	if stale {
		s += ",stale=true"
	}
	return s
}

// ChallengeFor returns the WWW-Authenticate value to answer a Verify error
// with: stale=true when IsStale(err).
func (a *Authenticator) ChallengeFor(err error) string { return a.ChallengeHeader(IsStale(err)) }

// Challenge sets a fresh WWW-Authenticate header on w. The caller then
// writes status 401 and whatever body it wants.
func (a *Authenticator) Challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", a.ChallengeHeader(false))
}

// Reject answers a Verify error: WWW-Authenticate from ChallengeFor(err) and
// a plain-text 401.
func (a *Authenticator) Reject(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", a.ChallengeFor(err))
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

type ctxKey struct{}

// Middleware verifies every request and rejects failures with Reject; the
// authenticated username is available to next through UsernameFromContext.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := a.Verify(r)
		if err != nil {
			a.Reject(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, user)))
	})
}

// UsernameFromContext returns the username stored by Middleware.
func UsernameFromContext(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(ctxKey{}).(string)
	return u, ok
}

// digestAuthorization returns the first Authorization value with the Digest
// scheme.
func digestAuthorization(r *http.Request) (string, bool) {
	for _, v := range r.Header.Values("Authorization") {
		if scheme, _ := splitScheme(v); strings.EqualFold(scheme, "Digest") {
			return v, true
		}
	}
	return "", false
}

// Verify checks the request's Digest credentials and returns the
// authenticated username. On failure it returns "" and an *Error whose Kind
// is one of the Err* sentinels; answer it with 401 and ChallengeFor(err).
func (a *Authenticator) Verify(r *http.Request) (string, error) {
	a.init()
	h, ok := digestAuthorization(r)
	if !ok {
		return "", &Error{Kind: ErrMissing}
	}
	p, err := parseDigestHeader(h)
	if err != nil {
		return "", &Error{Kind: ErrMalformed, Detail: err.Error()}
	}
	user := p["username"]
	fail := func(kind error, detail string) (string, error) {
		return "", &Error{Kind: kind, Username: user, Detail: detail}
	}
	for _, k := range []string{"username", "realm", "nonce", "uri", "response"} {
		if _, ok := p[k]; !ok {
			return fail(ErrMalformed, "missing "+k)
		}
	}
	if user == "" {
		return fail(ErrMalformed, "empty username")
	}
	if p["realm"] != a.realm() {
		return fail(ErrWrongRealm, "realm "+strconvQuote(p["realm"]))
	}
	if alg := p["algorithm"]; alg != "" && !strings.EqualFold(alg, "MD5") {
		return fail(ErrUnsupported, "algorithm "+strconvQuote(alg))
	}
	qop, hasQop := p["qop"]
	nc, cnonce := p["nc"], p["cnonce"]
	if hasQop {
		if !strings.EqualFold(qop, "auth") {
			return fail(ErrUnsupported, "qop "+strconvQuote(qop))
		}
		if len(nc) > 8 || !isHex(nc) {
			return fail(ErrMalformed, "nc must be 1 to 8 hex digits")
		}
		if cnonce == "" {
			return fail(ErrMalformed, "missing cnonce")
		}
	} else if !a.AllowRFC2069 || a.DisableReplayCheck {
		return fail(ErrUnsupported, "credentials without qop (RFC 2069)")
	}
	resp := strings.ToLower(p["response"])
	if len(resp) != 32 || !isHex(resp) {
		return fail(ErrMalformed, "response must be 32 hex digits")
	}
	if !uriMatches(p["uri"], r) {
		return fail(ErrURIMismatch, "uri "+strconvQuote(p["uri"])+" for request "+strconvQuote(r.URL.RequestURI()))
	}
	nonce := p["nonce"]
	expiry, ok := a.checkNonce(nonce)
	if !ok {
		return fail(ErrBadNonce, "")
	}

	var h1 string
	known := false
	if a.LookupHA1 != nil {
		h1, known = a.LookupHA1(user, a.realm())
		h1 = strings.ToLower(h1)
	} else if a.Lookup != nil {
		var pass string
		pass, known = a.Lookup(user)
		h1 = ha1(user, a.realm(), pass)
	}
	if !known {
		// Same work as a known user, so timing does not reveal usernames.
		h1 = ha1(user, a.realm(), "")
	}
	want := response(h1, nonce, nc, cnonce, qop, ha2(r.Method, p["uri"]))
	match := subtle.ConstantTimeCompare([]byte(want), []byte(resp)) == 1
	if !known {
		return fail(ErrUnknownUser, "")
	}
	if !match {
		return fail(ErrBadResponse, "")
	}
	now := a.now()
	if !now.Before(expiry) {
		return fail(ErrStaleNonce, "nonce expired at "+expiry.UTC().Format(time.RFC3339))
	}
	if !a.DisableReplayCheck {
		key := nonce + "\x00" + nc + "\x00" + cnonce
		if !hasQop {
			key = nonce // RFC 2069: one use per nonce
		}
		if !a.remember(key, expiry, now) {
			return fail(ErrReplay, "")
		}
	}
	return user, nil
}

// remember records key until expiry; it returns false if key was already
// recorded. Expired keys are swept at most every NonceTTL/2. Only verified
// credentials reach this, so the map is bounded by legitimate traffic within
// one NonceTTL.
func (a *Authenticator) remember(key string, expiry, now time.Time) bool {
	if a.Remember != nil {
		fresh, err := a.Remember(key, expiry)
		return err == nil && fresh
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = make(map[string]time.Time)
	}
	if !now.Before(a.nextSweep) {
		for k, exp := range a.seen {
			if !now.Before(exp) {
				delete(a.seen, k)
			}
		}
		a.nextSweep = now.Add(a.ttl() / 2)
	}
	if _, dup := a.seen[key]; dup {
		return false
	}
	a.seen[key] = expiry
	return true
}

// uriMatches reports whether the Authorization uri refers to the request's
// path and query. A path-form uri ("/VIID/System/Register") and the
// path+query of an absolute URL ("http://host:port/VIID/System/Register")
// are compared with the request's decoded path and raw query; the host of an
// absolute URL is not compared.
func uriMatches(hdr string, r *http.Request) bool {
	if hdr == "" || r.URL == nil {
		return false
	}
	if r.RequestURI != "" && hdr == r.RequestURI {
		return true
	}
	var u *url.URL
	var err error
	if strings.HasPrefix(hdr, "/") {
		u, err = url.ParseRequestURI(hdr)
	} else {
		u, err = url.Parse(hdr)
		if err == nil && (!u.IsAbs() || u.Host == "" || u.Opaque != "") {
			return false
		}
	}
	if err != nil {
		return false
	}
	return cleanPath(u.Path) == cleanPath(r.URL.Path) && u.RawQuery == r.URL.RawQuery
}

func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// strconvQuote quotes s for error messages, truncated to 200 bytes.
func strconvQuote(s string) string {
	if len(s) > 200 {
		return strconv.Quote(s[:200]) + "…"
	}
	return strconv.Quote(s)
}
