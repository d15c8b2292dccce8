package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/preprocess"
)

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func manifest(name, version string, data []byte) Manifest {
	return Manifest{Name: name, Version: version, Task: TaskClassification, File: "model.onnx", SHA256: sum(data),
		License: "MIT", Input: preprocess.Spec{Width: 8, Height: 8, Resize: "stretch", Color: "rgb", Layout: "nchw"},
		Decoder: Decoder{Type: "classification"}}
}

func TestManifestValidateNamesField(t *testing.T) {
	good := manifest("m", "1.0.0", []byte("x"))
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Manifest){
		"name":         func(m *Manifest) { m.Name = "Bad Name" },
		"version":      func(m *Manifest) { m.Version = "v1" },
		"task":         func(m *Manifest) { m.Task = "magic" },
		"sha256":       func(m *Manifest) { m.SHA256 = "abc" },
		"file":         func(m *Manifest) { m.File = "../x.onnx" },
		"decoder.type": func(m *Manifest) { m.Decoder.Type = "ssdx" },
		"input":        func(m *Manifest) { m.Input.Layout = "chw" },
		"license":      func(m *Manifest) { m.License = "" },
	}
	for field, mutate := range cases {
		m := good
		mutate(&m)
		var fe *FieldError
		if err := m.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestRepositoryInstallResolveVerify(t *testing.T) {
	repo := Repository{Root: t.TempDir()}
	v1, v2 := []byte("one"), []byte("two")
	if err := repo.Install(manifest("m", "1.9.0", v1), map[string][]byte{"model.onnx": v1}); err != nil {
		t.Fatal(err)
	}
	if err := repo.Install(manifest("m", "1.10.0", v2), map[string][]byte{"model.onnx": v2}); err != nil {
		t.Fatal(err)
	}
	m, dir, err := repo.Resolve("m", "")
	if err != nil || m.Version != "1.10.0" {
		t.Fatalf("newest = %v %v, want 1.10.0", m.Version, err)
	}
	if err := Verify(dir, m); err != nil {
		t.Fatal(err)
	}
	if err := repo.Install(manifest("m", "1.10.0", v2), map[string][]byte{"model.onnx": v2}); err == nil {
		t.Fatal("reinstalling a version must fail: versions are immutable")
	}
	// a file that does not match its digest is refused and nothing is left behind
	bad := manifest("m", "2.0.0", v1)
	if err := repo.Install(bad, map[string][]byte{"model.onnx": v2}); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("digest mismatch not refused: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(repo.Root, "m"))
	if len(entries) != 2 {
		t.Fatalf("left behind: %v", entries)
	}
	// tampering after install is caught by Verify
	os.WriteFile(filepath.Join(dir, "model.onnx"), []byte("evil"), 0o644)
	if err := Verify(dir, m); err == nil {
		t.Fatal("tampered model verified")
	}
	if _, _, err := repo.Resolve("nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown model: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"1.10", "1.9", 1}, {"1.0.0", "1", 0}, {"2.0.0-rc1", "2.0.0", -1}, {"0.1", "0.1.1", -1}} {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("%s vs %s = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
