package digest

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// HeaderUserIdentify carries the sender's 20-digit device ID on every VIID
// request after Register.
const HeaderUserIdentify = "User-Identify"

// DefaultSessionTimeout is used when Sessions.Timeout is zero or negative:
// three missed keepalives at the usual 60 s interval.
const DefaultSessionTimeout = 3 * time.Minute

var (
	// ErrNoIdentify: the User-Identify header is missing or empty.
	ErrNoIdentify = errors.New("viid: missing User-Identify header")
	// ErrBadIdentify: the User-Identify header is not a 20-digit device ID.
	ErrBadIdentify = errors.New("viid: User-Identify is not a 20-digit device ID")
	// ErrNotRegistered: keepalive from a device that has no session.
	ErrNotRegistered = errors.New("viid: device is not registered")
	// ErrSessionExpired: keepalive after the session timed out; the device must register again.
	ErrSessionExpired = errors.New("viid: session expired, register again")
)

// ValidDeviceID reports whether id is exactly 20 ASCII digits (GB/T 28181
// device ID). It does not check the embedded codes.
func ValidDeviceID(id string) bool {
	if len(id) != 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// IdentifyHeader returns the device ID in the request's User-Identify header
// (surrounding whitespace ignored). It returns ErrNoIdentify or
// ErrBadIdentify otherwise.
func IdentifyHeader(r *http.Request) (string, error) {
	id := strings.TrimSpace(r.Header.Get(HeaderUserIdentify))
	if id == "" {
		return "", ErrNoIdentify
	}
	if !ValidDeviceID(id) {
		return "", ErrBadIdentify
	}
	return id, nil
}

// Session is a snapshot of one registered peer.
type Session struct {
	DeviceID     string    `json:"DeviceID"`
	Remote       string    `json:"Remote"` // e.g. r.RemoteAddr at Register
	RegisteredAt time.Time `json:"RegisteredAt"`
	LastSeen     time.Time `json:"LastSeen"` // Register or last Keepalive
	ExpiresAt    time.Time `json:"ExpiresAt"`
}

// Sessions is an in-memory, concurrency-safe table of registered peers. A
// session expires Timeout after its last Register or Keepalive. The zero
// value is ready to use; do not copy it after first use.
type Sessions struct {
	// Timeout without keepalive after which a session is offline;
	// DefaultSessionTimeout if <= 0.
	Timeout time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time

	mu        sync.Mutex
	m         map[string]*Session
	nextSweep time.Time
}

// NewSessions returns Sessions with the given timeout (<= 0: default).
func NewSessions(timeout time.Duration) *Sessions { return &Sessions{Timeout: timeout} }

func (s *Sessions) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultSessionTimeout
	}
	return s.Timeout
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// sweep drops expired sessions, at most once per Timeout. Callers hold mu.
func (s *Sessions) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	for id, ss := range s.m {
		if !now.Before(ss.ExpiresAt) {
			delete(s.m, id)
		}
	}
	s.nextSweep = now.Add(s.timeout())
}

// Register creates or renews the session of deviceID (re-registering resets
// RegisteredAt) and returns it.
func (s *Sessions) Register(deviceID, remote string) Session {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]*Session)
	}
	s.sweep(now)
	ss := &Session{DeviceID: deviceID, Remote: remote, RegisteredAt: now, LastSeen: now, ExpiresAt: now.Add(s.timeout())}
	s.m[deviceID] = ss
	return *ss
}

// Keepalive extends the session of deviceID. It returns ErrNotRegistered if
// there is none, and ErrSessionExpired (dropping the session) if it timed out.
func (s *Sessions) Keepalive(deviceID string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[deviceID]
	if !ok {
		return ErrNotRegistered
	}
	if !now.Before(ss.ExpiresAt) {
		delete(s.m, deviceID)
		return ErrSessionExpired
	}
	ss.LastSeen = now
	ss.ExpiresAt = now.Add(s.timeout())
	return nil
}

// Unregister removes the session of deviceID and reports whether it was
// online.
func (s *Sessions) Unregister(deviceID string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[deviceID]
	if !ok {
		return false
	}
	delete(s.m, deviceID)
	return now.Before(ss.ExpiresAt)
}

// Get returns the session of deviceID if it is online.
func (s *Sessions) Get(deviceID string) (Session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[deviceID]
	if !ok || !now.Before(ss.ExpiresAt) {
		return Session{}, false
	}
	return *ss, true
}

// Online reports whether deviceID is registered and not expired.
func (s *Sessions) Online(deviceID string) bool {
	_, ok := s.Get(deviceID)
	return ok
}

// List returns the online sessions sorted by DeviceID, dropping expired ones.
func (s *Sessions) List() []Session {
	now := s.now()
	s.mu.Lock()
	s.nextSweep = time.Time{}
	s.sweep(now)
	out := make([]Session, 0, len(s.m))
	for _, ss := range s.m {
		out = append(out, *ss)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].DeviceID < out[j].DeviceID })
	return out
}
