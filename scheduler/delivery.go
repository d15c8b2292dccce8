package scheduler

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// Model delivery in distributed mode: the cluster knows which build of which model
// every desired task runs, leases every worker the packages of those builds (the
// worker fetches them from the object store by content hash), and places a task
// only on a worker that reports its model installed.

// Catalog tells the cluster which version of a model tasks run and how a worker
// gets it.
type Catalog interface {
	// Published is the version of q (name or vendor/name) that tasks not pinning a
	// version run; ok is false when there is none.
	Published(q string) (version string, ok bool)
	// Package is q@version as a worker fetches it; ok is false when the warehouse
	// does not hold it (a starter model installed by hand, say).
	Package(q, version string) (plan.Package, bool)
}

// StoreCatalog is the Catalog of a server: published versions from its model
// repository (the warehouse installs and publishes into it), packages from the
// warehouse's rows.
type StoreCatalog struct {
	DB   *store.DB
	Repo models.Repository
}

// Published implements Catalog.
func (s StoreCatalog) Published(q string) (string, bool) {
	m, _, err := s.Repo.Resolve(q, "")
	return m.Version, err == nil
}

// Package implements Catalog.
func (s StoreCatalog) Package(q, version string) (plan.Package, bool) {
	vendor, name, err := models.SplitName(q)
	if err != nil {
		return plan.Package{}, false
	}
	ctx := context.Background()
	v, err := s.DB.GetModelVersion(ctx, vendor, name, version)
	if err != nil || v.State != store.ModelPublished && v.State != store.ModelValidated {
		return plan.Package{}, false
	}
	if v.PublishedAt.IsZero() && !s.trial(ctx, vendor, name, version) {
		return plan.Package{}, false // only what the platform admin approved leaves the warehouse
	}
	return plan.Package{Model: q, Version: version, Manifest: v.Manifest}, true
}

// trial reports whether the platform admin put a version that was never published
// on canary or in a shadow run, which also sends it to the workers.
func (s StoreCatalog) trial(ctx context.Context, vendor, name, version string) bool {
	if c, err := s.DB.GetCanary(ctx, vendor, name); err == nil && c.State == store.CanaryRunning && c.Version == version {
		return true
	}
	runs, err := s.DB.ListShadowRuns(ctx, store.ShadowFilter{Vendor: vendor, Name: name, Version: version, State: store.ShadowRunning})
	return err == nil && len(runs) > 0
}

// taskKeys are the planner's model keys of a task: without a Catalog the algorithm's
// model names (every worker has every model); with one, the build the task runs,
// "q" when it follows the published version (any installed version of q will do:
// the worker swaps to the published one once it has it) or "q@version" when pinned.
func (c *Cluster) taskKeys(t plan.TaskPlan) []string {
	names := taskModels(t.Task.Algorithm)
	if c.Catalog == nil || names[0] == "" {
		return names
	}
	keys := make([]string, len(names))
	for i, n := range names {
		r := t.Params.ModelRef(n)
		keys[i] = models.QualifiedName(r.Vendor, r.Name)
		if r.Version != "" {
			keys[i] += "@" + r.Version
		}
	}
	return keys
}

// rateName is the model a key is costed as: the bare name (a vendor's build of a
// model costs what the model costs until the warehouse measures it).
func rateName(key string) string {
	key, _, _ = strings.Cut(key, "@")
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	return key
}

// has reports whether m can run the model key: a worker that does not report its
// installed versions (embedded mode, an older worker) has every model.
func (m *Member) has(key string) bool {
	if m.Installed == nil || key == "" {
		return true
	}
	if strings.Contains(key, "@") {
		return slices.Contains(m.Installed, key)
	}
	return slices.ContainsFunc(m.Installed, func(v string) bool { return strings.HasPrefix(v, key+"@") })
}

// packagesFor lists the packages of every build the plans use (tasks and shadow
// runs), published versions marked so: what every worker's lease carries.
func (c *Cluster) packagesFor(plans []plan.StreamPlan) []plan.Package {
	if c.Catalog == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []plan.Package
	for _, p := range plans {
		keys := []string{}
		for _, sh := range p.Shadows {
			keys = append(keys, sh.Candidate)
		}
		for _, t := range p.Tasks {
			keys = append(keys, c.taskKeys(t)...)
		}
		for _, k := range keys {
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			q, version, pinned := strings.Cut(k, "@")
			if !pinned {
				var ok bool
				if version, ok = c.Catalog.Published(q); !ok {
					continue
				}
			}
			if pkg, ok := c.Catalog.Package(q, version); ok {
				pkg.Published = !pinned
				out = append(out, pkg)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model+"@"+out[i].Version < out[j].Model+"@"+out[j].Version })
	return out
}

// sameInstalled compares two heartbeats' installed lists (nil is not empty).
func sameInstalled(a, b []string) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}
