// Package scheduler decides what runs where: it reads streams and tasks from the
// store, admits the tasks whose departments may run them, and hands the plans to the
// placement planner (Cluster) that sizes every worker from measured costs and its
// cores, in both modes: distributed (remote workers) and embedded (Local: this machine
// as the one worker). When demand exceeds capacity the planner degrades low priorities
// first, then time-shares streams, then refuses, and every grant says why; nothing is
// dropped silently.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// Runner is what the scheduler hands plans to: the in-process worker in embedded
// mode, the Cluster (which leases them to remote workers) in distributed mode.
type Runner interface {
	Apply(plans []plan.StreamPlan)
}

// Grant is what a task was given. State is the planner's: ok, degraded (a lower rate),
// rotated (time-shared: runs Duty of the time), unplaced (refused for capacity), or
// suspended (not admitted: disabled, no right, quota; Reason says which).
type Grant struct {
	TaskID       string  `json:"task_id"`
	State        string  `json:"state"`
	Priority     int     `json:"priority"`
	RequestedFPS float64 `json:"requested_fps"`
	GrantedFPS   float64 `json:"granted_fps"`
	Duty         float64 `json:"duty"` // share of the time the task runs
	Degraded     bool    `json:"degraded"`
	Reason       string  `json:"reason,omitempty"`
}

// Planner is what places the admitted plans and grants their rates (the Cluster).
type Planner interface {
	Grants() map[string]placement.Grant
}

// Scheduler reconciles the store's tasks with the worker.
type Scheduler struct {
	DB     *store.DB
	Runner Runner
	// Planner, when set (the Cluster the Runner hands plans to), has the last word on
	// every admitted task's grant: Grant merges its state, rate, duty and reason.
	Planner Planner
	// CapacityFPS > 0 is a configured total of analysed frames/s: departments' fps_share
	// quotas are shares of it. 0 (the default): no static figure, the planner sizes
	// capacity from measured costs and cores, and shares are not enforced.
	CapacityFPS float64
	MinFPS      float64          // a degraded task never drops below this (default 0.2)
	Now         func() time.Time // the clock grants are checked against (tests set it)
	Remind      time.Duration    // how long before its deadline an application's owner is reminded (default 24 h)

	mu     sync.Mutex
	grants map[string]Grant
	kick   chan struct{}
}

// New creates a scheduler.
func New(db *store.DB, w Runner, capacityFPS float64) *Scheduler {
	return &Scheduler{DB: db, Runner: w, CapacityFPS: capacityFPS, MinFPS: 0.2, grants: map[string]Grant{}, kick: make(chan struct{}, 1)}
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

// Reconcile computes plans and grants and applies them. A task runs only while its
// department holds the analyse right on the camera (owner, area or grant) and fits
// its department's quota; otherwise its grant says why it is suspended.
func (s *Scheduler) Reconcile(ctx context.Context) error {
	all, now := auth.Scope{All: true}, s.now()
	streams, err := s.DB.ListStreams(ctx, all, now)
	if err != nil {
		return err
	}
	tasks, err := s.DB.ListTasks(ctx, all, "")
	if err != nil {
		return err
	}
	deptList, err := s.DB.ListDepartments(ctx)
	if err != nil {
		return err
	}
	canaries, err := s.DB.ListCanaries(ctx, store.CanaryRunning)
	if err != nil {
		return err
	}
	depts := map[string]*deptLoad{}
	for _, d := range deptList {
		depts[d.ID] = &deptLoad{Department: d, streams: map[string]bool{}}
	}
	byStream := map[string]*plan.StreamPlan{}
	var order []string
	for _, st := range streams {
		byStream[st.ID] = &plan.StreamPlan{Stream: st}
		order = append(order, st.ID)
	}
	grants := map[string]Grant{}
	for _, t := range tasks { // oldest first: quotas keep the tasks that were there first
		p, err := algorithms.ParseParams(t.Params)
		g := Grant{TaskID: t.ID, RequestedFPS: p.SampleFPS, Priority: t.Priority, State: "suspended"}
		_, known := algorithms.Lookup(t.Algorithm)
		sp, d := byStream[t.StreamID], depts[t.DeptID]
		switch {
		case !t.Enabled:
			g.Reason = "disabled"
		case err != nil:
			g.Reason = "invalid params: " + err.Error()
		case !known:
			g.Reason = "unknown algorithm " + t.Algorithm
		case sp == nil:
			g.Reason = "stream missing"
		case d == nil:
			g.Reason = "department " + t.DeptID + " does not exist"
		default:
			acc, err := s.DB.Access(ctx, d.Department, sp.Stream, now)
			if err != nil {
				return err
			}
			if reason := d.admit(t, acc); reason != "" {
				g.Reason = "suspended: " + reason
				break
			}
			p = canaryParams(canaries, t, p) // a task in a model's canary runs its version
			sp.Tasks = append(sp.Tasks, plan.TaskPlan{Task: t, Params: p, FPS: p.SampleFPS, GrantID: acc.GrantID})
			d.demand += p.SampleFPS
		}
		grants[t.ID] = g
	}
	// a department over its inference share is scaled down; the planner does the rest
	var plans []plan.StreamPlan
	for _, id := range order {
		sp := byStream[id]
		for i := range sp.Tasks {
			tp := &sp.Tasks[i]
			g := grants[tp.Task.ID]
			if d := depts[tp.Task.DeptID]; d.overShare(s.CapacityFPS) {
				tp.FPS = max(tp.FPS*d.shareFPS(s.CapacityFPS)/d.demand, min(s.MinFPS, tp.FPS))
				g.Degraded = true
				g.Reason = fmt.Sprintf("department %s's inference share %.0f%% of %.1f fps = %.1f fps < its demand %.1f fps", d.ID, d.Quota.FPSShare*100, s.CapacityFPS, d.shareFPS(s.CapacityFPS), d.demand)
			}
			g.GrantedFPS, g.State, g.Duty = tp.FPS, string(placement.OK), 1
			if g.Degraded {
				g.State = string(placement.Degraded)
			}
			grants[tp.Task.ID] = g
		}
		if len(sp.Tasks) > 0 {
			plans = append(plans, *sp)
		}
	}
	shadows, err := s.DB.ListShadowRuns(ctx, store.ShadowFilter{State: store.ShadowRunning})
	if err != nil {
		return err
	}
	addShadows(shadows, plans)
	s.mu.Lock()
	s.grants = grants
	s.mu.Unlock()
	s.Runner.Apply(plans)
	return nil
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// deptLoad is a department's quota and what its admitted tasks use so far.
type deptLoad struct {
	store.Department
	streams map[string]bool
	tasks   int
	demand  float64
}

// admit checks access and the stream and task quotas; "" means the task may run.
func (d *deptLoad) admit(t store.Task, acc store.Access) string {
	if !acc.Can(auth.RightAnalyse, t.Algorithm) {
		if acc.Via == "grant" {
			return "grant " + acc.GrantID + " does not cover algorithm " + t.Algorithm
		}
		return acc.Reason
	}
	if _, why := d.Quota.Admit(d.ID, d.tasks, len(d.streams), d.streams[t.StreamID]); why != "" {
		return why
	}
	d.tasks++
	d.streams[t.StreamID] = true
	return ""
}

func (d *deptLoad) shareFPS(capacity float64) float64 { return d.Quota.FPSShare * capacity }

func (d *deptLoad) overShare(capacity float64) bool {
	return d.Quota.FPSShare > 0 && capacity > 0 && d.demand > d.shareFPS(capacity)
}

// Grants returns every task's current grant.
func (s *Scheduler) Grants() map[string]Grant {
	var pg map[string]placement.Grant
	if s.Planner != nil {
		pg = s.Planner.Grants()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Grant, len(s.grants))
	for k, v := range s.grants {
		out[k] = merge(v, pg)
	}
	return out
}

// Grant returns a task's current grant.
func (s *Scheduler) Grant(taskID string) (Grant, bool) {
	var pg map[string]placement.Grant
	if s.Planner != nil {
		pg = s.Planner.Grants()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[taskID]
	return merge(g, pg), ok
}

// merge lays the planner's grant of an admitted task over the scheduler's.
func merge(g Grant, planned map[string]placement.Grant) Grant {
	p, ok := planned[g.TaskID]
	if !ok || g.State == "suspended" {
		return g
	}
	g.State, g.GrantedFPS, g.Duty = string(p.State), p.GrantedFPS, p.Duty
	if p.State != placement.OK {
		g.Degraded = true
		g.Reason = strings.TrimPrefix(g.Reason+"; ", "; ") + p.Message
	}
	return g
}
