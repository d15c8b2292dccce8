// Package objects stores snapshots and other blobs by key. Two implementations sit
// behind one small interface: a local directory (embedded mode) and an S3 server
// through minio-go (distributed mode).
package objects

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("object not found")

// Store is a flat key → bytes store. Put must be atomic: a reader sees the whole
// object or none of it.
type Store interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error // deleting a missing key is not an error
	// List returns the keys starting with prefix ("" for all), sorted bytewise.
	List(ctx context.Context, prefix string) ([]string, error)
	// URI is the StoragePath a GA/T 1400 record carries for key.
	URI(key string) string
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$`)

// CheckKey rejects keys that could escape a folder or confuse an S3 server.
func CheckKey(key string) error {
	if !keyRE.MatchString(key) || strings.Contains(key, "..") {
		return fmt.Errorf("invalid object key %q", key)
	}
	return nil
}
