package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers/jobs"
)

// Retention says how long each class of data is kept. The seeds require parsed data
// (records, checkpoint and face images) for at least a year; video is not ours.
type Retention struct {
	RecordDays int `json:"record_days"` // structured records (with their remaining images)
	SceneDays  int `json:"scene_days"`  // full-frame scene images (the largest part)
	CropDays   int `json:"crop_days"`   // object crops (face, vehicle, person)
	AlertDays  int `json:"alert_days"`  // alerts and their snapshots
	Batch      int `json:"batch"`       // rows per transaction (default 500)
}

// DefaultRetention keeps everything for a year (365 days).
var DefaultRetention = Retention{RecordDays: 365, SceneDays: 365, CropDays: 365, AlertDays: 365, Batch: 500}

// RetentionReport is what one sweep removed.
type RetentionReport struct {
	Records, Scenes, Crops, Alerts, Objects int
}

// KindRetention is the job kind of the periodic sweep.
const KindRetention = "retention.sweep"

// SweepRetention deletes what is older than the retention allows, in batches: each
// batch is one short transaction that also logs the images as pending, then the
// images are deleted and forgotten, so a record never points at a deleted image and
// a crash leaves nothing the start-up sweep would not remove.
func SweepRetention(ctx context.Context, db *store.DB, objs objects.Store, r Retention, now time.Time) (RetentionReport, error) {
	var rep RetentionReport
	if r.Batch <= 0 {
		r.Batch = 500
	}
	day := 24 * time.Hour
	steps := []struct {
		days  int
		count *int
		run   func(time.Time) (int, []string, error)
	}{
		{r.SceneDays, &rep.Scenes, func(c time.Time) (int, []string, error) { return db.ExpireImages(ctx, "-scene.jpg", c, r.Batch) }},
		{r.CropDays, &rep.Crops, func(c time.Time) (int, []string, error) { return db.ExpireImages(ctx, "-crop.jpg", c, r.Batch) }},
		{r.RecordDays, &rep.Records, func(c time.Time) (int, []string, error) { return db.ExpireRecords(ctx, c, r.Batch) }},
		{r.AlertDays, &rep.Alerts, func(c time.Time) (int, []string, error) { return db.ExpireAlerts(ctx, c, r.Batch) }},
	}
	for _, st := range steps {
		if st.days <= 0 {
			continue // 0: keep forever
		}
		cutoff := now.Add(-time.Duration(st.days) * day)
		for {
			n, keys, err := st.run(cutoff)
			if err != nil {
				return rep, err
			}
			for _, k := range keys {
				if err := objs.Delete(ctx, k); err != nil {
					return rep, err // stays pending: the next sweep or start-up removes it
				}
			}
			if err := db.Forget(ctx, keys); err != nil {
				return rep, err
			}
			*st.count += n
			rep.Objects += len(keys)
			if n < r.Batch || ctx.Err() != nil {
				break
			}
		}
	}
	if rep.Records > 0 {
		if _, err := db.PruneFeatures(ctx); err != nil { // face features of expired records
			return rep, err
		}
	}
	return rep, nil
}

// RegisterRetention makes q run the sweep job (call it before the queue starts).
func RegisterRetention(q jobs.Queue, db *store.DB, objs objects.Store, r Retention) {
	q.Handle(KindRetention, func(ctx context.Context, _ jobs.Job) error {
		rep, err := SweepRetention(ctx, db, objs, r, time.Now())
		if err == nil && rep != (RetentionReport{}) {
			slog.Info("retention sweep", "records", rep.Records, "scene_images", rep.Scenes, "crops", rep.Crops, "alerts", rep.Alerts, "objects", rep.Objects)
		}
		return err
	})
}

// RunRetention enqueues the sweep every interval (one at a time: the job key is fixed).
func RunRetention(ctx context.Context, q jobs.Queue, every time.Duration) {
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			q.Enqueue(ctx, jobs.Job{Kind: KindRetention, Key: "periodic"})
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
