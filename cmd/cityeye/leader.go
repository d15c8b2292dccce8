package main

import (
	"context"
	"time"

	"github.com/cityeye/cityeye/scheduler"
)

// whileLeading runs f while the cluster leads the scheduler (always, embedded),
// cancelling it when another server takes the lead and starting it again on return,
// until ctx ends.
func whileLeading(ctx context.Context, cluster *scheduler.Cluster, f func(context.Context)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var stop context.CancelFunc
	var done chan struct{}
	for {
		leading, _ := cluster.Leading()
		if leading && stop == nil {
			var fctx context.Context
			fctx, stop = context.WithCancel(ctx)
			done = make(chan struct{})
			go func() { defer close(done); f(fctx) }()
		}
		if !leading && stop != nil {
			stop()
			<-done
			stop = nil
		}
		select {
		case <-ctx.Done():
			if stop != nil {
				stop()
				<-done
			}
			return
		case <-t.C:
		}
	}
}
