package main

import (
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/cityeye/cityeye/workers/source"
)

// diagnosisRotation is the picture diagnosis of every catalogue camera with a pull
// URL (issue 20), sized from what the scheduler's tasks leave of the capacity. Its
// visits run in this process (the server's, in distributed mode too: a visit is a few
// key frames); the live streams' states, from the worker or the cluster, count as
// online time. v carries the import folders: file:// streams open only under them.
func diagnosisRotation(db *store.DB, objs objects.Store, sched *scheduler.Scheduler, w *workers.Worker, cluster *scheduler.Cluster, v workers.Visit) *scheduler.Rotation {
	rec := workers.NewRecorder(db, objs, nil)
	return &scheduler.Rotation{DB: db, Sched: sched, Diagnose: rec.Diagnose, Visit: v,
		States: func() map[string]bool {
			var st map[string]plan.StreamStatus
			switch {
			case cluster != nil:
				st = cluster.Status()
			case w != nil:
				st = w.Status()
			}
			out := make(map[string]bool, len(st))
			for id, s := range st {
				out[id] = s.Source.State == source.StateOnline
			}
			return out
		}}
}
