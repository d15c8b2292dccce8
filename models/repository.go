package models

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ManifestFile is the manifest's name inside a version folder.
const ManifestFile = "manifest.json"

// ErrNotFound is returned for an unknown model or version.
var ErrNotFound = errors.New("model not found")

// Repository is a folder of models: <root>/<name>/<version>/{manifest.json, model file, extras}.
type Repository struct{ Root string }

// Dir is a version's folder.
func (r Repository) Dir(name, version string) string { return filepath.Join(r.Root, name, version) }

// List returns every valid manifest, by name then version.
func (r Repository) List() ([]Manifest, error) {
	names, err := os.ReadDir(r.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, n := range names {
		if !n.IsDir() {
			continue
		}
		vs, _ := os.ReadDir(filepath.Join(r.Root, n.Name()))
		for _, v := range vs {
			m, err := ReadManifest(filepath.Join(r.Root, n.Name(), v.Name()))
			if err == nil {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return CompareVersions(out[i].Version, out[j].Version) < 0
	})
	return out, nil
}

// Resolve finds a model version; an empty version means the newest.
func (r Repository) Resolve(name, version string) (Manifest, string, error) {
	if version != "" {
		dir := r.Dir(name, version)
		m, err := ReadManifest(dir)
		if errors.Is(err, os.ErrNotExist) {
			return Manifest{}, "", fmt.Errorf("%w: %s@%s", ErrNotFound, name, version)
		}
		return m, dir, err
	}
	all, err := r.List()
	if err != nil {
		return Manifest{}, "", err
	}
	var best *Manifest
	for i := range all {
		if all[i].Name == name {
			best = &all[i]
		}
	}
	if best == nil {
		return Manifest{}, "", fmt.Errorf("%w: %s (run `make setup` to install the starter models)", ErrNotFound, name)
	}
	return *best, r.Dir(best.Name, best.Version), nil
}

// ReadManifest reads and validates dir/manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// Verify checks the model file and extra files against the manifest's digests.
func Verify(dir string, m Manifest) error {
	if err := checkSHA(filepath.Join(dir, m.File), m.SHA256); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := checkSHA(filepath.Join(dir, f.Name), f.SHA256); err != nil {
			return err
		}
	}
	return nil
}

func checkSHA(path, want string) error {
	got, err := FileSHA256(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: sha256 %s, manifest says %s", path, got, want)
	}
	return nil
}

// FileSHA256 hashes a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Install writes a version folder atomically: files go to a temporary folder that is
// renamed into place, so a crash never leaves a half-installed model visible. The
// manifest's digests must match the files.
func (r Repository) Install(m Manifest, files map[string][]byte) error {
	if err := m.Validate(); err != nil {
		return err
	}
	final := r.Dir(m.Name, m.Version)
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("%s@%s is already installed", m.Name, m.Version)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for name, data := range files {
		if !fileRE.MatchString(name) {
			return fmt.Errorf("bad file name %q", name)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, ManifestFile), mb, 0o644); err != nil {
		return err
	}
	if err := Verify(tmp, m); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

// CompareVersions orders dotted numeric versions ("1.10" > "1.9"); suffixes sort
// before the plain release.
func CompareVersions(a, b string) int {
	split := func(v string) ([]int, string) {
		core, suf, _ := strings.Cut(strings.SplitN(v, "+", 2)[0], "-")
		var n []int
		for _, p := range strings.Split(core, ".") {
			x, _ := strconv.Atoi(p)
			n = append(n, x)
		}
		return n, suf
	}
	an, as := split(a)
	bn, bs := split(b)
	for i := 0; i < max(len(an), len(bn)); i++ {
		var x, y int
		if i < len(an) {
			x = an[i]
		}
		if i < len(bn) {
			y = bn[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case as == bs:
		return 0
	case as == "":
		return 1
	case bs == "":
		return -1
	case as < bs:
		return -1
	}
	return 1
}
