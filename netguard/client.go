package netguard

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Options shape a guarded client.
type Options struct {
	// Timeout bounds a whole request, body included (default 15 s).
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed (default 0: none). Every hop
	// dials through the guard again, so a redirect to an internal place fails.
	MaxRedirects int
}

// Client returns an HTTP client that connects through the guard: no proxy from
// the environment (the guard would see the proxy, not the target), bounded
// connect, TLS and header times, and no redirects beyond Options.MaxRedirects.
func (g *Guard) Client(o Options) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dialContext(d),
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  min(o.Timeout, 30*time.Second),
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: o.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > o.MaxRedirects {
			return errRedirect
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return errRedirect
		}
		return nil
	}}
}

var errRedirect = errors.New("netguard: redirect not followed")

// ErrTooLarge is returned by ReadAll and Copy for a body over the limit.
var ErrTooLarge = errors.New("netguard: response body over the size limit")

// ReadAll reads at most limit bytes of r, failing with ErrTooLarge beyond.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		return b[:limit], ErrTooLarge
	}
	return b, err
}

// Copy copies at most limit bytes of r to w, failing with ErrTooLarge beyond.
func Copy(w io.Writer, r io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		return n, ErrTooLarge
	}
	return n, err
}

// Public is the text a user sees for a failed request: the same for a refused
// destination, a refused or timed-out connection, a DNS failure or a TLS error,
// so that answers cannot map the network (the details go to the server's log).
// A body over the limit says so; an HTTP status is the target's own answer.
func Public(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLarge):
		return "the response was larger than allowed"
	default:
		return "could not reach the address, or it is not allowed"
	}
}

// StatusError is a non-2xx answer from the target (safe to show: the guard let the
// connection through, so the target is one the policy allows).
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("the address answered HTTP %d", e.Code) }
