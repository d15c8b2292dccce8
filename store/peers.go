package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Peer is a GA/T 1400 (VIID) client allowed to register: a camera or another
// platform. It authenticates with HTTP Digest as Username (the password is kept only
// as HA1 = MD5(username:realm:password), which Digest needs) and then acts as UserID,
// whose department and role decide what it may read and push.
type Peer struct {
	DeviceID  string    `json:"device_id"`
	Username  string    `json:"username"`
	UserID    string    `json:"user_id"`
	HA1       string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// CreatePeer stores a peer; ErrConflict if its device ID or username exists.
func (s *DB) CreatePeer(ctx context.Context, p *Peer) error {
	p.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO viid_peers (device_id, username, user_id, ha1, created_at) VALUES (?,?,?,?,?)`),
		p.DeviceID, p.Username, p.UserID, p.HA1, ms(p.CreatedAt))
	return s.dialect.mapErr(err)
}

func scanPeer(row interface{ Scan(...any) error }) (Peer, error) {
	var p Peer
	var c int64
	err := row.Scan(&p.DeviceID, &p.Username, &p.UserID, &p.HA1, &c)
	p.CreatedAt = fromMS(c)
	return p, err
}

// PeerBy returns the peer with a device ID (col "device_id") or username.
func (s *DB) PeerBy(ctx context.Context, col, v string) (Peer, error) {
	if col != "device_id" {
		col = "username"
	}
	p, err := scanPeer(s.db.QueryRowContext(ctx, s.q(`SELECT device_id, username, user_id, ha1, created_at FROM viid_peers WHERE `+col+`=?`), v))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// ListPeers returns all peers.
func (s *DB) ListPeers(ctx context.Context) ([]Peer, error) {
	return queryAll(ctx, s, `SELECT device_id, username, user_id, ha1, created_at FROM viid_peers ORDER BY device_id`, nil, scanPeer)
}

// DeletePeer removes a peer.
func (s *DB) DeletePeer(ctx context.Context, deviceID string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM viid_peers WHERE device_id=?`), deviceID)
	return affected(res, err)
}

// PrincipalOf resolves a user ID to a principal (for peers, which have no token).
func (s *DB) PrincipalOf(ctx context.Context, userID string) (Principal, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, errors.Join(ErrBadToken, errors.New("user disabled"))
	}
	d, err := s.GetDepartment(ctx, u.DeptID)
	return Principal{User: u, Dept: d, TokenID: "viid"}, err
}
