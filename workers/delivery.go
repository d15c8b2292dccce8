package workers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sync"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers/plan"
)

// Delivery keeps a remote worker's model repository in step with its lease: each
// package it lacks is fetched from the object store by content hash, verified
// against the manifest's sha256, installed (the repository verifies again), and,
// for the published version of a model, its publication pointer is moved, after
// which OnInstalled (the worker's RefreshModels) loads the new version beside the
// old and swaps between two batches. Nothing is copied by hand; the planner places
// a task on this worker only once Installed lists its model.
type Delivery struct {
	Repo        models.Repository
	Objects     objects.Store
	OnInstalled func()

	mu      sync.Mutex
	running bool
	errs    map[string]string // "model@version" → why it is not installed
}

// Apply starts installing what pkgs name and the repository lacks, in the
// background (one round at a time), so heartbeats go on meanwhile.
func (d *Delivery) Apply(ctx context.Context, pkgs []plan.Package) {
	var todo []plan.Package
	for _, p := range pkgs {
		_, _, err := d.Repo.Resolve(p.Model, p.Version)
		cur, ok, _ := d.Repo.Published(p.Model)
		if err != nil || p.Published && (!ok || cur != p.Version) {
			todo = append(todo, p)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(todo) == 0 || d.running {
		return
	}
	d.running = true
	go func() {
		changed := false
		for _, p := range todo {
			err := d.install(ctx, p)
			d.mu.Lock()
			if d.errs == nil {
				d.errs = map[string]string{}
			}
			if err != nil {
				d.errs[p.Model+"@"+p.Version] = err.Error()
				slog.Warn("model delivery failed", "model", p.Model, "version", p.Version, "err", err)
			} else {
				delete(d.errs, p.Model+"@"+p.Version)
				changed = true
				slog.Info("model delivered", "model", p.Model, "version", p.Version, "published", p.Published)
			}
			d.mu.Unlock()
		}
		if changed && d.OnInstalled != nil {
			d.OnInstalled()
		}
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
}

// install fetches and installs one package (unless it is there) and moves the
// publication pointer when the package is the published version.
func (d *Delivery) install(ctx context.Context, p plan.Package) error {
	if _, _, err := d.Repo.Resolve(p.Model, p.Version); err != nil {
		var m models.Manifest
		if err := json.Unmarshal(p.Manifest, &m); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		if m.QualifiedName() != p.Model || m.Version != p.Version {
			return fmt.Errorf("the manifest is %s@%s, not %s@%s", m.QualifiedName(), m.Version, p.Model, p.Version)
		}
		files := map[string][]byte{}
		want := map[string]string{m.File: m.SHA256}
		for _, f := range m.Files {
			want[f.Name] = f.SHA256
		}
		for name, sha := range want {
			if len(sha) != 64 {
				return fmt.Errorf("%s has no sha256 in the manifest", name)
			}
			b, err := d.Objects.Get(ctx, warehouse.BlobKey(sha))
			if err != nil {
				return fmt.Errorf("fetch %s: %w", name, err)
			}
			if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sha {
				return fmt.Errorf("%s from the object store has sha256 %x, the manifest says %s: not installed", name, got, sha)
			}
			files[name] = b
		}
		if err := d.Repo.Install(m, files); err != nil {
			return err
		}
	}
	if p.Published {
		if cur, ok, _ := d.Repo.Published(p.Model); !ok || cur != p.Version {
			return d.Repo.Publish(p.Model, p.Version)
		}
	}
	return nil
}

// Installed lists the repository's versions as "model@version", for the heartbeat
// (never nil: an empty repository says so).
func (d *Delivery) Installed() []string {
	ms, err := d.Repo.List()
	out := []string{}
	if err != nil {
		slog.Warn("model repository unreadable", "err", err)
		return out
	}
	for _, m := range ms {
		out = append(out, m.QualifiedName()+"@"+m.Version)
	}
	return out
}

// Errors is why packages could not be installed, by "model@version".
func (d *Delivery) Errors() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.errs) == 0 {
		return nil
	}
	return maps.Clone(d.errs)
}
