// Package testdata locates the real test media and the model repository that
// `make setup` installs, for tests across the tree. Media come from Debian packages
// (opencv-doc, facedetect, darknet, node-opencv) and are not committed.
package testdata

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
)

// MediaDir is the folder the test media are in: tests configure it as the server's
// import folder for file:// sources.
func MediaDir() string { return filepath.Join(engine.Home(), "media") }

// Media returns the path of a test media file, failing the test if setup has not
// installed it.
func Media(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(engine.Home(), "media", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test media %s missing (%v): run `make setup`", name, err)
	}
	return p
}

// Repository returns the model repository setup installed the starter models into.
func Repository() models.Repository {
	return models.Repository{Root: filepath.Join(engine.Home(), "models")}
}

// PrivateRepository gives a test its own model repository at dir (kept if it
// exists, so a restarted server finds what it published): the starter models of
// Repository hard-linked (model files are never rewritten in place), each PUBLISHED
// pointer copied. Whatever a test publishes, installs or delivers then stays out of
// the shared cache that other test packages, running at the same time, and
// `make demo` read.
func PrivateRepository(t testing.TB, dir string) models.Repository {
	t.Helper()
	if _, err := os.Stat(dir); err == nil {
		return models.Repository{Root: dir}
	}
	src := Repository().Root
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Name() == "PUBLISHED":
			b, err := os.ReadFile(p)
			if err == nil {
				err = os.WriteFile(dst, b, 0o644)
			}
			return err
		default:
			return os.Link(p, dst)
		}
	})
	if err != nil {
		t.Fatalf("private model repository (run `make setup`): %v", err)
	}
	return models.Repository{Root: dir}
}

// Model loads a model from that repository on the CPU, failing the test if absent.
func Model(t testing.TB, name string) *models.Model {
	t.Helper()
	m, err := models.LoadFromRepository(Repository(), name, "", engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 2})
	if err != nil {
		t.Fatalf("load %s: %v (run `make setup`)", name, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
