package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/workers/plan"
)

// /metrics speaks the Prometheus text format, for the platform office's token only.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "admin", cameras[1].body(), 201)
	f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","enabled":false}`, 201)
	f.seedRecord("police", cameras[1], "", f.now, 1)
	f.srv.Scheduler.Reconcile(t.Context())
	status, _, b := f.getBytes("/metrics", "admin", "")
	for _, want := range []string{`cityeye_records{type="Face"} 1`, `cityeye_tasks{state="disabled"} 1`, "go_goroutines"} {
		if status != 200 || !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q (status %d):\n%.2000s", want, status, b)
		}
	}
	f.must("GET", "/metrics", "police_admin", "", 403)
}

// A worker's spool (what waits for storage, and what it lost) is in /metrics from
// its heartbeat, by worker.
func TestMetricsSpool(t *testing.T) {
	f := newFixture(t)
	f.srv.Cluster = scheduler.NewCluster(time.Minute)
	f.srv.Cluster.Heartbeat(plan.Heartbeat{ID: "w1", Cores: 4, Spool: &plan.SpoolStats{Writes: 3, Bytes: 4096, MaxBytes: 1 << 30,
		OldestAgeSec: 12.5, Spooled: 10, Replayed: 7, DroppedFull: 2, DroppedExpired: 1}})
	_, _, b := f.getBytes("/metrics", "admin", "")
	for _, want := range []string{`cityeye_spool_writes{worker="w1"} 3`, `cityeye_spool_bytes{kind="used",worker="w1"} 4096`,
		`cityeye_spool_bytes{kind="limit",worker="w1"} 1.073741824e+09`, `cityeye_spool_oldest_age_seconds{worker="w1"} 12.5`,
		`cityeye_spool_writes_total{event="replayed",worker="w1"} 7`, `cityeye_spool_dropped_total{reason="full",worker="w1"} 2`,
		`cityeye_spool_dropped_total{reason="expired",worker="w1"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%.3000s", want, b)
		}
	}
}
