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

// Repository is a folder of models: <root>/<name>/<version>/{manifest.json, model
// file, extras} for the platform's models and <root>/_vendors/<vendor>/<name>/<version>
// for every other vendor's. Methods take repository keys: "name" or "vendor/name".
type Repository struct{ Root string }

// Dir is a version's folder; q must be a valid key (see SplitName).
func (r Repository) Dir(q, version string) string {
	d, err := r.modelDir(q)
	if err != nil {
		return filepath.Join(r.Root, vendorsDir, "invalid", version)
	}
	return filepath.Join(d, version)
}

// List returns every valid manifest, by repository key then version.
func (r Repository) List() ([]Manifest, error) {
	var out []Manifest
	add := func(folder string) error {
		names, err := os.ReadDir(folder)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		for _, n := range names {
			if !n.IsDir() || !nameRE.MatchString(n.Name()) {
				continue
			}
			vs, _ := os.ReadDir(filepath.Join(folder, n.Name()))
			for _, v := range vs {
				m, err := ReadManifest(filepath.Join(folder, n.Name(), v.Name()))
				if err == nil && r.Dir(m.QualifiedName(), m.Version) == filepath.Join(folder, n.Name(), v.Name()) {
					out = append(out, m)
				}
			}
		}
		return err
	}
	if err := add(r.Root); err != nil {
		return nil, err
	}
	vendors, _ := os.ReadDir(filepath.Join(r.Root, vendorsDir))
	for _, v := range vendors {
		if v.IsDir() && vendorRE.MatchString(v.Name()) {
			if err := add(filepath.Join(r.Root, vendorsDir, v.Name())); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].QualifiedName(), out[j].QualifiedName(); a != b {
			return a < b
		}
		return CompareVersions(out[i].Version, out[j].Version) < 0
	})
	return out, nil
}

// PublishedFile is a model's publication pointer, <root>/<name>/PUBLISHED: one line
// holding the version that an empty version ("latest") resolves to.
const PublishedFile = "PUBLISHED"

// Publish makes version the one Resolve(name, "") returns, so running tasks that
// follow the latest version switch to it (workers re-resolve their models
// periodically and on Worker.RefreshModels). The version folder must exist and hold
// a valid manifest for name@version. The pointer is replaced atomically (temporary
// file, fsync, rename): readers see the old or the new version, never a torn file.
func (r Repository) Publish(name, version string) error {
	dir, err := r.modelDir(name)
	if err != nil {
		return fieldErr("name", "must be name or vendor/name, 1-64 lowercase letters, digits, '.', '_' or '-'")
	}
	if !versionRE.MatchString(version) {
		return fieldErr("version", "must look like 1, 1.2 or 1.2.3 (optionally -suffix)")
	}
	if _, err := r.read(name, version); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".published-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op once renamed
	if _, err := f.WriteString(version + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, PublishedFile)); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		d.Sync()
		d.Close()
	}
	return nil
}

// Published returns the version name's publication pointer names; ok is false when
// the model has no pointer (Resolve then picks the newest version). The named
// version is not checked here; Resolve reports a pointer to a missing version.
func (r Repository) Published(name string) (version string, ok bool, err error) {
	dir, err := r.modelDir(name)
	if err != nil {
		return "", false, err
	}
	path := filepath.Join(dir, PublishedFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	v := strings.TrimSpace(string(b))
	if !versionRE.MatchString(v) {
		return "", false, fmt.Errorf("%s: %q is not a version", path, v)
	}
	return v, true, nil
}

// Resolve finds a model version. An empty version means the published one (see
// Publish) or, for a model never published, the newest installed. A publication
// pointer naming a version that is not installed is an error (wrapping ErrNotFound),
// never a silent fallback to another version.
func (r Repository) Resolve(name, version string) (Manifest, string, error) {
	if _, err := r.modelDir(name); err != nil {
		return Manifest{}, "", err
	}
	if version == "" {
		p, ok, err := r.Published(name)
		if err != nil {
			return Manifest{}, "", err
		}
		if ok {
			m, err := r.read(name, p)
			if errors.Is(err, ErrNotFound) {
				dir, _ := r.modelDir(name)
				return Manifest{}, "", fmt.Errorf("%w: %s is published as version %s, which is not installed (%s)",
					ErrNotFound, name, p, filepath.Join(dir, PublishedFile))
			}
			if err != nil {
				return Manifest{}, "", fmt.Errorf("%s is published as version %s: %w", name, p, err)
			}
			return m, r.Dir(name, p), nil
		}
	}
	if version != "" {
		if !versionRE.MatchString(version) {
			return Manifest{}, "", fmt.Errorf("%w: %q is not a version", ErrNotFound, version)
		}
		m, err := r.read(name, version)
		return m, r.Dir(name, version), err
	}
	all, err := r.List()
	if err != nil {
		return Manifest{}, "", err
	}
	vendor, bare, _ := SplitName(name)
	var best *Manifest
	for i := range all {
		if all[i].QualifiedName() == QualifiedName(vendor, bare) {
			best = &all[i]
		}
	}
	if best == nil {
		return Manifest{}, "", fmt.Errorf("%w: %s (run `make setup` to install the starter models)", ErrNotFound, name)
	}
	return *best, r.Dir(name, best.Version), nil
}

// read reads an installed version's manifest and checks that it is the model the
// folder stands for: a manifest claiming another vendor, name or version is refused.
func (r Repository) read(name, version string) (Manifest, error) {
	m, err := ReadManifest(r.Dir(name, version))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%w: %s@%s is not installed", ErrNotFound, name, version)
	}
	if err != nil {
		return m, err
	}
	vendor, bare, _ := SplitName(name)
	if m.QualifiedName() != QualifiedName(vendor, bare) || m.Version != version {
		return m, fmt.Errorf("%s@%s: its manifest says %s@%s", name, version, m.QualifiedName(), m.Version)
	}
	return m, nil
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
// Files are opened as OpenFile does: listed names only, never through a symlink.
func Verify(dir string, m Manifest) error {
	if err := checkSHA(dir, m, m.File, m.SHA256); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := checkSHA(dir, m, f.Name, f.SHA256); err != nil {
			return err
		}
	}
	return nil
}

func checkSHA(dir string, m Manifest, name, want string) error {
	f, err := m.OpenFile(dir, name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%s: %w", name, unwrapPath(err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: sha256 %s, manifest says %s", name, got, want)
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
	final := r.Dir(m.QualifiedName(), m.Version)
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("%s@%s is already installed", m.QualifiedName(), m.Version)
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
		if !m.Listed(name) || checkFileName(name) != nil {
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
