package main

import (
	"context"
	"net"
	"strings"
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

// advertiseURL is where the other servers reach this one: the configured URL, else
// http:// and the listen address, with host for an unspecified IP (0.0.0.0, ::).
func advertiseURL(configured string, listen net.Addr, host string) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	a, ok := listen.(*net.TCPAddr)
	if !ok || a.IP == nil || a.IP.IsUnspecified() {
		_, port, _ := net.SplitHostPort(listen.String())
		return "http://" + net.JoinHostPort(host, port)
	}
	return "http://" + a.String()
}
