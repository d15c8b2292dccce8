// Package digest implements HTTP Digest authentication (RFC 2617, MD5,
// qop=auth) and peer sessions for GA/T 1400 (VIID) peers: cameras and other
// platforms that POST /VIID/System/Register with Digest credentials, then send
// "User-Identify: <20-digit device ID>" on every request, keep alive and
// unregister.
//
// The package works at the net/http level. Everything takes an
// *http.Request and returns values or header strings, so it is used from gin
// handlers as:
//
//	user, err := auth.Verify(c.Request)
//	if err != nil {
//		c.Header("WWW-Authenticate", auth.ChallengeFor(err))
//		c.AbortWithStatus(http.StatusUnauthorized)
//		return
//	}
//
// # Server side (Authenticator)
//
// Nonces are stateless: hex(expiry[8] || random[8] || HMAC-SHA256(secret,
// realm, expiry, random)[:16]), 64 lower-case hex characters. Hex rather than
// base64 because a widely copied Java client (haoxianrui/gat1400
// DigestUtils/SessionController) parses the challenge with split(",") and
// split("="), which truncates a base64 nonce at its '=' padding; for the same
// reason the challenge is written without a space after the commas
// (`Digest realm="VIID",qop="auth",nonce="…",opaque="…",algorithm=MD5`) and
// with realm first. Realms must not contain ',' '=' or '"' for such clients.
//
// An expired nonce whose HMAC is valid and whose response digest is correct
// yields ErrStaleNonce, and ChallengeFor answers with stale=true (RFC 2617
// §3.2.1: stale only when the client demonstrably knows the password). A
// tampered nonce yields ErrBadNonce and a plain challenge.
//
// The uri parameter is hashed exactly as sent (clients send the path, e.g.
// cpp-httplib, or the full URL, e.g. the Java client above). It must refer to
// the request actually being served: a path-form uri or the path+query of an
// absolute URL must equal the request's (decoded) path and raw query. The host
// of an absolute URL is not compared (NAT and proxies rewrite it).
//
// Replays: unless DisableReplayCheck is set, the Authenticator remembers each
// accepted (nonce, nc, cnonce) until the nonce expires and rejects a second use
// with ErrReplay (answered with stale=true so an honest client just retries
// with a fresh nonce). It does not require nc to increase, because clients
// that always send nc=00000001 with a fresh cnonce are common and harmless. The
// state is per process; nonces themselves work across processes that share
// Secret.
//
// The opaque parameter is sent in challenges but ignored in credentials: it
// carries no state here, and the Java client above sends it as `opaque="null`
// (wrong value, unterminated quote). An unterminated quoted-string at the very
// end of a header is accepted for the same reason.
//
// RFC 2069 (no qop) credentials are rejected unless AllowRFC2069 is set; even
// then they are accepted only while replay checking is on, and each nonce can
// be used once, because without cnonce/nc a captured header could otherwise be
// replayed until the nonce expires. Only algorithm MD5 (or none) and qop=auth
// are accepted; auth-int, MD5-sess and SHA-256 are rejected with
// ErrUnsupported.
//
// # Client side
//
// Authorize computes an Authorization header from a WWW-Authenticate value;
// Transport is an http.RoundTripper that answers a 401 Digest challenge by
// retrying once, with the request body buffered so it can be sent again.
//
// # Sessions
//
// Sessions tracks registered peers in memory with an injectable clock;
// IdentifyHeader validates the User-Identify header.
package digest
