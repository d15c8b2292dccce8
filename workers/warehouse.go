package workers

import (
	"context"
	"errors"
	"slices"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/jobs"
)

// ServeWarehouse connects the warehouse to the job queue and the algorithm registry:
// its validation and scoring jobs run on q (any process serving q may take them) and it learns
// which tasks use a model version before deleting it. Call it before q.Start, then
// w.Start to re-queue what a restart interrupted.
func ServeWarehouse(w *warehouse.Warehouse, q jobs.Queue) {
	q.Handle(warehouse.KindValidate, func(ctx context.Context, j jobs.Job) error {
		return w.RunValidation(ctx, j.Payload)
	})
	q.Handle(warehouse.KindEvaluate, func(ctx context.Context, j jobs.Job) error {
		return w.RunEvaluation(ctx, j.Payload)
	})
	w.Enqueue = func(ctx context.Context, kind, key string, payload []byte) error {
		err := q.Enqueue(ctx, jobs.Job{Kind: kind, Key: key, Payload: payload})
		if errors.Is(err, jobs.ErrDuplicate) {
			return nil // the same validation is already queued or running
		}
		return err
	}
	w.TasksUsing = func(ctx context.Context, vendor, model, version string, published bool) ([]string, error) {
		return TasksUsing(ctx, w.DB, vendor, model, version, published)
	}
}

// TasksUsing lists tasks that use vendor's model@version: those pinning it, and, when
// it is the published version, enabled tasks that follow vendor's model unpinned.
func TasksUsing(ctx context.Context, db *store.DB, vendor, model, version string, published bool) ([]string, error) {
	ts, err := db.ListTasks(ctx, auth.Scope{All: true}, "")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range ts {
		spec, ok := algorithms.Lookup(t.Algorithm)
		if !ok || !slices.Contains(spec.Models, model) {
			continue
		}
		p, _ := algorithms.ParseParams(t.Params)
		ref := p.ModelRef(model)
		if ref.Vendor != vendor {
			continue
		}
		if ref.Version == version || ref.Version == "" && published && t.Enabled {
			ids = append(ids, t.ID)
		}
	}
	return ids, nil
}
