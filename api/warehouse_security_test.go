package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/testdata"
)

func sha(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// starterPackage returns a starter model's manifest (as a vendor's upload) with its
// ONNX bytes and extra files.
func starterPackage(t *testing.T, name, vendor, version string) (models.Manifest, []byte, map[string][]byte) {
	t.Helper()
	m, onnx := starter(t, name)
	_, dir, _ := testdata.Repository().Resolve(name, "")
	files := map[string][]byte{}
	for i, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		m.Files[i].SHA256 = ""
	}
	m.Vendor, m.Version, m.SHA256 = vendor, version, ""
	return m, onnx, files
}

// Issue 14 item 1: a vendor's manifest names a file outside its package (the admin
// token beside the warehouse's scratch folder, an absolute path, a smuggled
// manifest.json naming one, the folder itself). Every upload is refused with a 4xx
// naming the field, and no answer carries the foreign file's content, its line count
// or a server path.
func TestWarehouseManifestCannotReadServerFiles(t *testing.T) {
	f := newFixture(t)
	w := f.withWarehouse(f.objs)
	const lines = 4321
	secret := strings.Repeat("s3cr3t-admin-token\n", lines)
	if err := os.WriteFile(filepath.Join(w.Scratch, "admin.token"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	m, onnx, files := starterPackage(t, "ppocr-rec", "acme", "1.0.0")
	withDict := func(version, dict string) models.Manifest {
		c := m
		c.Version = version
		c.Decoder.Params = json.RawMessage(strings.Replace(string(m.Decoder.Params), `"ppocr_keys_v1.txt"`, fmt.Sprintf("%q", dict), 1))
		return c
	}
	// a manifest.json part replacing the checked manifest in the scratch folder, its
	// digests right, naming the token (which it need not list)
	inner := withDict("1.0.4", "../admin.token")
	inner.SHA256, inner.Files = sha(onnx), []models.File{{Name: "ppocr_keys_v1.txt", SHA256: sha(files["ppocr_keys_v1.txt"])}}
	smuggled, _ := json.Marshal(inner)
	cases := []struct {
		name     string
		manifest models.Manifest
		files    map[string][]byte
		field    string
	}{
		{"dictionary beside the scratch folder", withDict("1.0.1", "../admin.token"), files, "manifest.decoder.params.dictionary"},
		{"dictionary deeper up", withDict("1.0.2", "../../../../../../../../proc/self/environ"), files, "manifest.decoder.params.dictionary"},
		{"absolute dictionary", withDict("1.0.3", "/etc/passwd"), files, "manifest.decoder.params.dictionary"},
		{"a smuggled manifest.json", func() models.Manifest {
			c := withDict("1.0.4", "ppocr_keys_v1.txt")
			c.Files = append(append([]models.File(nil), c.Files...), models.File{Name: "manifest.json"})
			return c
		}(), map[string][]byte{"ppocr_keys_v1.txt": files["ppocr_keys_v1.txt"], "manifest.json": smuggled}, "manifest.files[1].name"},
		{"model file is the folder above", func() models.Manifest { c := withDict("1.0.5", "ppocr_keys_v1.txt"); c.File = ".."; return c }(), files, "manifest.file"},
	}
	for _, c := range cases {
		code, out := f.upload("vendor", c.manifest, onnx, c.files)
		body, _ := json.Marshal(out)
		if code != 422 || out["field"] != c.field {
			t.Errorf("%s: %d %s, want 422 naming %s", c.name, code, body, c.field)
		}
		for _, leak := range []string{"s3cr3t", fmt.Sprint(lines), w.Scratch, "root:"} {
			if strings.Contains(string(body), leak) {
				t.Errorf("%s: the answer leaks %q: %s", c.name, leak, body)
			}
		}
	}
	// the honest package with its own dictionary is accepted
	if code, out := f.upload("vendor", withDict("1.1.0", "ppocr_keys_v1.txt"), onnx, files); code != 202 {
		t.Fatalf("honest upload: %d %v", code, out)
	}
}
