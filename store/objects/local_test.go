package objects

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLocal(t *testing.T) {
	ctx := context.Background()
	l, err := NewLocal(t.TempDir(), "http://h/objects/")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, "snap/2026/a.jpg", []byte("jpeg"), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	b, err := l.Get(ctx, "snap/2026/a.jpg")
	if err != nil || string(b) != "jpeg" {
		t.Fatal(b, err)
	}
	// a stale temp file from a crash mid-write is not listed as an object
	os.WriteFile(filepath.Join(l.Root, "snap", ".put-123"), []byte("x"), 0o644)
	keys, _ := l.List(ctx, "snap/")
	if len(keys) != 1 || keys[0] != "snap/2026/a.jpg" {
		t.Fatalf("list %v", keys)
	}
	if l.URI("snap/2026/a.jpg") != "http://h/objects/snap/2026/a.jpg" {
		t.Fatal(l.URI("x"))
	}
	if err := l.Delete(ctx, "snap/2026/a.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get(ctx, "snap/2026/a.jpg"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "snap/2026/a.jpg"); err != nil {
		t.Fatal("deleting twice must be fine:", err)
	}
	for _, bad := range []string{"../etc/passwd", "/abs", "a/../../b", ""} {
		if err := l.Put(ctx, bad, nil, ""); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}
