package api

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/cityeye/cityeye/gat1400"
)

// Failed sign-ins (bad bearer tokens, wrong Digest credentials at VIID Register,
// a User-Identify spoofed from another address) are limited per source address, as
// a level-3 review expects of login-failure handling: a source may fail
// authFailBurst times, then once per authFailEvery; past that it is locked out for
// authLockout, doubling with each further lockout up to authMaxLockout. A locked-out
// source is refused before its credentials are checked, so guessing gains nothing.
const (
	authFailBurst  = 10
	authFailEvery  = 6 * time.Second
	authLockout    = time.Minute
	authMaxLockout = time.Hour
	// authMaxSources bounds the table; past it, idle sources are dropped first and
	// new ones are not tracked until there is room.
	authMaxSources = 100_000
)

type authSource struct {
	lim     *rate.Limiter
	until   time.Time // locked out before this
	strikes int       // lockouts so far; decays after a quiet authMaxLockout
	seen    time.Time
}

// authLimiter is the per-source failure table; the zero value is ready to use.
type authLimiter struct {
	mu  sync.Mutex
	src map[string]*authSource
}

// sourceKey is the TCP peer's address: never a forwarding header, which anyone can
// write. IPv6 sources count per /64, the block one subscriber usually holds.
func sourceKey(c *gin.Context) string {
	a, err := netip.ParseAddr(c.RemoteIP())
	if err != nil {
		return c.RemoteIP()
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// lockedOut reports how long src must still wait, if it is locked out.
func (l *authLimiter) lockedOut(src string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.src[src]; s != nil && now.Before(s.until) {
		return s.until.Sub(now), true
	}
	return 0, false
}

// failed records a failed attempt from src.
func (l *authLimiter) failed(src string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.src == nil {
		l.src = map[string]*authSource{}
	}
	s := l.src[src]
	if s == nil {
		if len(l.src) >= authMaxSources/2 {
			l.sweep(now)
		}
		if len(l.src) >= authMaxSources {
			return
		}
		s = &authSource{lim: rate.NewLimiter(rate.Every(authFailEvery), authFailBurst)}
		l.src[src] = s
	}
	if s.strikes > 0 && now.Sub(s.until) > authMaxLockout {
		s.strikes = 0 // quiet for long enough: start over
	}
	s.seen = now
	if s.lim.AllowN(now, 1) {
		return
	}
	d := authLockout << min(s.strikes, 10)
	s.strikes++
	s.until = now.Add(min(d, authMaxLockout))
}

// sweep drops sources that are not locked out and have been quiet long enough
// for their allowance to have refilled.
func (l *authLimiter) sweep(now time.Time) {
	for k, s := range l.src {
		if !now.Before(s.until) && now.Sub(s.seen) > authFailEvery*authFailBurst && now.Sub(s.until) > authMaxLockout {
			delete(l.src, k)
		}
	}
}

// authRefused answers a locked-out caller with 429 and Retry-After; it reports
// whether it did. VIID callers get the standard's status envelope.
func (s *Server) authRefused(c *gin.Context) bool {
	wait, locked := s.authFails.lockedOut(sourceKey(c), s.now())
	if !locked {
		return false
	}
	secs := int((wait + time.Second - 1) / time.Second)
	c.Header("Retry-After", strconv.Itoa(secs))
	msg := "too many failed sign-ins from your address: try again in " + strconv.Itoa(secs) + " s"
	if strings.HasPrefix(c.Request.URL.Path, "/VIID/") {
		s.viidStatus(c, http.StatusTooManyRequests, gat1400.StatusDeviceBusy, msg)
	} else {
		fail(c, http.StatusTooManyRequests, "Authorization", msg)
	}
	return true
}

// authFailed counts a failed sign-in from the caller's address.
func (s *Server) authFailed(c *gin.Context) { s.authFails.failed(sourceKey(c), s.now()) }
