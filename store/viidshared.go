package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"
)

// What every API server must share for GA/T 1400 peers (a peer may Register on
// one server and Keepalive on another, behind a load balancer; its session
// survives a restart): sessions, the Digest replay cache and the Digest nonce key.

// VIIDSession is one registered peer's session.
type VIIDSession struct {
	DeviceID     string
	Remote       string
	RegisteredAt time.Time
	LastSeen     time.Time
	ExpiresAt    time.Time
}

// PutVIIDSession creates or replaces a device's session.
func (s *DB) PutVIIDSession(ctx context.Context, x VIIDSession) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM viid_sessions WHERE device_id=?`), x.DeviceID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO viid_sessions (device_id, remote, registered_at, last_seen, expires_at) VALUES (?,?,?,?,?)`),
			x.DeviceID, x.Remote, ms(x.RegisteredAt), ms(x.LastSeen), ms(x.ExpiresAt))
		return err
	})
}

// TouchVIIDSession extends a session that has not expired at now to expires; it
// returns ErrNotFound when there is none and ErrExpired (removing it) when it
// expired.
func (s *DB) TouchVIIDSession(ctx context.Context, device string, now, expires time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE viid_sessions SET last_seen=?, expires_at=? WHERE device_id=? AND expires_at>?`), ms(now), ms(expires), device, ms(now))
	if err := affected(res, err); !errors.Is(err, ErrNotFound) {
		return err
	}
	if res, err = s.db.ExecContext(ctx, s.q(`DELETE FROM viid_sessions WHERE device_id=?`), device); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return ErrExpired
	}
	return ErrNotFound
}

// ErrExpired: the session timed out.
var ErrExpired = errors.New("store: expired")

// DeleteVIIDSession removes a session and reports whether it was live at now.
func (s *DB) DeleteVIIDSession(ctx context.Context, device string, now time.Time) (bool, error) {
	x, err := s.GetVIIDSession(ctx, device, time.Time{})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = s.db.ExecContext(ctx, s.q(`DELETE FROM viid_sessions WHERE device_id=?`), device)
	return x.ExpiresAt.After(now), err
}

const viidSessionCols = `device_id, remote, registered_at, last_seen, expires_at`

func scanVIIDSession(r interface{ Scan(...any) error }) (VIIDSession, error) {
	var x VIIDSession
	var reg, seen, exp int64
	err := r.Scan(&x.DeviceID, &x.Remote, &reg, &seen, &exp)
	x.RegisteredAt, x.LastSeen, x.ExpiresAt = fromMS(reg), fromMS(seen), fromMS(exp)
	return x, err
}

// GetVIIDSession returns a device's session if it has not expired at now.
func (s *DB) GetVIIDSession(ctx context.Context, device string, now time.Time) (VIIDSession, error) {
	x, err := scanVIIDSession(s.db.QueryRowContext(ctx, s.q(`SELECT `+viidSessionCols+` FROM viid_sessions WHERE device_id=? AND expires_at>?`), device, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return x, ErrNotFound
	}
	return x, err
}

// ListVIIDSessions returns the sessions live at now by device ID, removing expired ones.
func (s *DB) ListVIIDSessions(ctx context.Context, now time.Time) ([]VIIDSession, error) {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM viid_sessions WHERE expires_at<=?`), ms(now)); err != nil {
		return nil, err
	}
	return queryAll(ctx, s, `SELECT `+viidSessionCols+` FROM viid_sessions ORDER BY device_id`, nil, scanVIIDSession)
}

// RememberOnce records key until expires and reports whether it was new: the
// Digest replay cache, shared by every server. Expired keys are removed as it goes.
func (s *DB) RememberOnce(ctx context.Context, key string, expires, now time.Time) (bool, error) {
	h := sha256.Sum256([]byte(key))
	var fresh bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM digest_replay WHERE expires_at<=?`), ms(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(s.dialect.insertIgnore(`digest_replay (key, expires_at) VALUES (?,?)`)), hex.EncodeToString(h[:]), ms(expires))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		return nil
	})
	return fresh, err
}

// ClusterSecret returns the 32-byte secret called name that every server shares,
// creating it at random on first use (the first server to ask wins).
func (s *DB) ClusterSecret(ctx context.Context, name string) ([]byte, error) {
	b := make([]byte, 32)
	rand.Read(b)
	if _, err := s.db.ExecContext(ctx, s.q(s.dialect.insertIgnore(`cluster_secrets (name, value, created_at) VALUES (?,?,?)`)),
		name, hex.EncodeToString(b), ms(now())); err != nil {
		return nil, err
	}
	var v string
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM cluster_secrets WHERE name=?`), name).Scan(&v); err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}
