package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/services"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/jobs"
)

// withWarehouse attaches a started warehouse over objs with its own repository
// (holding the platform's blazeface-back); validation jobs go through q (nil:
// in-process).
func (f *fixture) withWarehouse(objs objects.Store, q ...jobs.Queue) *warehouse.Warehouse {
	f.t.Helper()
	dir := f.t.TempDir()
	repo := models.Repository{Root: filepath.Join(dir, "repo")}
	installStarter(f.t, repo, "blazeface-back")
	return f.withWarehouseAt(dir, repo, objs, q...)
}

// withWarehouseAt attaches a started warehouse over objs installing into repo, with
// its scratch space in dir.
func (f *fixture) withWarehouseAt(dir string, repo models.Repository, objs objects.Store, q ...jobs.Queue) *warehouse.Warehouse {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &warehouse.Warehouse{DB: f.db, Objects: objs, Repo: repo, Scratch: dir, BenchTime: 150 * time.Millisecond}
	f.t.Cleanup(startWarehouse(f.t, ctx, w, q...))
	f.t.Cleanup(cancel)
	f.srv.Warehouse, f.srv.Repo = w, w.Repo
	return w
}

// startWarehouse runs w's validation jobs on q (default: a new in-process queue)
// and re-queues interrupted ones; the returned function closes the queue.
func startWarehouse(t *testing.T, ctx context.Context, w *warehouse.Warehouse, q ...jobs.Queue) func() {
	t.Helper()
	queue := jobs.Queue(jobs.NewInProcess(1))
	if len(q) > 0 {
		queue = q[0]
	}
	workers.ServeWarehouse(w, queue)
	if err := queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return func() { queue.Close() }
}

// installStarter copies a starter model version into repo, as the platform's own.
func installStarter(t *testing.T, repo models.Repository, name string) {
	t.Helper()
	m, dir, err := testdata.Repository().Resolve(name, "")
	if err != nil {
		t.Fatalf("%v (run make setup)", err)
	}
	files := map[string][]byte{}
	for _, n := range append([]string{m.File}, fileNames(m)...) {
		if files[n], err = os.ReadFile(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := repo.Install(m, files); err != nil {
		t.Fatal(err)
	}
}

func fileNames(m models.Manifest) []string {
	var out []string
	for _, f := range m.Files {
		out = append(out, f.Name)
	}
	return out
}

// publish has the vendor request publishing a version and the platform admin approve it.
func (f *fixture) publish(path string) map[string]any {
	f.t.Helper()
	if v := f.must("POST", path+"/publish", "vendor", "", 202); v["state"] != "validated" || v["publish_requested_by"] != "vendor" {
		f.t.Fatalf("publish request: %v", v)
	}
	return f.must("POST", path+"/publish", "admin", "", 200)
}

// starter returns a starter model's manifest and ONNX bytes.
func starter(t *testing.T, name string) (models.Manifest, []byte) {
	m, dir, err := testdata.Repository().Resolve(name, "")
	if err != nil {
		t.Fatalf("%v (run make setup)", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, m.File))
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}

// upload posts a package as user; manifest is JSON, files maps part filename to bytes.
func (f *fixture) upload(user string, manifest any, model []byte, files map[string][]byte) (int, map[string]any) {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mj, _ := json.Marshal(manifest)
	if s, ok := manifest.(string); ok {
		mj = []byte(s)
	}
	mw.WriteField("manifest", string(mj))
	if model != nil {
		w, _ := mw.CreateFormFile("model", "model.onnx")
		w.Write(model)
	}
	for name, b := range files {
		w, _ := mw.CreateFormFile("files", name)
		w.Write(b)
	}
	return f.postForm(user, "/api/v1/warehouse/models", mw, &body)
}

// postForm closes mw and POSTs body (its multipart form) to path as user.
func (f *fixture) postForm(user, path string, mw *multipart.Writer, body *bytes.Buffer) (int, map[string]any) {
	f.t.Helper()
	mw.Close()
	req, _ := http.NewRequest("POST", f.url+path, body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+f.tok[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitValidated polls a version (as the platform admin, who sees every vendor's)
// until its validation ends.
func (f *fixture) waitValidated(path string) map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		v := f.must("GET", path, "admin", "", 200)
		if s := v["state"]; s != "uploaded" && s != "validating" {
			return v
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.t.Fatalf("%s never finished validating", path)
	return nil
}

// The warehouse lifecycle through the API on a real model (BlazeFace), on both object
// stores: upload, background validation against a vendor sample with a known face
// box, stored benchmark, content-addressed dedupe, publish, rollback, deprecate,
// delete refused while in use.
func TestWarehouseLifecycleLocal(t *testing.T) {
	f := newFixture(t)
	warehouseLifecycle(t, f, f.objs)
}

// The distributed flavour: blobs in MinIO, validation jobs through asynq on Redis.
func TestWarehouseLifecycleMinIOAsynq(t *testing.T) {
	f := newFixture(t)
	e := services.MinIO(t)
	objs, err := objects.NewS3(context.Background(), objects.S3Config{Endpoint: e.Endpoint, AccessKey: e.AccessKey, SecretKey: e.SecretKey,
		Bucket: "warehouse-test", PublicBase: f.url + "/api/v1/objects/"})
	if err != nil {
		t.Fatal(err)
	}
	q := jobs.NewAsynq(services.Redis(t), 1, "warehouse-test")
	q.PollInterval = 100 * time.Millisecond
	warehouseLifecycle(t, f, objs, q)
}

func warehouseLifecycle(t *testing.T, f *fixture, objs objects.Store, q ...jobs.Queue) {
	w := f.withWarehouse(objs, q...)
	m, onnx := starter(t, "blazeface-back")
	sample, err := os.ReadFile(testdata.Media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	m.Vendor, m.Version, m.SHA256 = "acme", "1.0.0", ""
	m.Files = []models.File{{Name: "hopper.jpg"}}
	m.Samples = []models.Sample{{File: "hopper.jpg", Expect: []models.Expected{{Label: "face", MinScore: 0.5, Box: []float32{163, 125, 366, 328}, MinIoU: 0.5}}}}
	files := map[string][]byte{"hopper.jpg": sample}

	code, v := f.upload("vendor", m, onnx, files)
	if code != 202 || v["state"] != "uploaded" {
		t.Fatalf("upload: %d %v", code, v)
	}
	path := "/api/v1/warehouse/models/acme/blazeface-back/1.0.0"
	v = f.waitValidated(path)
	if v["state"] != "validated" {
		t.Fatalf("validation: %v", v["report"])
	}
	bench := v["benchmark"].([]any)
	b0 := bench[0].(map[string]any)
	if b0["batch_size"] != 1.0 || b0["fps"].(float64) <= 0 || b0["provider"] != "cpu" {
		t.Fatalf("benchmark %v", bench)
	}
	t.Logf("blazeface-back on this CPU: %.1f ms/frame, %.0f fps", b0["latency_ms"], b0["fps"])
	if rep, _ := json.Marshal(v["report"]); !strings.Contains(string(rep), "found face") {
		t.Errorf("report does not show the sample check: %s", rep)
	}

	if rep := f.must("GET", path+"/report", "market_analyst", "", 200); rep["progress"] != 100.0 || rep["benchmark"] == nil {
		t.Errorf("report: %v", rep)
	}
	// the same bytes again: idempotent; a new version with the same bytes: stored once
	if code, _ := f.upload("vendor", m, onnx, files); code != 200 {
		t.Errorf("identical re-upload: %d", code)
	}
	blobs, _ := objs.List(context.Background(), "warehouse/")
	m2 := m
	m2.Version = "1.1.0"
	if code, out := f.upload("vendor", m2, onnx, files); code != 202 {
		t.Fatalf("upload 1.1.0: %d %v", code, out)
	}
	if after, _ := objs.List(context.Background(), "warehouse/"); len(after) != len(blobs) || len(blobs) != 2 {
		t.Errorf("blobs %d then %d, want 2 (model + sample) both times", len(blobs), len(after))
	}
	f.waitValidated("/api/v1/warehouse/models/acme/blazeface-back/1.1.0")

	// publish 1.0.0, then 1.1.0 (each requested by the vendor, approved by the
	// platform admin); the repository pointer follows; roll back to 1.0.0
	f.publish(path)
	f.publish("/api/v1/warehouse/models/acme/blazeface-back/1.1.0")
	if p, _, _ := w.Repo.Published("acme/blazeface-back"); p != "1.1.0" {
		t.Fatalf("repository publishes %q", p)
	}
	if got := f.must("GET", path, "vendor", "", 200)["state"]; got != "validated" {
		t.Errorf("previous version after a new publish: %v (want validated, still pinnable)", got)
	}
	if out := f.must("POST", "/api/v1/warehouse/models/acme/blazeface-back/rollback", "vendor", "", 200); out["version"] != "1.0.0" || out["state"] != "published" {
		t.Fatalf("rollback: %v", out)
	}
	if p, _, _ := w.Repo.Published("acme/blazeface-back"); p != "1.0.0" {
		t.Fatalf("repository after rollback publishes %q", p)
	}
	if list := f.must("GET", "/api/v1/warehouse/models?task=face_detection&label=face&vendor=acme", "analyst_is_not_here", "", 401); list != nil {
		_ = list
	}
	if list := f.must("GET", "/api/v1/warehouse/models?task=face_detection&vendor=acme&state=published", "market_analyst", "", 200); list["total"] != 1.0 {
		t.Errorf("search: %v", list)
	}

	// deleting the published version while a task uses the model is refused
	f.must("POST", "/api/v1/streams", "police_op", cameras[1].body(), 201)
	f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","params":{"models":{"blazeface-back":"acme/blazeface-back"}}}`, 201)
	if code, out := f.do("DELETE", path, "vendor", ""); code != 409 || !strings.Contains(out["error"].(string), "in use by tasks") || !strings.Contains(out["error"].(string), "published") {
		t.Errorf("delete in use: %d %v", code, out)
	}
	// a task may pin a validated version that is not published: it is installed for the
	// workers, and that version cannot be deleted while pinned
	pinned := f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","params":{"models":{"blazeface-back":"acme/blazeface-back@1.1.0"}}}`, 201)
	if _, _, err := w.Repo.Resolve("acme/blazeface-back", "1.1.0"); err != nil {
		t.Fatalf("pinned version not installed: %v", err)
	}
	if code, out := f.do("DELETE", "/api/v1/warehouse/models/acme/blazeface-back/1.1.0", "vendor", ""); code != 409 || !strings.Contains(out["error"].(string), pinned["id"].(string)) {
		t.Errorf("delete of a pinned version: %d %v", code, out)
	}
	for _, c := range []struct{ params, field, msg string }{
		{`{"models":{"blazeface-back":"7.7.7"}}`, "params.models.blazeface-back", "no installed or validated version 7.7.7"},
		{`{"models":{"nanodet":"1.0.0"}}`, "params.models.nanodet", "does not use model nanodet"},
		{`{"models":{"blazeface-back":"../1"}}`, "params.models.blazeface-back", "a model version"},
	} {
		code, out := f.do("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","params":`+c.params+`}`)
		if code != 400 || out["field"] != c.field || !strings.Contains(out["error"].(string), c.msg) {
			t.Errorf("pin %s: %d %v", c.params, code, out)
		}
	}
	f.must("DELETE", "/api/v1/tasks/"+pinned["id"].(string), "police_op", "", 204)
	f.must("POST", "/api/v1/warehouse/models/acme/blazeface-back/1.1.0/deprecate", "vendor", "", 200)
	f.must("POST", "/api/v1/warehouse/models/acme/blazeface-back/1.1.0/publish", "vendor", "", 409)
	f.must("DELETE", "/api/v1/warehouse/models/acme/blazeface-back/1.1.0", "vendor", "", 204)
	if after, _ := objs.List(context.Background(), "warehouse/"); len(after) != 2 {
		t.Errorf("blobs still used by 1.0.0 were deleted: %v", after)
	}
	// another vendor's namespace is off limits
	f.must("POST", path+"/publish", "market_op", "", 403)
}

// Bad packages get a 4xx naming what is wrong and store nothing.
func TestWarehouseRejections(t *testing.T) {
	f := newFixture(t)
	f.withWarehouse(f.objs)
	m, onnx := starter(t, "blazeface-front")
	m.Vendor, m.Version, m.SHA256 = "acme", "2.0.0", ""
	_, other := starter(t, "ppocr-cls")
	f.must("POST", "/api/v1/warehouse/models", "vendor", "", 400) // not multipart
	if code, _ := f.upload("vendor", m, onnx, nil); code != 202 {
		t.Fatalf("good upload refused: %d", code)
	}
	mutate := func(fn func(*models.Manifest)) models.Manifest { c := m; c.Version = "2.0.1"; fn(&c); return c }
	cases := []struct {
		name     string
		manifest any
		model    []byte
		files    map[string][]byte
		status   int
		field    string
		msg      string
	}{
		{"not ONNX", mutate(func(*models.Manifest) {}), []byte("this is a JPEG, honest"), nil, 422, "model", "not an ONNX model"},
		{"truncated", mutate(func(*models.Manifest) {}), onnx[:len(onnx)/2], nil, 422, "model", "truncated"},
		{"no model part", mutate(func(*models.Manifest) {}), nil, nil, 400, "model", "exactly one ONNX file part"},
		{"manifest not JSON", `{"name":`, onnx, nil, 400, "manifest.body", "manifest:"},
		{"unknown manifest field", `{"name":"x","colour":"red"}`, onnx, nil, 400, "manifest.colour", "unknown field colour"},
		{"bad version", mutate(func(c *models.Manifest) { c.Version = "v2" }), onnx, nil, 422, "manifest.version", "not a semantic version"},
		{"bad task", mutate(func(c *models.Manifest) { c.Task = "mind_reading" }), onnx, nil, 422, "manifest.task", "unknown task"},
		{"no licence", mutate(func(c *models.Manifest) { c.License = "" }), onnx, nil, 422, "manifest.license", "is required"},
		{"wrong sha256", mutate(func(c *models.Manifest) { c.SHA256 = strings.Repeat("ab", 32) }), onnx, nil, 422, "manifest.sha256", "does not match the uploaded model"},
		{"shape mismatch", mutate(func(c *models.Manifest) { c.Input.Width, c.Input.Height = 256, 256 }), onnx, nil, 422, "manifest.input", "declares 256x256"},
		{"layout mismatch", mutate(func(c *models.Manifest) { c.Input.Layout = "nchw" }), onnx, nil, 422, "manifest.input.layout", "channels"},
		{"decoder mismatch", mutate(func(c *models.Manifest) { c.Decoder.Type = "dbnet"; c.Decoder.Params = json.RawMessage(`{}`) }), onnx, nil, 422, "manifest.decoder", "cannot read the model's real output"},
		{"unlisted file", mutate(func(*models.Manifest) {}), onnx, map[string][]byte{"extra.txt": []byte("x")}, 422, "files", "not listed in manifest.files"},
		{"listed file missing", mutate(func(c *models.Manifest) { c.Files = []models.File{{Name: "dict.txt"}} }), onnx, nil, 422, "manifest.files[0]", "was not uploaded"},
		{"path traversal in a file name", mutate(func(c *models.Manifest) { c.Files = []models.File{{Name: "../../etc/passwd"}} }), onnx, map[string][]byte{"../../etc/passwd": []byte("x")}, 422, "files", "not listed"},
		{"other vendor's namespace", mutate(func(c *models.Manifest) { c.Vendor = "megacorp" }), onnx, nil, 403, "vendor", "you act for vendor acme only"},
		{"same version, other bytes", func() models.Manifest { c := m; return c }(), other, nil, 409, "manifest.version", "bump the version"},
	}
	for _, c := range cases {
		code, out := f.upload("vendor", c.manifest, c.model, c.files)
		if code != c.status || out["field"] != c.field || !strings.Contains(fmt.Sprint(out["error"]), c.msg) {
			t.Errorf("%s: %d %v, want %d naming %s and saying %q", c.name, code, out, c.status, c.field, c.msg)
		}
	}
	// oversize: a 1 MiB limit refuses a 1.1 MiB model before reading it all
	f.srv.MaxUpload = 1 << 20
	if code, out := f.upload("vendor", mutate(func(*models.Manifest) {}), bytes.Repeat([]byte{1}, 1<<20+100_000), nil); code != 413 || !strings.Contains(fmt.Sprint(out["error"]), "over 1 MiB") {
		t.Errorf("oversize upload: %d %v", code, out)
	}
	vs := f.must("GET", "/api/v1/warehouse/models", "vendor", "", 200)
	if vs["total"] != 1.0 {
		t.Errorf("rejected uploads stored versions: %v", vs)
	}
	if blobs, _ := f.objs.List(context.Background(), "warehouse/"); len(blobs) != 1 {
		t.Errorf("rejected uploads stored blobs: %v", blobs)
	}
}

// A version uploaded just before a crash (its validation job lost with the process)
// is validated after the restart: Start re-queues what is still uploaded/validating.
func TestWarehouseResumesValidationAfterRestart(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	w := &warehouse.Warehouse{DB: f.db, Objects: f.objs, Repo: models.Repository{Root: filepath.Join(dir, "repo")}, Scratch: dir, BenchTime: 100 * time.Millisecond}
	f.srv.Warehouse, f.srv.Repo = w, w.Repo // not started: as if the process died after the upload
	m, onnx := starter(t, "blazeface-front")
	m.Vendor, m.Version, m.SHA256 = "acme", "3.0.0", ""
	if code, out := f.upload("vendor", m, onnx, nil); code != 202 {
		t.Fatalf("upload: %d %v", code, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer startWarehouse(t, ctx, w)()
	if v := f.waitValidated("/api/v1/warehouse/models/acme/blazeface-front/3.0.0"); v["state"] != "validated" {
		t.Fatalf("after restart: %v", v)
	}
}
