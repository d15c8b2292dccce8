package scheduler

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/plan"
)

// LocalWorker is the in-process worker as the embedded mode's Local drives it.
type LocalWorker interface {
	Apply(plans []plan.StreamPlan)
	Status() map[string]plan.StreamStatus
	Batchers() []plan.BatchStats
	Shadows() []plan.ShadowStats
	Spool() *plan.SpoolStats
}

// LocalID is the worker ID of the machine itself in embedded mode.
const LocalID = "local"

// Local runs embedded mode on the same planner as distributed mode: the scheduler's
// plans go to a Cluster of one member, this machine, sized from the measured costs
// (Cluster.Costs, refreshed from the warehouse benchmark) and its real core count, and
// the member's lease (the streams at their granted rates, time-shared ones in their
// turn) is applied to the in-process worker. It is the scheduler's Runner.
type Local struct {
	Cluster *Cluster
	Worker  LocalWorker
	// Cores sizes the machine (default runtime.NumCPU()); CapacityFPS > 0 caps its
	// model rates as a remote worker's capacity_fps does (default: no cap).
	Cores       int
	CapacityFPS float64
	// GPUs and Bench, when set, report this machine's GPUs and the frame models
	// measured on them, as a remote worker's heartbeat does: the planner then places
	// streams on them too.
	GPUs  func() []plan.GPU
	Bench func() []plan.DeviceBench
	// CPU, when set, is the process CPU seconds the streams used (the heartbeat's
	// CPUSeconds; default workers.ProcessCPU): leave out what benchmarks took.
	CPU func() float64

	mu sync.Mutex // one heartbeat and Apply at a time
}

// NewLocal makes this machine the cluster's one worker.
func NewLocal(c *Cluster, w LocalWorker, capacityFPS float64) *Local {
	c.LocalOnly = true
	return &Local{Cluster: c, Worker: w, Cores: runtime.NumCPU(), CapacityFPS: capacityFPS}
}

// Apply takes the scheduler's plans, places them and applies this machine's lease.
func (l *Local) Apply(plans []plan.StreamPlan) {
	l.Cluster.Apply(plans)
	l.beat()
}

// beat heartbeats the local member and applies its lease to the worker.
func (l *Local) beat() {
	l.mu.Lock()
	defer l.mu.Unlock()
	hb := plan.Heartbeat{ID: LocalID, CapacityFPS: l.CapacityFPS, Cores: max(l.Cores, 1), Status: l.Worker.Status(), Batchers: l.Worker.Batchers(),
		Shadows: l.Worker.Shadows(), CPUSeconds: workers.ProcessCPU(), Spool: l.Worker.Spool()}
	if l.CPU != nil {
		hb.CPUSeconds = l.CPU()
	}
	if l.GPUs != nil {
		hb.GPUs = l.GPUs()
	}
	if l.Bench != nil {
		hb.Bench = l.Bench()
	}
	lease := l.Cluster.Heartbeat(hb)
	l.Worker.Apply(lease.Plans)
}

// Run heartbeats every Cluster.Timeout/4 (rotation turns and measured stream sizes
// take effect then) until ctx ends.
func (l *Local) Run(ctx context.Context) {
	every(ctx, max(l.Cluster.Timeout/4, 50*time.Millisecond), l.beat)
}
