package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/engine"
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
		"name":          func(m *Manifest) { m.Name = "Bad Name" },
		"version":       func(m *Manifest) { m.Version = "v1" },
		"task":          func(m *Manifest) { m.Task = "magic" },
		"sha256":        func(m *Manifest) { m.SHA256 = "abc" },
		"file":          func(m *Manifest) { m.File = "../x.onnx" },
		"decoder.type":  func(m *Manifest) { m.Decoder.Type = "ssdx" },
		"input":         func(m *Manifest) { m.Input.Layout = "chw" },
		"license":       func(m *Manifest) { m.License = "" },
		"files[0].name": func(m *Manifest) { m.Files = []File{{Name: "manifest.json", SHA256: m.SHA256}} },
		"decoder.params.dictionary": func(m *Manifest) {
			m.Decoder = Decoder{Type: "ctc", Params: json.RawMessage(`{"dictionary":"../../admin.token"}`)}
		},
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

// A package file replaced by a symlink (to a file outside, here the "secret") is
// never followed: Verify and Load refuse it.
func TestRepositoryRefusesSymlinkedFiles(t *testing.T) {
	repo := Repository{Root: t.TempDir()}
	data, dict := []byte("one"), []byte("a\nb\n")
	m := manifest("m", "1.0.0", data)
	m.Files = []File{{Name: "dict.txt", SHA256: sum(dict)}}
	if err := repo.Install(m, map[string][]byte{"model.onnx": data, "dict.txt": dict}); err != nil {
		t.Fatal(err)
	}
	dir := repo.Dir("m", "1.0.0")
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, dict, 0o600) // same bytes: only the link itself can be refused
	os.Remove(filepath.Join(dir, "dict.txt"))
	if err := os.Symlink(secret, filepath.Join(dir, "dict.txt")); err != nil {
		t.Fatal(err)
	}
	if err := Verify(dir, m); err == nil || !strings.Contains(err.Error(), "symlink") || strings.Contains(err.Error(), dir) {
		t.Fatalf("symlinked file: %v", err)
	}
	if _, err := Load(dir, engine.Options{Provider: engine.ProviderCPU}); err == nil {
		t.Fatal("a symlinked package file loaded")
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

func TestRepositoryPublish(t *testing.T) {
	repo := Repository{Root: t.TempDir()}
	for _, v := range []string{"1", "2", "10"} {
		data := []byte("model " + v)
		if err := repo.Install(manifest("m", v, data), map[string][]byte{"model.onnx": data}); err != nil {
			t.Fatal(err)
		}
	}
	resolve := func() string {
		t.Helper()
		m, dir, err := repo.Resolve("m", "")
		if err != nil {
			t.Fatal(err)
		}
		if dir != repo.Dir("m", m.Version) {
			t.Fatalf("dir %s for version %s", dir, m.Version)
		}
		return m.Version
	}
	// never published: the newest, as before
	if v, ok, err := repo.Published("m"); v != "" || ok || err != nil {
		t.Fatalf("Published before publishing = %q %v %v", v, ok, err)
	}
	if v := resolve(); v != "10" {
		t.Fatalf("unpublished resolves to %s, want the newest (10)", v)
	}
	// the pointer wins over the newest, and can move back and forth
	for _, want := range []string{"2", "1", "10"} {
		if err := repo.Publish("m", want); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := repo.Published("m"); v != want || !ok || err != nil {
			t.Fatalf("Published = %q %v %v, want %s", v, ok, err, want)
		}
		if v := resolve(); v != want {
			t.Fatalf("resolves to %s after publishing %s", v, want)
		}
	}
	// an explicit version ignores the pointer
	if m, _, err := repo.Resolve("m", "1"); err != nil || m.Version != "1" {
		t.Fatalf("explicit version: %v %v", m.Version, err)
	}
	// refused: versions that are not installed, bad names, a manifest that does not validate
	if err := repo.Publish("m", "3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("publishing a missing version: %v", err)
	}
	if err := repo.Publish("../m", "1"); err == nil {
		t.Fatal("publishing a bad name was accepted")
	}
	if err := repo.Publish("m", "../../x"); err == nil {
		t.Fatal("publishing a bad version was accepted")
	}
	os.MkdirAll(repo.Dir("m", "4"), 0o755)
	bad := manifest("m", "4", []byte("x"))
	bad.Task = "magic"
	mb, _ := json.Marshal(bad)
	os.WriteFile(filepath.Join(repo.Dir("m", "4"), ManifestFile), mb, 0o644)
	if err := repo.Publish("m", "4"); err == nil || !strings.Contains(err.Error(), "task") {
		t.Fatalf("publishing an invalid manifest: %v", err)
	}
	if v := resolve(); v != "10" {
		t.Fatalf("a refused publish moved the pointer to %s", v)
	}
	// the pointer is the only file left beside the versions (no temporary files), and
	// List still sees every valid version
	entries, _ := os.ReadDir(filepath.Join(repo.Root, "m"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "1 10 2 4 PUBLISHED" {
		t.Fatalf("model folder holds %v", names)
	}
	if all, err := repo.List(); err != nil || len(all) != 3 {
		t.Fatalf("List = %d manifests, %v", len(all), err)
	}
	// a pointer to a version that disappeared is an error that says so, not a fallback
	if err := os.RemoveAll(repo.Dir("m", "10")); err != nil {
		t.Fatal(err)
	}
	_, _, err := repo.Resolve("m", "")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "published as version 10") {
		t.Fatalf("pointer to a missing version: %v", err)
	}
	if _, err := LoadFromRepository(repo, "m", "", engine.Options{}); err == nil {
		t.Fatal("LoadFromRepository fell back from a dangling pointer")
	}
	// a garbled pointer is reported too
	os.WriteFile(filepath.Join(repo.Root, "m", PublishedFile), []byte("latest\n"), 0o644)
	if _, _, err := repo.Resolve("m", ""); err == nil || !strings.Contains(err.Error(), "not a version") {
		t.Fatalf("garbled pointer: %v", err)
	}
	// unknown models are still ErrNotFound
	if _, ok, err := repo.Published("nope"); ok || err != nil {
		t.Fatalf("Published(nope) = %v %v", ok, err)
	}
	if _, _, err := repo.Resolve("nope", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown model: %v", err)
	}
}
