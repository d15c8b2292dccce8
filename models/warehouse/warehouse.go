// Package warehouse is CityEye's algorithm warehouse (算法仓): vendors upload model
// packages (ONNX + manifest); CityEye checks them at once (is ONNX, loads in ONNX
// Runtime, input matches the declared preprocessing, the decoder reads the real
// output), stores the bytes content-addressed (sha256) in the object store and the
// metadata in the database, then validates in the background (vendor samples,
// benchmark per batch size) and lets an operator publish, roll back, deprecate or
// delete versions. Publishing installs the version into the workers' model
// repository and moves its PUBLISHED pointer; workers switch at a batch boundary.
package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
)

// Warehouse manages model versions: upload checks, background validation (run by
// the job queue through RunValidation), publish, rollback and delete.
type Warehouse struct {
	DB        *store.DB
	Objects   objects.Store
	Repo      models.Repository // the workers' model repository publishing installs into
	Engine    engine.Options
	Scratch   string        // folder for packages being checked
	BenchTime time.Duration // per batch size (default 2 s)
	OnPublish func()        // tells workers to re-resolve their models (hot swap)
	// GPUName names the GPU of a CUDA ordinal (the worker inventory's model), so
	// that a benchmark run on CUDA records the device class it measured; nil
	// records "cuda:N".
	GPUName func(ordinal int) string
	// Limits bound the sandboxed check and validation (see sandbox.go); SandboxExe is
	// the binary re-executed for them (default: this process's own executable).
	Limits     Limits
	SandboxExe string

	// The warehouse's background work runs on the workers' job queue, and which tasks
	// use a model is the algorithms' knowledge: both come from above as functions
	// (workers.ServeWarehouse sets them), so models imports neither.
	//
	// Enqueue queues a job of kind KindValidate (payload for RunValidation) or
	// KindEvaluate (for RunEvaluation); a job already queued for the same key counts
	// as success. Nil: the version waits for the next Start.
	Enqueue func(ctx context.Context, kind, key string, payload []byte) error
	// TasksUsing lists the tasks that use vendor/model@version (pinned, or following
	// the published version). Nil: none, so nothing protects a version from deletion.
	TasksUsing func(ctx context.Context, vendor, model, version string, published bool) ([]string, error)
}

type key struct{ Vendor, Name, Version string }

func (k key) String() string { return k.Vendor + "/" + k.Name + "@" + k.Version }

// BlobKey is where a file's bytes live in the object store: by content, so the same
// bytes uploaded twice are stored once.
func BlobKey(sha string) string { return "warehouse/sha256/" + sha[:2] + "/" + sha }

// KindValidate is the job kind of a version's background validation.
const KindValidate = "model.validate"

// Start re-queues what a restart interrupted (versions still uploaded or
// validating). Several servers may all do this: the queue refuses a duplicate of a
// job still queued.
func (w *Warehouse) Start(ctx context.Context) error {
	pending, err := w.DB.ListModelVersions(ctx, store.ModelFilter{})
	if err != nil {
		return err
	}
	for _, v := range pending {
		if v.State == store.ModelUploaded || v.State == store.ModelValidating {
			w.enqueue(ctx, key{v.Vendor, v.Name, v.Version})
		}
	}
	// scoring jobs lost with a process leave their sets "running": score them again
	running, err := w.DB.ScoresInState(ctx, store.ScoreRunning)
	if err != nil {
		return err
	}
	for _, s := range running {
		w.enqueueKind(ctx, KindEvaluate, key{s.Vendor, s.Name, s.Version})
	}
	return nil
}

// RunValidation is the KindValidate job's handler: it validates and benchmarks the
// version named in payload.
func (w *Warehouse) RunValidation(ctx context.Context, payload []byte) error {
	var k key
	if err := json.Unmarshal(payload, &k); err != nil {
		return fmt.Errorf("bad validation job %q: %w", payload, err)
	}
	return w.validate(ctx, k)
}

// ErrExists is returned when the version exists with different bytes.
var ErrExists = errors.New("version exists with different content")

// Upload checks a package and, if it passes, stores it and queues its validation.
// Re-uploading identical content is idempotent (created false); the same version
// with other bytes is ErrExists. Problems are *Problem; nothing is stored then.
func (w *Warehouse) Upload(ctx context.Context, by string, p *Package) (store.ModelVersion, bool, error) {
	dir, err := os.MkdirTemp(w.Scratch, "upload-")
	if err != nil {
		return store.ModelVersion{}, false, err
	}
	defer os.RemoveAll(dir)
	// an existing version answers first: identical content is idempotent, other
	// content a conflict, whatever else might be wrong with it
	if old, err := w.DB.GetModelVersion(ctx, p.Manifest.Vendor, p.Manifest.Name, p.Manifest.Version); err == nil {
		if sum, _, err := fileSHA(p.Model); err == nil && old.SHA256 == sum && sameFiles(old.Manifest, p.Files) {
			return old, false, nil
		}
		return old, false, fmt.Errorf("%w: %s/%s@%s was uploaded with sha256 %s; bump the version for new bytes", ErrExists, old.Vendor, old.Name, old.Version, old.SHA256)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ModelVersion{}, false, err
	}
	if err := w.check(ctx, p, filepath.Join(dir, "version")); err != nil {
		return store.ModelVersion{}, false, err
	}
	man := p.Manifest
	// the store's crash-safe pair write (see package store): new blobs are logged as
	// pending, written, then the row is inserted and the log cleared; whatever a crash
	// leaves pending, the start-up sweep deletes. Never a row without its bytes.
	blobs := map[string]string{man.SHA256: p.Model}
	for _, f := range man.Files {
		blobs[f.SHA256] = p.Files[f.Name]
	}
	var fresh []string
	for sha := range blobs {
		if _, err := w.Objects.Get(ctx, BlobKey(sha)); errors.Is(err, objects.ErrNotFound) {
			fresh = append(fresh, BlobKey(sha))
		} else if err != nil {
			return store.ModelVersion{}, false, err
		}
	}
	if err := w.DB.Intend(ctx, fresh); err != nil {
		return store.ModelVersion{}, false, err
	}
	var size int64
	for sha, path := range blobs {
		fi, err := os.Stat(path)
		if err != nil {
			return store.ModelVersion{}, false, err
		}
		size += fi.Size()
		if !slices.Contains(fresh, BlobKey(sha)) {
			continue
		}
		b, err := os.ReadFile(path) // the object store takes whole objects; uploads at once are capped
		if err == nil {
			err = w.Objects.Put(ctx, BlobKey(sha), b, "application/octet-stream")
		}
		if err != nil {
			return store.ModelVersion{}, false, err
		}
	}
	mj, _ := json.Marshal(man)
	v := store.ModelVersion{Vendor: man.Vendor, Name: man.Name, Version: man.Version, Task: man.Task, Labels: orEmpty(man.Labels),
		SHA256: man.SHA256, Size: size, Manifest: mj, UploadedBy: by}
	if err := w.DB.CreateModelVersion(ctx, &v); err != nil {
		for _, k := range fresh {
			w.Objects.Delete(ctx, k)
		}
		w.DB.Forget(ctx, fresh)
		return v, false, err
	}
	if err := w.DB.Forget(ctx, fresh); err != nil {
		return v, false, err
	}
	w.enqueue(ctx, key{v.Vendor, v.Name, v.Version})
	return v, true, nil
}

// sameFiles reports whether uploaded extra files are exactly the stored version's.
func sameFiles(stored json.RawMessage, files map[string]string) bool {
	var old models.Manifest
	if json.Unmarshal(stored, &old) != nil || len(old.Files) != len(files) {
		return false
	}
	for _, f := range old.Files {
		path, ok := files[f.Name]
		if !ok {
			return false
		}
		if sum, _, err := fileSHA(path); err != nil || sum != f.SHA256 {
			return false
		}
	}
	return true
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (w *Warehouse) enqueue(ctx context.Context, k key) { w.enqueueKind(ctx, KindValidate, k) }

func (w *Warehouse) enqueueKind(ctx context.Context, kind string, k key) {
	if w.Enqueue == nil {
		return // no queue yet: Start re-queues validations from the database
	}
	p, _ := json.Marshal(k)
	if err := w.Enqueue(ctx, kind, k.String(), p); err != nil {
		slog.Warn("job not queued", "kind", kind, "model", k, "err", err)
	}
}

// materialize lays a stored version out in dir from the object store, verifying digests.
func (w *Warehouse) materialize(ctx context.Context, v store.ModelVersion, dir string) (*Package, error) {
	var m models.Manifest
	if err := json.Unmarshal(v.Manifest, &m); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &Package{Manifest: m, Files: map[string]string{}}
	fetch := func(name, sha string) (string, error) {
		b, err := w.Objects.Get(ctx, BlobKey(sha))
		if err != nil {
			return "", fmt.Errorf("%s of %s/%s@%s: %w", name, v.Vendor, v.Name, v.Version, err)
		}
		path := filepath.Join(dir, name)
		return path, os.WriteFile(path, b, 0o644)
	}
	var err error
	if p.Model, err = fetch(m.File, m.SHA256); err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if p.Files[f.Name], err = fetch(f.Name, f.SHA256); err != nil {
			return nil, err
		}
	}
	if err := p.layout(dir); err != nil {
		return nil, err
	}
	return p, models.Verify(dir, m)
}

// validate is the background job: samples, then the benchmark, with progress, in
// the sandbox. It is idempotent (jobs run at least once): a version already decided
// is left alone, and an error (database or object store down) makes the queue
// retry it. A model stopped by a sandbox limit is rejected with the reason.
func (w *Warehouse) validate(ctx context.Context, k key) error {
	v, err := w.DB.GetModelVersion(ctx, k.Vendor, k.Name, k.Version)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if v.State != store.ModelUploaded && v.State != store.ModelValidating {
		return nil
	}
	if err := w.DB.ModelProgress(ctx, k.Vendor, k.Name, k.Version, store.ModelValidating, "loading", 5); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(w.Scratch, "validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pkg, err := w.materialize(ctx, v, dir)
	if err != nil {
		return err // the object store is unreachable: retry later
	}
	bt := w.BenchTime
	if bt <= 0 {
		bt = 2 * time.Second
	}
	lim := w.Limits.withDefaults()
	req := sandboxRequest{Op: "validate", Dir: dir, Engine: w.Engine, BenchTime: bt, Memory: lim.Memory, CPU: lim.ValidateCPU}
	if w.GPUName != nil { // the child cannot call back: it gets the name of the card it may run on
		req.GPUName = w.GPUName(w.Engine.DeviceID)
	}
	res, err := w.sandbox(ctx, req,
		lim.ValidateWall, func(stage string, percent int) {
			w.DB.ModelProgress(ctx, k.Vendor, k.Name, k.Version, store.ModelValidating, stage, percent*80/100)
		})
	var le *LimitError
	switch {
	case errors.As(err, &le):
		res.Report, res.Bench = &Report{Passed: true}, nil
		res.Report.add("sandbox", false, "validation was stopped: %s", le.Msg)
	case err != nil:
		return err
	case res.Report == nil:
		return fmt.Errorf("validation of %s gave no report", k)
	}
	state := store.ModelValidated
	if !res.Report.Passed {
		state = store.ModelRejected
	} else if err := w.scoreWithBaseline(ctx, k, pkg.Manifest, dir); err != nil {
		return err
	}
	rj, _ := json.Marshal(res.Report)
	var bj []byte
	if res.Bench != nil {
		bj, _ = json.Marshal(res.Bench)
	}
	return w.DB.FinishValidation(ctx, k.Vendor, k.Name, k.Version, state, rj, bj)
}

// Blob returns the stored bytes of a version's model file, for download.
func (w *Warehouse) Blob(ctx context.Context, v store.ModelVersion) ([]byte, error) {
	return w.Objects.Get(ctx, BlobKey(v.SHA256))
}

// ScratchDir returns a scratch folder under root, created if needed.
func ScratchDir(root string) (string, error) {
	d := filepath.Join(root, "warehouse-scratch")
	return d, os.MkdirAll(d, 0o755)
}
