package digest

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// errNotDigest reports a header whose auth-scheme is not Digest.
var errNotDigest = errors.New("auth-scheme is not Digest")

// splitScheme splits "Digest k=v, …" into its scheme and parameter text.
func splitScheme(v string) (scheme, rest string) {
	v = strings.TrimLeft(v, " \t\r\n")
	i := strings.IndexAny(v, " \t\r\n")
	if i < 0 {
		return v, ""
	}
	return v[:i], v[i+1:]
}

// parseDigestHeader parses an Authorization or WWW-Authenticate value whose
// scheme must be Digest.
func parseDigestHeader(v string) (map[string]string, error) {
	scheme, rest := splitScheme(v)
	if !strings.EqualFold(scheme, "Digest") {
		return nil, errNotDigest
	}
	return parseParams(rest)
}

// parseParams parses a comma-separated list of auth-params (RFC 7235 §2.1).
// It is lenient where real clients are sloppy: names are case-insensitive
// (returned lower-case), whitespace around '=' and ',' is optional, empty list
// elements are skipped, values may be tokens or quoted-strings (with
// backslash escapes; commas inside quotes are part of the value), unquoted
// values run to the next comma, and a quoted-string left unterminated at the
// very end of the input is accepted. A parameter given twice is an error,
// because two parsers could otherwise disagree about which one counts.
func parseParams(s string) (map[string]string, error) {
	params := make(map[string]string)
	i, n := 0, len(s)
	skipWS := func() {
		for i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
	}
	for {
		for i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == ',') {
			i++
		}
		if i >= n {
			return params, nil
		}
		start := i
		for i < n && isTokenChar(s[i]) {
			i++
		}
		name := strings.ToLower(s[start:i])
		if name == "" {
			return nil, errors.New("expected a parameter name at offset " + strconv.Itoa(i))
		}
		skipWS()
		if i >= n || s[i] != '=' {
			return nil, errors.New("parameter " + name + " has no '='")
		}
		i++
		skipWS()
		var val string
		if i < n && s[i] == '"' {
			i++
			var b strings.Builder
			for i < n {
				c := s[i]
				if c == '\\' && i+1 < n {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			// Unterminated: the loop consumed everything, which is accepted.
			val = b.String()
			skipWS()
			if i < n && s[i] != ',' {
				return nil, errors.New("unexpected text after the quoted value of " + name)
			}
		} else {
			start := i
			for i < n && s[i] != ',' {
				i++
			}
			val = strings.TrimRight(s[start:i], " \t\r\n")
		}
		if _, dup := params[name]; dup {
			return nil, errors.New("parameter " + name + " given twice")
		}
		params[name] = val
	}
}

// isTokenChar reports whether c is an RFC 7230 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// quote renders s as a quoted-string.
func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// md5hex returns the lower-case hex MD5 of the parts joined by ':'.
func md5hex(parts ...string) string {
	h := md5.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ha1 is MD5(username:realm:password).
func ha1(username, realm, password string) string { return md5hex(username, realm, password) }

// ha2 is MD5(method:uri) for qop=auth (and no qop).
func ha2(method, uri string) string { return md5hex(method, uri) }

// response computes the request-digest: MD5(HA1:nonce:nc:cnonce:qop:HA2), or
// MD5(HA1:nonce:HA2) when qop is empty (RFC 2069).
func response(ha1, nonce, nc, cnonce, qop, ha2 string) string {
	if qop == "" {
		return md5hex(ha1, nonce, ha2)
	}
	return md5hex(ha1, nonce, nc, cnonce, qop, ha2)
}

// isHex reports whether s is non-empty and all hex digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
