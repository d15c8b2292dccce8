package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
)

// The lifecycle of a validated version: publishing (a vendor's request, the platform
// admin's approval or rejection), rollback, deprecation, deletion, and installing
// versions into the workers' repository.

// Publish makes a validated version the published one of vendor/name and installs
// it for the workers; tasks that follow vendor/name switch at their next batch. Each
// vendor has its own namespace in the repository (the platform's is the bare
// names), so publishing never changes what another vendor's name resolves to. It is
// the platform admin's approval: vendors only RequestPublish.
func (w *Warehouse) Publish(ctx context.Context, vendor, name, version string) (store.ModelVersion, error) {
	v, err := w.DB.GetModelVersion(ctx, vendor, name, version)
	if err != nil {
		return v, err
	}
	if v.State != store.ModelValidated && v.State != store.ModelPublished {
		return v, fmt.Errorf("%w: %s/%s@%s is %s; only validated versions can be published", store.ErrState, vendor, name, version, v.State)
	}
	q := models.QualifiedName(vendor, name)
	if _, _, err := w.Repo.Resolve(q, version); err != nil {
		if err := w.install(ctx, v); err != nil {
			return v, err
		}
	}
	if err := w.DB.PublishModelVersion(ctx, vendor, name, version); err != nil {
		return v, err
	}
	if err := w.Repo.Publish(q, version); err != nil {
		return v, fmt.Errorf("published in the database but the repository pointer failed (retry publish): %w", err)
	}
	if w.OnPublish != nil {
		w.OnPublish()
	}
	return w.DB.GetModelVersion(ctx, vendor, name, version)
}

// RequestPublish puts a validated version up for the platform admin's approval.
func (w *Warehouse) RequestPublish(ctx context.Context, vendor, name, version, by string) (store.ModelVersion, error) {
	if err := w.DB.RequestPublish(ctx, vendor, name, version, by); err != nil {
		return store.ModelVersion{}, err
	}
	return w.DB.GetModelVersion(ctx, vendor, name, version)
}

// RejectPublish turns a pending publish request down; the version stays validated.
func (w *Warehouse) RejectPublish(ctx context.Context, vendor, name, version string) (store.ModelVersion, error) {
	if err := w.DB.ClearPublishRequest(ctx, vendor, name, version); err != nil {
		return store.ModelVersion{}, err
	}
	return w.DB.GetModelVersion(ctx, vendor, name, version)
}

// Rollback re-publishes the version that was published before the current one.
func (w *Warehouse) Rollback(ctx context.Context, vendor, name string) (store.ModelVersion, error) {
	vs, err := w.DB.ListModelVersions(ctx, store.ModelFilter{Vendor: vendor, Name: name})
	if err != nil {
		return store.ModelVersion{}, err
	}
	var cur, prev *store.ModelVersion
	for i := range vs {
		v := &vs[i]
		switch {
		case v.State == store.ModelPublished:
			cur = v
		case v.State == store.ModelValidated && !v.PublishedAt.IsZero() && (prev == nil || v.PublishedAt.After(prev.PublishedAt)):
			prev = v
		}
	}
	if cur == nil {
		return store.ModelVersion{}, fmt.Errorf("%w: %s/%s has no published version to roll back", store.ErrState, vendor, name)
	}
	if prev == nil {
		return store.ModelVersion{}, fmt.Errorf("%w: %s/%s has no earlier published version to go back to", store.ErrState, vendor, name)
	}
	return w.Publish(ctx, vendor, name, prev.Version)
}

// Deprecate marks a version as not for new use; the published version must be
// replaced first.
func (w *Warehouse) Deprecate(ctx context.Context, vendor, name, version string) error {
	return w.DB.SetModelState(ctx, vendor, name, version, store.ModelDeprecated, store.ModelValidated, store.ModelRejected)
}

// Delete removes a version and the blobs nothing else references. The published
// version of a model that an enabled task uses is refused.
func (w *Warehouse) Delete(ctx context.Context, vendor, name, version string) error {
	v, err := w.DB.GetModelVersion(ctx, vendor, name, version)
	if err != nil {
		return err
	}
	var users []string
	if w.TasksUsing != nil {
		users, err = w.TasksUsing(ctx, vendor, name, version, v.State == store.ModelPublished)
	}
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("%w: %s/%s@%s is in use by tasks %v (pinned, or following it as the published version); change them or publish another version first", store.ErrState, vendor, name, version, users)
	}
	if v.State == store.ModelValidating {
		return fmt.Errorf("%w: %s/%s@%s is being validated; delete it when validation ends", store.ErrState, vendor, name, version)
	}
	if err := w.DB.DeleteModelVersion(ctx, vendor, name, version); err != nil {
		return err
	}
	var m models.Manifest
	json.Unmarshal(v.Manifest, &m)
	shas := []string{m.SHA256}
	for _, f := range m.Files {
		shas = append(shas, f.SHA256)
	}
	for _, sha := range shas {
		if used, err := w.DB.BlobInUse(ctx, sha); err == nil && !used {
			w.Objects.Delete(ctx, BlobKey(sha))
		}
	}
	return nil
}

// EnsureInstalled makes vendor/name@version loadable by workers, for a task that
// pins it: already in the repository (starter models, published versions), or a
// version of that vendor the platform admin approved (published now or before),
// which it installs. Another vendor's version, or one never approved, is not found.
func (w *Warehouse) EnsureInstalled(ctx context.Context, vendor, name, version string) error {
	if _, _, err := w.Repo.Resolve(models.QualifiedName(vendor, name), version); err == nil {
		return nil
	}
	v, err := w.DB.GetModelVersion(ctx, vendor, name, version)
	if err == nil && (v.State != store.ModelValidated && v.State != store.ModelPublished || v.PublishedAt.IsZero()) {
		err = store.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: no installed or validated version %s of model %s that the platform admin approved", store.ErrNotFound, version, models.QualifiedName(vendor, name))
		}
		return err
	}
	return w.install(ctx, v)
}

// install lays a stored version into the workers' repository.
func (w *Warehouse) install(ctx context.Context, v store.ModelVersion) error {
	tmp, err := os.MkdirTemp(w.Scratch, "install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := w.materialize(ctx, v, tmp)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for n, path := range p.Files {
		if files[n], err = os.ReadFile(path); err != nil {
			return err
		}
	}
	if files[p.Manifest.File], err = os.ReadFile(p.Model); err != nil {
		return err
	}
	if err := w.Repo.Install(p.Manifest, files); err != nil {
		return fmt.Errorf("install into the model repository: %w", err)
	}
	return nil
}
