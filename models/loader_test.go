package models_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/testdata"
)

// installCopy installs the starter blazeface-front into repo as version.
func installCopy(t *testing.T, repo models.Repository, version string) {
	t.Helper()
	_, src, err := testdata.Repository().Resolve("blazeface-front", "")
	if err != nil {
		t.Skipf("%v (run make setup)", err)
	}
	dst := repo.Dir("blazeface-front", version)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "model.onnx"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "manifest.json" {
			b = []byte(strings.Replace(string(b), `"version": "1.2.0"`, `"version": "`+version+`"`, 1))
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A followed name moves to a newly published version at the next Get; a pinned key
// stays; the replaced model keeps working for the caller that still holds it.
func TestLoaderFollowsPublish(t *testing.T) {
	repo := models.Repository{Root: t.TempDir()}
	installCopy(t, repo, "1.0.0")
	l := &models.Loader{Repo: repo, Recheck: 1}
	defer l.Close()
	m1, release1, err := l.Get("blazeface-front")
	if err != nil {
		t.Fatal(err)
	}
	if m1.Manifest.Version != "1.0.0" {
		t.Fatalf("loaded %s", m1.Manifest.Version)
	}
	again, releaseAgain, _ := l.Get("blazeface-front")
	releaseAgain()
	if again != m1 {
		t.Fatal("a second Get loaded the model again")
	}
	installCopy(t, repo, "2.0.0")
	if err := repo.Publish("blazeface-front", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	m2, release2, err := l.Get("blazeface-front")
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if m2.Manifest.Version != "2.0.0" {
		t.Fatalf("after publish: %s", m2.Manifest.Version)
	}
	pinned, releasePinned, err := l.Get("blazeface-front@1.0.0")
	if err != nil || pinned.Manifest.Version != "1.0.0" {
		t.Fatalf("pinned: %v %v", pinned, err)
	}
	releasePinned()
	// the holder of the replaced version can still run it until it releases it
	img := gocv.NewMatWithSize(128, 128, gocv.MatTypeCV8UC3)
	defer img.Close()
	if _, err := m1.Detect([]gocv.Mat{img}); err != nil {
		t.Fatalf("replaced model closed under its holder: %v", err)
	}
	release1()
	release1() // a second release is harmless
}
