// Package scheduler decides what runs where: it reads streams and tasks from the
// store, grants each task a frame rate within the inference capacity, and hands each
// worker its stream plans. When demand exceeds capacity every task's rate is scaled
// down and the grant says so; nothing is dropped silently.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/api/store"
	"github.com/cityeye/cityeye/workers"
)

// Worker is what the scheduler assigns plans to: the in-process worker in embedded
// mode, a remote worker's proxy in distributed mode.
type Worker interface {
	Apply(plans []workers.StreamPlan)
}

// Grant is what a task was given.
type Grant struct {
	TaskID       string  `json:"task_id"`
	RequestedFPS float64 `json:"requested_fps"`
	GrantedFPS   float64 `json:"granted_fps"`
	Degraded     bool    `json:"degraded"`
	Reason       string  `json:"reason,omitempty"`
}

// Scheduler reconciles the store's tasks with the worker.
type Scheduler struct {
	DB          *store.DB
	Worker      Worker
	CapacityFPS float64 // analysed frames per second the worker sustains in total
	MinFPS      float64 // a degraded task never drops below this (default 0.2)

	mu     sync.Mutex
	grants map[string]Grant
	kick   chan struct{}
}

// New creates a scheduler.
func New(db *store.DB, w Worker, capacityFPS float64) *Scheduler {
	return &Scheduler{DB: db, Worker: w, CapacityFPS: capacityFPS, MinFPS: 0.2, grants: map[string]Grant{}, kick: make(chan struct{}, 1)}
}

// Notify asks for a reconcile soon (after an API change).
func (s *Scheduler) Notify() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run reconciles now, on every Notify and every interval, until ctx ends.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			slog.Error("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Reconcile computes plans and grants and applies them.
func (s *Scheduler) Reconcile(ctx context.Context) error {
	streams, err := s.DB.ListStreams(ctx)
	if err != nil {
		return err
	}
	tasks, err := s.DB.ListTasks(ctx, "")
	if err != nil {
		return err
	}
	byStream := map[string]*workers.StreamPlan{}
	var order []string
	for _, st := range streams {
		byStream[st.ID] = &workers.StreamPlan{Stream: st}
		order = append(order, st.ID)
	}
	grants := map[string]Grant{}
	demand := 0.0
	for _, t := range tasks {
		p, err := algorithms.ParseParams(t.Params)
		g := Grant{TaskID: t.ID, RequestedFPS: p.SampleFPS}
		switch _, known := algorithms.Lookup(t.Algorithm); {
		case !t.Enabled:
			g.Reason = "disabled"
		case err != nil:
			g.Reason = "invalid params: " + err.Error()
		case !known:
			g.Reason = "unknown algorithm " + t.Algorithm
		case byStream[t.StreamID] == nil:
			g.Reason = "stream missing"
		default:
			sp := byStream[t.StreamID]
			sp.Tasks = append(sp.Tasks, workers.TaskPlan{Task: t, Params: p, FPS: p.SampleFPS})
			demand += p.SampleFPS
		}
		grants[t.ID] = g
	}
	factor := 1.0
	if s.CapacityFPS > 0 && demand > s.CapacityFPS {
		factor = s.CapacityFPS / demand
	}
	var plans []workers.StreamPlan
	for _, id := range order {
		sp := byStream[id]
		for i := range sp.Tasks {
			tp := &sp.Tasks[i]
			g := grants[tp.Task.ID]
			tp.FPS = max(tp.FPS*factor, min(s.MinFPS, tp.FPS))
			g.GrantedFPS = tp.FPS
			if factor < 1 {
				g.Degraded = true
				g.Reason = fmt.Sprintf("capacity %.1f fps < demand %.1f fps: every task runs at %.0f%% of its requested rate", s.CapacityFPS, demand, factor*100)
			}
			grants[tp.Task.ID] = g
		}
		if len(sp.Tasks) > 0 {
			plans = append(plans, *sp)
		}
	}
	s.mu.Lock()
	s.grants = grants
	s.mu.Unlock()
	s.Worker.Apply(plans)
	return nil
}

// Grant returns a task's current grant.
func (s *Scheduler) Grant(taskID string) (Grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[taskID]
	return g, ok
}
