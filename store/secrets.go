package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Stream URLs carry camera credentials (rtsp://user:password@host/…). They are kept
// encrypted at rest with AES-256-GCM under a key held outside the database (the
// server's data folder, beside the watermark key), so a database dump or backup, or
// a remote worker holding the database credentials, does not hand out every
// department's cameras. The stream ID is the additional data: a ciphertext copied
// onto another row does not decrypt.

// encPrefix marks an encrypted column value; a value without it is legacy plaintext.
const encPrefix = "enc:v1:"

// SetStreamKey sets the 32-byte key stream URLs are encrypted with, and encrypts the
// URLs an older version stored in plain text. It returns how many it encrypted.
func (s *DB) SetStreamKey(ctx context.Context, key []byte) (int, error) {
	if len(key) != 32 {
		return 0, fmt.Errorf("stream key: want 32 bytes, have %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	if s.streamKey, err = cipher.NewGCM(block); err != nil {
		return 0, err
	}
	rows, err := queryAll(ctx, s, `SELECT id, url FROM streams WHERE url NOT LIKE ?`, []any{encPrefix + "%"},
		func(r interface{ Scan(...any) error }) ([2]string, error) {
			var v [2]string
			return v, r.Scan(&v[0], &v[1])
		})
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE streams SET url=? WHERE id=? AND url=?`), s.sealURL(r[0], r[1]), r[0], r[1]); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// sealURL is what the url column stores: the URL encrypted when a key is set.
func (s *DB) sealURL(id, url string) string {
	if s.streamKey == nil {
		return url
	}
	nonce := make([]byte, s.streamKey.NonceSize())
	rand.Read(nonce)
	return encPrefix + base64.RawStdEncoding.EncodeToString(s.streamKey.Seal(nonce, nonce, []byte(url), []byte(id)))
}

// errStreamKey: the column is encrypted and this process has no key or another one.
var errStreamKey = errors.New("a stream URL is encrypted with a key this process does not have (the server's data/stream.key)")

// openURL reverses sealURL. A process without the key (a remote worker's analysis
// job, which supplies its own URL) sees an empty URL rather than ciphertext.
func (s *DB) openURL(id, stored string) (string, error) {
	b64, ok := strings.CutPrefix(stored, encPrefix)
	if !ok {
		return stored, nil
	}
	if s.streamKey == nil {
		return "", nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	n := s.streamKey.NonceSize()
	if err != nil || len(raw) < n {
		return "", errStreamKey
	}
	plain, err := s.streamKey.Open(nil, raw[:n], raw[n:], []byte(id))
	if err != nil {
		return "", errStreamKey
	}
	return string(plain), nil
}
