package workers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/testdata/testkit"
	"github.com/cityeye/cityeye/workers/plan"
)

// A package whose bytes in the object store do not match the manifest's sha256
// (tampered with, or truncated) is not installed and the worker says why; the
// right bytes are installed, published, and OnInstalled runs once.
func TestDeliveryVerifiesContentHash(t *testing.T) {
	ctx := context.Background()
	objs, _ := objects.NewLocal(t.TempDir(), "")
	onnx := []byte("not really ONNX, but the repository checks only digests on install")
	sum := sha256.Sum256(onnx)
	sha := hex.EncodeToString(sum[:])
	m := models.Manifest{Vendor: "acme", Name: "nanodet", Version: "1.1.0", Task: models.TaskDetection, File: "model.onnx", SHA256: sha, License: "MIT",
		MaxBatch: 1, Decoder: models.Decoder{Type: "yolo", Params: json.RawMessage(`{}`)}}
	m.Input.Width, m.Input.Height, m.Input.Resize, m.Input.Color, m.Input.Layout = 32, 32, "stretch", "rgb", "nchw"
	mj, _ := json.Marshal(m)
	pkg := plan.Package{Model: "acme/nanodet", Version: "1.1.0", Manifest: mj, Published: true}
	var installs atomic.Int32
	d := &Delivery{Repo: models.Repository{Root: filepath.Join(t.TempDir(), "repo")}, Objects: objs, OnInstalled: func() { installs.Add(1) }}

	objs.Put(ctx, warehouse.BlobKey(sha), bytes.ToUpper(onnx), "")
	d.Apply(ctx, []plan.Package{pkg})
	testkit.WaitFor(t, 5*time.Second, "the delivery error", func() bool { return d.Errors()["acme/nanodet@1.1.0"] != "" })
	if e := d.Errors()["acme/nanodet@1.1.0"]; !strings.Contains(e, "the manifest says "+sha) || len(d.Installed()) != 0 || installs.Load() != 0 {
		t.Fatalf("tampered bytes: %q, installed %v", e, d.Installed())
	}
	objs.Put(ctx, warehouse.BlobKey(sha), onnx, "")
	time.Sleep(50 * time.Millisecond) // the failed round has ended
	d.Apply(ctx, []plan.Package{pkg})
	testkit.WaitFor(t, 5*time.Second, "the install", func() bool { return installs.Load() == 1 })
	if got := d.Installed(); got[0] != "acme/nanodet@1.1.0" || d.Errors() != nil {
		t.Fatalf("installed %v, errors %v", got, d.Errors())
	}
	if v, ok, _ := d.Repo.Published("acme/nanodet"); !ok || v != "1.1.0" {
		t.Fatalf("published pointer %q %v", v, ok)
	}
	d.Apply(ctx, []plan.Package{pkg}) // nothing left to do
	time.Sleep(50 * time.Millisecond)
	if installs.Load() != 1 {
		t.Fatalf("OnInstalled ran %d times", installs.Load())
	}
}
