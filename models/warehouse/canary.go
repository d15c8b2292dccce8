package warehouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
)

// StartCanary puts a validated version on canary (store.Canary): it is installed
// for the workers, and the scheduler runs it for the canary's tasks while the rest
// keep the published version. A model has one running canary at a time; the
// version must not be the published one.
func (w *Warehouse) StartCanary(ctx context.Context, c store.Canary) (store.Canary, error) {
	v, err := w.trialVersion(ctx, c.Vendor, c.Name, c.Version, "go on canary")
	if err != nil {
		return c, err
	}
	if cur, err := w.DB.GetCanary(ctx, c.Vendor, c.Name); err == nil && cur.State == store.CanaryRunning {
		return c, fmt.Errorf("%w: %s/%s@%s is on canary already; stop it first", store.ErrState, c.Vendor, c.Name, cur.Version)
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	if err := w.installBeside(ctx, v); err != nil {
		return c, err
	}
	now := time.Now().UTC()
	c.State, c.Step, c.StartedAt, c.StepAt, c.EndedAt, c.Reason = store.CanaryRunning, 0, now, now, time.Time{}, ""
	return c, w.DB.PutCanary(ctx, c, nil)
}

// StopCanary ends a running canary by hand: its tasks go back to the published
// version at the next plan.
func (w *Warehouse) StopCanary(ctx context.Context, vendor, name, reason string) (store.Canary, error) {
	c, err := w.DB.GetCanary(ctx, vendor, name)
	if err != nil {
		return c, err
	}
	if c.State != store.CanaryRunning {
		return c, fmt.Errorf("%w: the canary of %s/%s is %s", store.ErrState, vendor, name, c.State)
	}
	old := c
	c.State, c.EndedAt, c.Reason = store.CanaryStopped, time.Now().UTC(), reason
	return c, w.DB.PutCanary(ctx, c, &old)
}

// trialVersion is a version that may be tried beside the published one: validated,
// not published.
func (w *Warehouse) trialVersion(ctx context.Context, vendor, name, version, what string) (store.ModelVersion, error) {
	v, err := w.DB.GetModelVersion(ctx, vendor, name, version)
	if err == nil && v.State != store.ModelValidated {
		err = fmt.Errorf("%w: %s/%s@%s is %s; only a validated version that is not published can %s", store.ErrState, vendor, name, version, v.State, what)
	}
	return v, err
}

// installBeside installs a version that is not to be published (yet) for the
// workers. A model never published resolves to its newest version, so the version
// running now is pinned as the published one first: installing this one must not
// move every task to it.
func (w *Warehouse) installBeside(ctx context.Context, v store.ModelVersion) error {
	q := models.QualifiedName(v.Vendor, v.Name)
	if _, ok, _ := w.Repo.Published(q); !ok {
		if cur, _, err := w.Repo.Resolve(q, ""); err == nil {
			if err := w.Repo.Publish(q, cur.Version); err != nil {
				return err
			}
		}
	}
	if _, _, err := w.Repo.Resolve(q, v.Version); err == nil {
		return nil
	}
	return w.install(ctx, v)
}

// StartShadow runs a validated version beside the published one on streams for
// a period (store.ShadowRun); the report is kept with the version.
func (w *Warehouse) StartShadow(ctx context.Context, r store.ShadowRun) (store.ShadowRun, error) {
	v, err := w.trialVersion(ctx, r.Vendor, r.Name, r.Version, "run in shadow of the published one")
	if err != nil {
		return r, err
	}
	if err := w.installBeside(ctx, v); err != nil {
		return r, err
	}
	return r, w.DB.CreateShadowRun(ctx, &r)
}
