package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
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

// Issue 14 item 4: vendor "rival" publishes its own build of the platform's
// blazeface-back and tries to make every face capture task run it; a task pins a
// version only another vendor uploaded and nobody approved. Models are namespaced by
// vendor (the bare names are the platform's), publishing needs the platform admin's
// approval (request, approve or reject, each audited), and a task gets a vendor's
// build only by naming vendor/model, and only an approved one.
func TestWarehouseVendorCannotReplaceAnothersModel(t *testing.T) {
	f := newFixture(t)
	w := f.withWarehouse(f.objs)
	platform, _, err := w.Repo.Resolve("blazeface-back", "")
	if err != nil {
		t.Fatal(err)
	}
	f.must("POST", "/api/v1/departments", "admin", `{"id":"rival","name":"Rival AI (vendor)","areas":["441500"]}`, 201)
	f.must("POST", "/api/v1/users", "admin", `{"id":"rival_vendor","name":"r","department":"rival","role":"vendor"}`, 201)
	f.tok["rival_vendor"] = f.must("POST", "/api/v1/users/rival_vendor/tokens", "admin", `{"name":"test"}`, 201)["token"].(string)

	m, onnx, _ := starterPackage(t, "blazeface-back", "rival", "6.6.6")
	if code, out := f.upload("rival_vendor", m, onnx, nil); code != 202 {
		t.Fatalf("rival's upload: %d %v", code, out)
	}
	path := "/api/v1/warehouse/models/rival/blazeface-back/6.6.6"
	if v := f.waitValidated(path); v["state"] != "validated" {
		t.Fatalf("rival's version: %v", v)
	}
	// the platform's namespace is not the rival's to upload into
	pm := m
	pm.Vendor, pm.Version = "platform", "6.6.7"
	if code, out := f.upload("rival_vendor", pm, onnx, nil); code != 403 {
		t.Errorf("upload into the platform's namespace: %d %v", code, out)
	}
	// publishing is a request; nothing moves until the platform admin approves
	if v := f.must("POST", path+"/publish", "rival_vendor", "", 202); v["state"] != "validated" || v["publish_requested_by"] != "rival_vendor" {
		t.Fatalf("publish request: %v", v)
	}
	f.must("POST", path+"/reject", "rival_vendor", `{"reason":"mine"}`, 403)
	if got, _, _ := w.Repo.Resolve("blazeface-back", ""); got.Version != platform.Version {
		t.Fatalf("a publish request moved the platform's blazeface-back to %s", got.Version)
	}
	// approved, it is rival/blazeface-back: the bare name stays the platform's
	f.must("POST", path+"/publish", "admin", "", 200)
	if got, _, err := w.Repo.Resolve("blazeface-back", ""); err != nil || got.Version != platform.Version || got.Vendor != "" {
		t.Fatalf("after publishing rival's build, blazeface-back resolves to %s/%s@%s (%v)", got.Vendor, got.Name, got.Version, err)
	}
	if got, _, err := w.Repo.Resolve("rival/blazeface-back", ""); err != nil || got.Version != "6.6.6" {
		t.Fatalf("rival/blazeface-back: %v %v", got.Version, err)
	}
	// tasks: the default is the platform's; a vendor's build only when named
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)
	f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture"}`, 201)
	f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","params":{"models":{"blazeface-back":"rival/blazeface-back"}}}`, 201)
	// acme uploads 5.0.0, never approved: no task gets it, by the bare name or by its own
	am, _, _ := starterPackage(t, "blazeface-back", "acme", "5.0.0")
	if code, out := f.upload("vendor", am, onnx, nil); code != 202 {
		t.Fatalf("acme's upload: %d %v", code, out)
	}
	f.waitValidated("/api/v1/warehouse/models/acme/blazeface-back/5.0.0")
	for _, pin := range []string{"5.0.0", "acme/blazeface-back@5.0.0", "acme/blazeface-back", "rival/nanodet@6.6.6"} {
		code, out := f.do("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","params":{"models":{"blazeface-back":"`+pin+`"}}}`)
		if code != 400 || out["field"] != "params.models.blazeface-back" {
			t.Errorf("pin %s: %d %v", pin, code, out)
		}
	}
	if _, _, err := w.Repo.Resolve("blazeface-back", "5.0.0"); err == nil {
		t.Error("acme's unapproved version was installed as the platform's")
	}
	if _, _, err := w.Repo.Resolve("acme/blazeface-back", "5.0.0"); err == nil {
		t.Error("acme's unapproved version was installed")
	}
	// a rejection keeps the version out and says why; request, approval and
	// rejection are in the audit log
	f.must("POST", "/api/v1/warehouse/models/acme/blazeface-back/5.0.0/publish", "vendor", "", 202)
	if code, out := f.do("POST", "/api/v1/warehouse/models/acme/blazeface-back/5.0.0/reject", "admin", `{}`); code != 400 || out["field"] != "reason" {
		t.Errorf("reject without a reason: %d %v", code, out)
	}
	if v := f.must("POST", "/api/v1/warehouse/models/acme/blazeface-back/5.0.0/reject", "admin", `{"reason":"fails the city's bias review"}`, 200); v["state"] != "validated" || v["publish_requested_by"] != nil {
		t.Errorf("after rejection: %v", v)
	}
	for _, c := range []struct{ action, target, user string }{
		{"model.publish_request", "model rival/blazeface-back@6.6.6", "rival_vendor"},
		{"model.publish_approve", "model rival/blazeface-back@6.6.6", "admin"},
		{"model.publish_request", "model acme/blazeface-back@5.0.0", "vendor"},
		{"model.publish_reject", "model acme/blazeface-back@5.0.0", "admin"},
	} {
		es := f.must("GET", "/api/v1/audit?action="+c.action+"&target="+url.QueryEscape(c.target), "admin", "", 200)["entries"].([]any)
		if len(es) != 1 || es[0].(map[string]any)["user_id"] != c.user {
			t.Errorf("audit %s %s: %v", c.action, c.target, es)
		}
	}
}
