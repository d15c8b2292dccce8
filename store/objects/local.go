package objects

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Local keeps objects as files under Root. Writes go to a temporary file that is
// synced and renamed, so a crash never leaves a truncated snapshot behind a key.
type Local struct {
	Root    string
	BaseURI string // prefix for URI(), e.g. "http://127.0.0.1:8080/api/v1/objects/"
}

// NewLocal creates the root folder if needed.
func NewLocal(root, baseURI string) (*Local, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	return &Local{Root: root, BaseURI: baseURI}, nil
}

func (l *Local) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.Root, filepath.FromSlash(key)), nil
}

func (l *Local) Put(_ context.Context, key string, data []byte, _ string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return WriteFileAtomic(p, data)
}

// TempPrefix starts the names of WriteFileAtomic's temporary files: a folder's
// reader skips them (a crash may leave one).
const TempPrefix = ".put-"

// WriteFileAtomic writes path so that after a crash, or a power loss, it holds data
// whole or does not exist: a temporary file in the same folder, synced, renamed
// over path, and the folder synced so the rename lasts.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (l *Local) Get(_ context.Context, key string) ([]byte, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return b, err
}

func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// List walks the whole root; keys come back in byte order, as on S3. A non-empty
// prefix must pass CheckKey, as S3.List requires.
func (l *Local) List(_ context.Context, prefix string) ([]string, error) {
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return nil, err
		}
	}
	var keys []string
	err := filepath.WalkDir(l.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), TempPrefix) {
			return nil
		}
		rel, _ := filepath.Rel(l.Root, p)
		k := filepath.ToSlash(rel)
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	// WalkDir's per-folder order puts "a/b" before "a-b"; S3 sorts whole keys.
	slices.Sort(keys)
	return keys, err
}

func (l *Local) URI(key string) string { return l.BaseURI + key }
