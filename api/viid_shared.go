package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/store"
)

// viidSessions are the VIID peers' sessions, kept in the database so that every API
// server sees them (Register on one, Keepalive on another) and they outlive a
// restart. Same rules as digest.Sessions: a session expires Timeout after its last
// Register or Keepalive. A database error reads as "no session" (the peer
// registers again), never as a session.
type viidSessions struct {
	db      *store.DB
	timeout time.Duration
	now     func() time.Time
}

// viidDBTimeout bounds one session lookup, so a stalled database fails a request
// instead of holding it.
const viidDBTimeout = 5 * time.Second

func (v *viidSessions) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(backgroundCtx, viidDBTimeout)
}

func toSession(x store.VIIDSession) digest.Session {
	return digest.Session{DeviceID: x.DeviceID, Remote: x.Remote, RegisteredAt: x.RegisteredAt, LastSeen: x.LastSeen, ExpiresAt: x.ExpiresAt}
}

// Register creates or renews the session of deviceID.
func (v *viidSessions) Register(deviceID, remote string) (digest.Session, error) {
	ctx, cancel := v.ctx()
	defer cancel()
	now := v.now()
	x := store.VIIDSession{DeviceID: deviceID, Remote: remote, RegisteredAt: now, LastSeen: now, ExpiresAt: now.Add(v.timeout)}
	return toSession(x), v.db.PutVIIDSession(ctx, x)
}

// Keepalive extends the session of deviceID (digest.ErrNotRegistered,
// digest.ErrSessionExpired as the in-memory table answers).
func (v *viidSessions) Keepalive(deviceID string) error {
	ctx, cancel := v.ctx()
	defer cancel()
	now := v.now()
	err := v.db.TouchVIIDSession(ctx, deviceID, now, now.Add(v.timeout))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return digest.ErrNotRegistered
	case errors.Is(err, store.ErrExpired):
		return digest.ErrSessionExpired
	}
	return err
}

// Unregister removes the session of deviceID and reports whether it was online.
func (v *viidSessions) Unregister(deviceID string) bool {
	ctx, cancel := v.ctx()
	defer cancel()
	on, err := v.db.DeleteVIIDSession(ctx, deviceID, v.now())
	if err != nil {
		slog.Warn("VIID unregister", "device", deviceID, "err", err)
	}
	return on
}

// Get returns the session of deviceID if it is online.
func (v *viidSessions) Get(deviceID string) (digest.Session, bool) {
	ctx, cancel := v.ctx()
	defer cancel()
	x, err := v.db.GetVIIDSession(ctx, deviceID, v.now())
	if err != nil {
		return digest.Session{}, false
	}
	return toSession(x), true
}

// List returns the online sessions sorted by device ID.
func (v *viidSessions) List() []digest.Session {
	ctx, cancel := v.ctx()
	defer cancel()
	xs, err := v.db.ListVIIDSessions(ctx, v.now())
	if err != nil {
		slog.Warn("VIID sessions", "err", err)
	}
	out := make([]digest.Session, 0, len(xs))
	for _, x := range xs {
		out = append(out, toSession(x))
	}
	return out
}

// viidNonceKey is the Digest nonce key every server shares (cluster_secrets), so a
// nonce one server issued is good on another; without the database, the
// watermark key (shared by servers of one deployment) as before.
func (s *Server) viidNonceKey() []byte {
	ctx, cancel := context.WithTimeout(backgroundCtx, viidDBTimeout)
	defer cancel()
	k, err := s.DB.ClusterSecret(ctx, "viid.digest.nonce")
	if err != nil {
		slog.Warn("VIID nonce key from the database; using the watermark key", "err", err)
		return s.WatermarkKey
	}
	return k
}

// viidRemember is the Digest replay cache in the database.
func (s *Server) viidRemember(key string, expiry time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(backgroundCtx, viidDBTimeout)
	defer cancel()
	return s.DB.RememberOnce(ctx, key, expiry, s.now())
}
