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

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
)

// KindEvaluate is the job kind that scores a version on the evaluation sets it
// has no current score for (a set uploaded after its validation, or a re-score).
const KindEvaluate = "model.evaluate"

// evalBlobKey is where an evaluation image's bytes live: by content.
func evalBlobKey(sha string) string { return "evalsets/sha256/" + sha[:2] + "/" + sha }

// UploadEvalSet checks and stores a new evaluation set (images in the object store,
// labels in the database) and queues the scoring of every version of its task that
// is published, so that candidates always have a baseline to be compared with.
// Problems are *Problem; a taken name is store.ErrConflict.
func (w *Warehouse) UploadEvalSet(ctx context.Context, by, name, task, description string, annotations []byte, images map[string]string) (store.EvalSet, error) {
	set, err := w.storeEvalSet(ctx, by, name, task, description, annotations, images)
	if err != nil {
		return set, err
	}
	for _, k := range w.publishedOf(ctx, task) {
		w.enqueueKind(ctx, KindEvaluate, k)
	}
	return set, nil
}

// storeEvalSet checks and stores a set without scoring anything on it.
func (w *Warehouse) storeEvalSet(ctx context.Context, by, name, task, description string, annotations []byte, images map[string]string) (store.EvalSet, error) {
	spec, err := ParseEvalSet(name, task, annotations, images)
	if err != nil {
		return store.EvalSet{}, err
	}
	if _, err := w.DB.GetEvalSet(ctx, name); err == nil {
		return store.EvalSet{}, fmt.Errorf("%w: evaluation set %s (sets are immutable: delete it or choose another name)", store.ErrConflict, name)
	}
	// the same crash-safe pair write as model blobs: pending, written, row, cleared
	var fresh []string
	for _, im := range spec.Images {
		if _, err := w.Objects.Get(ctx, evalBlobKey(im.SHA256)); errors.Is(err, objects.ErrNotFound) && !slices.Contains(fresh, evalBlobKey(im.SHA256)) {
			fresh = append(fresh, evalBlobKey(im.SHA256))
		} else if err != nil && !errors.Is(err, objects.ErrNotFound) {
			return store.EvalSet{}, err
		}
	}
	if err := w.DB.Intend(ctx, fresh); err != nil {
		return store.EvalSet{}, err
	}
	for _, im := range spec.Images {
		if !slices.Contains(fresh, evalBlobKey(im.SHA256)) {
			continue
		}
		b, err := os.ReadFile(images[im.File])
		if err == nil {
			err = w.Objects.Put(ctx, evalBlobKey(im.SHA256), b, "application/octet-stream")
		}
		if err != nil {
			return store.EvalSet{}, err
		}
	}
	sj, _ := json.Marshal(spec)
	set := store.EvalSet{Name: name, Task: task, Description: description, SHA256: spec.SHA256(), Images: len(spec.Images), Spec: sj, CreatedBy: by}
	if err := w.DB.CreateEvalSet(ctx, &set); err != nil {
		for _, k := range fresh {
			w.Objects.Delete(ctx, k)
		}
		w.DB.Forget(ctx, fresh)
		return set, err
	}
	return set, w.DB.Forget(ctx, fresh)
}

// DeleteEvalSet removes a set, its scores, and the images no other set uses.
func (w *Warehouse) DeleteEvalSet(ctx context.Context, name string) error {
	set, err := w.DB.GetEvalSet(ctx, name)
	if err != nil {
		return err
	}
	if err := w.DB.DeleteEvalSet(ctx, name); err != nil {
		return err
	}
	var spec EvalSpec
	json.Unmarshal(set.Spec, &spec)
	others, err := w.DB.ListEvalSets(ctx, "")
	if err != nil {
		return err
	}
	for _, im := range spec.Images {
		if !slices.ContainsFunc(others, func(o store.EvalSet) bool { return json.Valid(o.Spec) && containsSHA(o.Spec, im.SHA256) }) {
			w.Objects.Delete(ctx, evalBlobKey(im.SHA256))
		}
	}
	return nil
}

func containsSHA(spec json.RawMessage, sha string) bool {
	var s EvalSpec
	json.Unmarshal(spec, &s)
	return slices.ContainsFunc(s.Images, func(im EvalImage) bool { return im.SHA256 == sha })
}

// publishedOf lists the published version of every model of a task: the
// warehouse's and the platform's starter models in the repository.
func (w *Warehouse) publishedOf(ctx context.Context, task string) []key {
	var out []key
	vs, err := w.DB.ListModelVersions(ctx, store.ModelFilter{Task: task, State: store.ModelPublished})
	if err != nil {
		slog.Warn("evaluation: published versions", "err", err)
	}
	for _, v := range vs {
		out = append(out, key{v.Vendor, v.Name, v.Version})
	}
	ms, _ := w.Repo.List()
	for _, m := range ms {
		if m.Task != task || m.Vendor != "" && m.Vendor != models.PlatformVendor {
			continue
		}
		k := key{models.PlatformVendor, m.Name, m.Version}
		if cur, _, err := w.Repo.Resolve(m.Name, ""); err == nil && cur.Version == m.Version && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// RunEvaluation is the KindEvaluate job's handler: it scores the version named in
// payload on every set it lacks a current score for.
func (w *Warehouse) RunEvaluation(ctx context.Context, payload []byte) error {
	var k key
	if err := json.Unmarshal(payload, &k); err != nil {
		return fmt.Errorf("bad evaluation job %q: %w", payload, err)
	}
	return w.scoreKey(ctx, k, nil)
}

// Rescore queues the scoring of a version and of the version it is compared with.
func (w *Warehouse) Rescore(ctx context.Context, vendor, name, version string) error {
	if _, _, err := w.versionManifest(ctx, key{vendor, name, version}); err != nil {
		return err
	}
	w.enqueueKind(ctx, KindEvaluate, key{vendor, name, version})
	if b, ok := w.baseline(ctx, vendor, name, version); ok {
		w.enqueueKind(ctx, KindEvaluate, b)
	}
	return nil
}

// baseline is the version a candidate is compared with: the published version of
// the same vendor's model, else the platform's published model of that name.
func (w *Warehouse) baseline(ctx context.Context, vendor, name, version string) (key, bool) {
	if vs, err := w.DB.ListModelVersions(ctx, store.ModelFilter{Vendor: vendor, Name: name, State: store.ModelPublished}); err == nil && len(vs) > 0 {
		if vs[0].Version == version {
			return key{}, false // it is the published version
		}
		return key{vendor, name, vs[0].Version}, true
	}
	if vendor == models.PlatformVendor {
		if m, _, err := w.Repo.Resolve(name, ""); err == nil && m.Version != version {
			return key{models.PlatformVendor, name, m.Version}, true
		}
		return key{}, false
	}
	return w.baseline(ctx, models.PlatformVendor, name, "")
}

// versionManifest finds a version's manifest: the warehouse's row, else the
// repository (the platform's starter models have no row).
func (w *Warehouse) versionManifest(ctx context.Context, k key) (models.Manifest, *store.ModelVersion, error) {
	v, err := w.DB.GetModelVersion(ctx, k.Vendor, k.Name, k.Version)
	if err == nil {
		var m models.Manifest
		return m, &v, json.Unmarshal(v.Manifest, &m)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return models.Manifest{}, nil, err
	}
	m, _, rerr := w.Repo.Resolve(models.QualifiedName(k.Vendor, k.Name), k.Version)
	if rerr != nil {
		return m, nil, err
	}
	return m, nil, nil
}

// scoreWithBaseline is validation's last stage: the candidate in dir is scored on
// the evaluation sets of its task, then its baseline on any set it lacks, so that
// the report can put the two side by side.
func (w *Warehouse) scoreWithBaseline(ctx context.Context, k key, m models.Manifest, dir string) error {
	err := w.score(ctx, k, m, dir, func(percent int) {
		w.DB.ModelProgress(ctx, k.Vendor, k.Name, k.Version, store.ModelValidating, "evaluation", 80+percent*19/100)
	})
	if err != nil {
		return err
	}
	if b, ok := w.baseline(ctx, k.Vendor, k.Name, k.Version); ok {
		return w.scoreKey(ctx, b, nil)
	}
	return nil
}

// scoreKey lays the version out (from the object store, or the repository) and
// scores it.
func (w *Warehouse) scoreKey(ctx context.Context, k key, progress func(int)) error {
	m, row, err := w.versionManifest(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(w.Scratch, "score-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	vdir := filepath.Join(dir, "version")
	if row != nil {
		if _, err := w.materialize(ctx, *row, vdir); err != nil {
			return err
		}
	} else if _, vdir, err = w.Repo.Resolve(models.QualifiedName(k.Vendor, k.Name), k.Version); err != nil {
		return err
	}
	return w.score(ctx, k, m, vdir, progress)
}

// score runs the version in dir on every set of its task that applies and that it
// has no score for on the set's current content, in the sandbox, keeping each
// set's state and progress in the database as it goes.
func (w *Warehouse) score(ctx context.Context, k key, m models.Manifest, dir string, progress func(int)) error {
	sets, err := w.DB.ListEvalSets(ctx, m.Task)
	if err != nil {
		return err
	}
	have, err := w.DB.ListModelScores(ctx, k.Vendor, k.Name, k.Version)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(w.Scratch, "sets-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var jobs []evalJob
	shas := map[string]string{}
	for _, s := range sets {
		var spec EvalSpec
		if err := json.Unmarshal(s.Spec, &spec); err != nil {
			return err
		}
		if ok, _ := spec.applies(m.Task, m.Labels); !ok || slices.ContainsFunc(have, func(h store.ModelScore) bool {
			return h.Set == s.Name && h.SetSHA256 == s.SHA256 && h.State == store.ScoreDone
		}) {
			continue
		}
		sd := filepath.Join(tmp, fmt.Sprint(len(jobs)))
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return err
		}
		for _, im := range spec.Images {
			b, err := w.Objects.Get(ctx, evalBlobKey(im.SHA256))
			if err == nil {
				err = os.WriteFile(filepath.Join(sd, im.File), b, 0o644)
			}
			if err != nil {
				return fmt.Errorf("evaluation set %s: %w", s.Name, err)
			}
		}
		jobs = append(jobs, evalJob{Name: s.Name, Spec: spec, Dir: sd})
		shas[s.Name] = s.SHA256
	}
	if len(jobs) == 0 {
		return nil
	}
	put := func(set, state string, percent int, sc *Score, msg string) {
		r := store.ModelScore{Vendor: k.Vendor, Name: k.Name, Version: k.Version, Set: set, SetSHA256: shas[set], State: state, Progress: percent, Error: msg}
		if sc != nil {
			r.Score, _ = json.Marshal(sc)
		}
		if err := w.DB.PutModelScore(ctx, r); err != nil {
			slog.Warn("evaluation: saving a score", "model", k, "set", set, "err", err)
		}
	}
	for _, j := range jobs {
		put(j.Name, store.ScoreRunning, 0, nil, "")
	}
	lim := w.Limits.withDefaults()
	last := -1
	res, err := w.sandbox(ctx, sandboxRequest{Op: "evaluate", Dir: dir, Engine: w.Engine, Memory: lim.Memory, CPU: lim.ValidateCPU, Sets: jobs},
		lim.ValidateWall, func(set string, percent int) {
			if percent/5 != last/5 { // a row update every 5 %
				last = percent
				put(set, store.ScoreRunning, percent, nil, "")
				if progress != nil {
					progress(percent)
				}
			}
		})
	var le *LimitError
	switch {
	case errors.As(err, &le):
		for _, j := range jobs {
			put(j.Name, store.ScoreFailed, 0, nil, "scoring was stopped: "+le.Msg)
		}
		return nil
	case err != nil:
		return err
	}
	for _, s := range res.Scores {
		if s.Score != nil {
			put(s.Set, store.ScoreDone, 100, s.Score, "")
		} else {
			put(s.Set, store.ScoreFailed, 0, nil, s.Error)
		}
	}
	return nil
}
