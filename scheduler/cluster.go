package scheduler

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/workers/plan"
)

// Cluster is the scheduler's Worker in distributed mode: it holds the desired stream
// plans and spreads them over the remote workers that heartbeat in. A stream (with
// all its tasks, so it is decoded once) lives on one worker. Placement is
// scheduler/placement's capacity-aware planner: every live worker is a CPU device
// sized from its reported cores and Costs, plus one "cuda:N" device per reported GPU
// with two budgets, decode (its NVDEC engines) and inference (the models measured
// on that model of card); streams are packed under
// Costs.TargetUtil, and when they do not fit the planner degrades low-priority work
// (lower rates, then time-sharing, then refusal) and says why in Grants.
// Placements are sticky (the previous plan is passed back to the planner: a new
// stream or a returning worker moves nothing that runs); a worker silent for Timeout
// loses its streams to the others at the next sweep.
//
// No stream runs twice: a worker stops everything itself when it has not renewed
// its lease for TTL (≤ Timeout, counted from before its last heartbeat left), and
// the cluster moves a stream off a dead worker only after Timeout since that
// heartbeat arrived. When the planner moves a stream between two live workers, the
// new one is leased the stream only after the old one has been handed a lease
// without it (or has died).
//
// Time-shared streams (placement.Assignment.Rotated) stay assigned to their worker
// but are included in its lease only during their turn: (now − RotationEpoch) mod
// Slot.Cycle ∈ [Phase, Phase+Dwell). Leases are pulled every TTL/4, so a turn starts
// and ends up to TTL/4 late: rotation granularity is TTL/4, keep Costs.Dwell well
// above it.
type Cluster struct {
	Timeout time.Duration // a worker silent this long is dead (default 5 s)
	Now     func() time.Time
	// Costs sizes the workers' devices for the planner (DefaultCosts by NewCluster).
	Costs Costs
	// RotationEpoch is the origin of time-share cycles (zero: the Unix epoch).
	RotationEpoch time.Time
	// LocalOnly: embedded mode, the cluster's one member is this machine (Local); the
	// API takes no remote workers.
	LocalOnly bool
	// Catalog, when set (distributed mode), makes the cluster deliver models: leases
	// carry the packages the tasks use, and a task goes only to a worker that
	// reports its model installed (delivery.go).
	Catalog Catalog

	mu       sync.Mutex
	plans    map[string]plan.StreamPlan // desired, by stream ID
	order    []string
	assign   map[string]string // stream → worker
	members  map[string]*Member
	prevPlan *placement.Plan
	grants   map[string]placement.Grant // by task ID, merged over the task's models
	pixels   map[string]int             // stream → width×height its worker reported
	codecs   map[string]string          // stream → codec its worker reported
	leased   map[string]string          // stream → the worker whose last lease held it
	frames   map[string]*liveFrame      // stream → its latest frame from its worker, and requests for one (frames.go)
	packages []plan.Package             // what every lease carries (Catalog)

	following    bool          // another server leads: no heartbeats answered (cluster_leader.go)
	leaderEpoch  uint64        // the fencing epoch leases carry
	recoverUntil time.Time     // a new leader adopts what runs until then
	view         *followerView // the leader's view, read while following (cluster_view.go)
}

// Costs is the cost table the cluster sizes workers with: what one CPU core does.
// A worker's CPU device decodes Cores × DecodeFPS 1080p frames/s and runs each
// model at Cores × its per-core rate. When the worker reports a capacity_fps > 0,
// it caps every model's rate on the device, so the analysed frames/s the planner
// gives the worker (all models together) stay ≤ capacity_fps × TargetUtil: the
// operator's figure wins over the cost table when it is lower.
type Costs struct {
	ModelFPS        map[string]float64 // frames/s of a model on one core
	DefaultModelFPS float64            // a model not in ModelFPS, or a task without a frame model
	DecodeFPS       float64            // full-decode 1080p H.264 frames/s on one core
	// NVDECFPS is one NVDEC engine's full-decode 1080p frames/s by codec ("h264",
	// "h265"); a GPU decodes its engines × this. Codecs not named are not decoded on
	// GPUs (the source decodes only H.264 and H.265 on NVDEC).
	NVDECFPS map[string]float64
	// GPUModelFPS is a model's frames/s on one GPU at the batch size it was measured
	// at, by GPU model (NVML's name, the device class) then model: the warehouse
	// benchmark run on that class (workers' heartbeats, or validation results whose
	// device is that class). A model without a figure for a class does not run on
	// GPUs of that class: nothing is placed on a GPU on a guess.
	GPUModelFPS  map[string]map[string]float64
	KeyframeCost float64       // keyframe-only decode as a fraction of a full one (0: planner default 0.15)
	TargetUtil   float64       // share of a device planned at most (0: planner default 0.85)
	Dwell        time.Duration // a time-shared stream's turn
}

// DefaultCosts are the measured per-core numbers (docs/bench/placement.md): blazeface
// 28 ms → 39 frames/s after batching, nanodet 110 ms → 9, others assumed 20; decode
// 4 ms per 720p frame → about 250 1080p frames/s. The NVDEC rates are nominal, NOT
// measured (no GPU was available; docs/bench/gpu.md): 500 1080p frames/s per engine
// for H.264 and H.265, to be replaced by `go run ./cmd/bench -hwaccel cuda` figures.
func DefaultCosts() Costs {
	return Costs{ModelFPS: map[string]float64{"blazeface-back": 39, "nanodet": 9}, DefaultModelFPS: 20, DecodeFPS: 250,
		NVDECFPS: map[string]float64{"h264": 500, "h265": 500}, KeyframeCost: 0.15, TargetUtil: 0.85, Dwell: 10 * time.Second}
}

// Member is one remote worker as the cluster sees it.
type Member struct {
	ID          string                       `json:"id"`
	CapacityFPS float64                      `json:"capacity_fps"`
	Cores       int                          `json:"cores"`
	GPUs        []plan.GPU                   `json:"gpus"`
	LastSeen    time.Time                    `json:"last_seen"`
	Alive       bool                         `json:"alive"`
	Streams     []string                     `json:"streams"` // assigned, time-shared ones included
	Status      map[string]plan.StreamStatus `json:"status,omitempty"`
	Batchers    []plan.BatchStats            `json:"batchers,omitempty"`
	Epoch       uint64                       `json:"epoch"` // bumps when the worker's set of streams changes
	// Installed is the model versions the worker has (nil: it does not say, as the
	// embedded worker); DeliveryErrors why a package could not be installed.
	Installed      []string           `json:"installed"`
	DeliveryErrors map[string]string  `json:"delivery_errors,omitempty"`
	Shadows        []plan.ShadowStats `json:"shadows,omitempty"`
	// CPUBench is the worker's own measurement of its frame models, per batch size,
	// in frames/s per core: what its CPU is sized with (the cost table until then).
	CPUBench []plan.DeviceBench `json:"cpu_bench,omitempty"`
	// CPUFactor is the worker's measured process CPU over what its frames cost at
	// the planned rates (calibrate.go): its CPU is sized by 1/CPUFactor. 0: not
	// measured yet.
	CPUFactor float64 `json:"cpu_factor,omitempty"`

	cal          calibration
	placedFactor float64          // CPUFactor the last placement used
	Spool        *plan.SpoolStats `json:"spool,omitempty"` // writes waiting for storage on the worker
}

// NewCluster creates an empty cluster.
func NewCluster(timeout time.Duration) *Cluster {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Cluster{Timeout: timeout, Costs: DefaultCosts(), plans: map[string]plan.StreamPlan{}, assign: map[string]string{},
		members: map[string]*Member{}, grants: map[string]placement.Grant{}, pixels: map[string]int{}, codecs: map[string]string{}, leased: map[string]string{}}
}

func (c *Cluster) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Apply takes the scheduler's desired plans (the Worker interface).
func (c *Cluster) Apply(plans []plan.StreamPlan) {
	pkgs := c.packagesFor(plans) // the catalog's lookups, outside the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	c.packages = pkgs
	c.plans, c.order = map[string]plan.StreamPlan{}, nil
	for _, p := range plans {
		c.plans[p.Stream.ID] = p
		c.order = append(c.order, p.Stream.ID)
	}
	if !c.recoveringLocked() { // a new leader places once it knows what runs
		c.placeLocked()
	}
}

// Heartbeat records a worker's liveness, hardware and status and returns its lease.
func (c *Cluster) Heartbeat(hb plan.Heartbeat) plan.Lease {
	id, status := hb.ID, hb.Status
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[id]
	if m == nil {
		m = &Member{ID: id}
		c.members[id] = m
	}
	replan := m.CapacityFPS != hb.CapacityFPS || m.Cores != hb.Cores || !sameGPUs(m.GPUs, hb.GPUs) || !sameInstalled(m.Installed, hb.Installed) ||
		decodeMoved(measuredDecode(m.Status), measuredDecode(status))
	m.CapacityFPS, m.Cores, m.GPUs, m.LastSeen, m.Status, m.Batchers = hb.CapacityFPS, hb.Cores, hb.GPUs, c.now(), status, hb.Batchers
	m.Installed, m.DeliveryErrors, m.Shadows, m.Spool = hb.Installed, hb.DeliveryErrors, hb.Shadows, hb.Spool
	for s, st := range status {
		if px := st.Source.Width * st.Source.Height; px > 0 && c.pixels[s] != px {
			c.pixels[s] = px
			replan = true
		}
		if cd := st.Source.Codec; cd != "" && c.codecs[s] != cd {
			c.codecs[s] = cd
			replan = true
		}
	}
	if c.learnGPUBench(hb.Bench) {
		replan = true
	}
	if cb := cpuBench(hb.Bench); !slices.Equal(cb, m.CPUBench) {
		m.CPUBench, replan = cb, true
	}
	if c.calibrate(m, hb) {
		replan = true
	}
	if c.recoveringLocked() {
		m.Alive = true
		c.adoptLocked(m)
		return c.leaseLocked(m)
	}
	if !m.Alive {
		m.Alive = true
		replan = true // a (re)joining worker takes only what is unassigned
	}
	if replan {
		c.placeLocked()
	}
	return c.leaseLocked(m)
}

// Sweep declares workers silent for Timeout dead and re-places their streams; it
// reports whether anything moved. Run it often (every Timeout/10 or so).
func (c *Cluster) Sweep() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.following || c.recoveringLocked() {
		return false
	}
	moved, died := false, false
	for _, m := range c.members {
		if m.Alive && c.now().Sub(m.LastSeen) >= c.Timeout {
			m.Alive, m.Status, died = false, nil, true
			moved = moved || len(m.Streams) > 0
			for s, w := range c.leased {
				if w == m.ID {
					delete(c.leased, s) // it has fenced itself by now
				}
			}
		}
	}
	if died {
		c.placeLocked()
	}
	return moved
}

// taskModels is the frame models a task's algorithm runs; "" stands for an
// algorithm without one (or unknown), costed at Costs.DefaultModelFPS.
func taskModels(alg string) []string {
	if s, ok := algorithms.Lookup(alg); ok && len(s.Models) > 0 {
		return s.Models
	}
	return []string{""}
}

// placeLocked runs the planner over the live workers and the desired plans, with the
// previous plan for stickiness, and derives assignments, grants and epochs.
func (c *Cluster) placeLocked() {
	var ws []placement.Node
	models := map[string]int{} // frame model → streams using it
	var streams []placement.Stream
	for _, id := range c.order {
		p := c.plans[id]
		st := placement.Stream{ID: id, Pixels: c.pixels[id], Codec: c.codecs[id]} // 0 = 1080p; native fps 25; "" = h264
		uses := map[string]bool{}
		for _, t := range p.Tasks {
			for _, m := range c.taskKeys(t) {
				if !uses[m] {
					uses[m] = true
					models[m]++
				}
				st.Tasks = append(st.Tasks, placement.Task{ID: t.Task.ID + "/" + m, Model: m, FPS: t.FPS, MinFPS: 0.2, Priority: t.Task.Priority})
			}
		}
		streams = append(streams, st)
	}
	var alive []*Member
	for _, m := range c.members {
		if m.Alive {
			alive = append(alive, m)
		}
	}
	sort.Slice(alive, func(i, j int) bool { return alive[i].ID < alive[j].ID })
	for _, m := range alive {
		devs := append([]placement.Device{c.cpuDevice(m, models, len(alive))}, c.gpuDevices(m, models)...)
		ws = append(ws, placement.Node{ID: m.ID, Healthy: true, Devices: devs})
	}
	cfg := placement.Config{TargetUtil: c.Costs.TargetUtil, KeyframeCost: c.Costs.KeyframeCost, Dwell: c.Costs.Dwell, MinFPS: 0.2}
	if cfg.Dwell <= 0 {
		cfg.Dwell = 10 * time.Second
	}
	plan := placement.Place(cfg, ws, streams, c.prevPlan)
	c.prevPlan = &plan

	c.assign = map[string]string{}
	for s, a := range plan.Assign {
		c.assign[s] = a.Worker
	}
	c.grants = map[string]placement.Grant{}
	for _, id := range c.order {
		for _, t := range c.plans[id].Tasks {
			var g placement.Grant
			for i, m := range c.taskKeys(t) {
				mg := plan.Grants[t.Task.ID+"/"+m]
				if i == 0 {
					g = mg
					continue
				}
				fps, duty := min(g.GrantedFPS, mg.GrantedFPS), min(g.Duty, mg.Duty)
				if severity(mg.State) > severity(g.State) {
					g = mg
				}
				g.GrantedFPS, g.Duty = fps, duty
			}
			c.grants[t.Task.ID] = g
		}
	}
	for _, m := range c.members {
		c.memberStreamsLocked(m)
	}
}

// memberStreamsLocked sets m's streams from the assignments; a worker whose set
// changed gets a new epoch.
func (c *Cluster) memberStreamsLocked(m *Member) {
	var streams []string
	for s, w := range c.assign {
		if w == m.ID {
			streams = append(streams, s)
		}
	}
	sort.Strings(streams)
	if !equal(streams, m.Streams) {
		m.Streams = streams
		m.Epoch++
	}
}

func (c *Cluster) assignment(s string) (placement.Assignment, bool) {
	if c.prevPlan == nil {
		return placement.Assignment{}, false
	}
	a, ok := c.prevPlan.Assign[s]
	return a, ok
}

func severity(s placement.State) int {
	switch s {
	case placement.Degraded:
		return 1
	case placement.Rotated:
		return 2
	case placement.Unplaced:
		return 3
	}
	return 0
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// leaseLocked is what m must run now: its assigned streams, with every task at its
// granted rate, time-shared streams only during their turn, and a stream just moved
// from another live worker only once that worker has been leased it no more.
func (c *Cluster) leaseLocked(m *Member) plan.Lease {
	l := plan.Lease{WorkerID: m.ID, Epoch: m.Epoch, LeaderEpoch: c.leaderEpoch, TTL: c.Timeout, Plans: []plan.StreamPlan{}, Packages: c.packages}
	now := c.now()
	in := map[string]bool{}
	for _, s := range m.Streams {
		if w, ok := c.leased[s]; ok && w != m.ID && c.members[w] != nil && c.members[w].Alive {
			continue // still running there until its next heartbeat
		}
		if a, ok := c.assignment(s); ok && a.Rotated && a.Slot < len(c.prevPlan.Rotation) {
			sl := c.prevPlan.Rotation[a.Slot]
			if sl.Cycle > 0 {
				epoch := c.RotationEpoch
				if epoch.IsZero() {
					epoch = time.Unix(0, 0)
				}
				t := now.Sub(epoch) % sl.Cycle
				if t < 0 {
					t += sl.Cycle
				}
				if t < a.Phase || t >= a.Phase+sl.Dwell {
					continue
				}
			}
		}
		p := c.plans[s]
		if a, ok := c.assignment(s); ok {
			p.Device = a.Device // cpu, or cuda:N: NVDEC and the CUDA provider on that GPU
		} else if !c.recoverUntil.IsZero() {
			p.Device = c.runsOnLocked(m.ID, s) // adopted while recovering: where it runs
		}
		tasks := make([]plan.TaskPlan, len(p.Tasks))
		for i, t := range p.Tasks {
			if g, ok := c.grants[t.Task.ID]; ok && g.GrantedFPS > 0 && g.GrantedFPS < t.FPS {
				t.FPS = g.GrantedFPS
			}
			tasks[i] = t
		}
		p.Tasks = tasks
		l.Plans = append(l.Plans, p)
		in[s] = true
	}
	for s, w := range c.leased {
		if w == m.ID && !in[s] {
			delete(c.leased, s)
		}
	}
	var names []string
	for s := range in {
		c.leased[s] = m.ID
		names = append(names, s)
	}
	l.WantFrames = c.wantFramesLocked(names)
	return l
}

// Grants says, by task ID, what the planner gave every desired task: its state (ok,
// degraded, rotated, unplaced), granted rate and duty, and why when it is not ok. A
// task with several frame models shows the worst of them. A follower answers with
// the leader's (cluster_view.go).
func (c *Cluster) Grants() map[string]placement.Grant {
	c.mu.Lock()
	defer c.mu.Unlock()
	grants := c.grants
	if v := c.publishedLocked(); v != nil {
		grants = v.Grants
	}
	out := make(map[string]placement.Grant, len(grants))
	for k, v := range grants {
		out[k] = v
	}
	return out
}

// Members reports every worker the cluster (on a follower: the leader) has heard of.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.publishedLocked(); v != nil {
		return append([]Member(nil), v.Workers...)
	}
	return c.membersLocked()
}

// Status merges the live workers' stream status (for the API's stream views).
func (c *Cluster) Status() map[string]plan.StreamStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.publishedLocked(); v != nil {
		return statusOf(v.Workers)
	}
	return statusOf(c.membersLocked())
}
