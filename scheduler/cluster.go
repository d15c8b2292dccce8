package scheduler

import (
	"sort"
	"sync"
	"time"

	"github.com/cityeye/cityeye/workers"
)

// Cluster is the scheduler's Worker in distributed mode: it holds the desired stream
// plans and spreads them over the remote workers that heartbeat in. A stream (with
// all its tasks, so it is decoded once) lives on one worker; placements are sticky
// (a new stream or a returning worker moves nothing that runs); a worker silent for
// Timeout loses its streams to the others at the next sweep.
//
// No stream runs twice: a worker stops everything itself when it has not renewed
// its lease for TTL (≤ Timeout, counted from before its last heartbeat left), and
// the cluster moves a stream only after Timeout since that heartbeat arrived.
type Cluster struct {
	Timeout time.Duration // a worker silent this long is dead (default 5 s)
	Now     func() time.Time

	mu      sync.Mutex
	plans   map[string]workers.StreamPlan // desired, by stream ID
	order   []string
	assign  map[string]string // stream → worker
	members map[string]*Member
}

// Member is one remote worker as the cluster sees it.
type Member struct {
	ID          string                          `json:"id"`
	CapacityFPS float64                         `json:"capacity_fps"`
	LastSeen    time.Time                       `json:"last_seen"`
	Alive       bool                            `json:"alive"`
	Streams     []string                        `json:"streams"`
	Status      map[string]workers.StreamStatus `json:"status,omitempty"`
	Epoch       uint64                          `json:"epoch"` // bumps when the worker's set of streams changes
}

// Lease is a heartbeat's answer: what the worker must run now, until TTL passes
// without a renewal.
type Lease struct {
	WorkerID string               `json:"worker_id"`
	Epoch    uint64               `json:"epoch"`
	TTL      time.Duration        `json:"ttl_ns"`
	Plans    []workers.StreamPlan `json:"plans"`
}

// NewCluster creates an empty cluster.
func NewCluster(timeout time.Duration) *Cluster {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Cluster{Timeout: timeout, plans: map[string]workers.StreamPlan{}, assign: map[string]string{}, members: map[string]*Member{}}
}

func (c *Cluster) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Apply takes the scheduler's desired plans (the Worker interface).
func (c *Cluster) Apply(plans []workers.StreamPlan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plans, c.order = map[string]workers.StreamPlan{}, nil
	for _, p := range plans {
		c.plans[p.Stream.ID] = p
		c.order = append(c.order, p.Stream.ID)
	}
	for s := range c.assign {
		if _, ok := c.plans[s]; !ok {
			delete(c.assign, s)
		}
	}
	c.placeLocked()
}

// Heartbeat records a worker's liveness and status and returns its lease.
func (c *Cluster) Heartbeat(id string, capacityFPS float64, status map[string]workers.StreamStatus) Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[id]
	if m == nil {
		m = &Member{ID: id}
		c.members[id] = m
	}
	m.CapacityFPS, m.LastSeen, m.Status = capacityFPS, c.now(), status
	if !m.Alive {
		m.Alive = true
		c.placeLocked() // a (re)joining worker takes only unassigned streams
	}
	return c.leaseLocked(m)
}

// Sweep declares workers silent for Timeout dead and re-places their streams; it
// reports whether anything moved. Run it often (every Timeout/10 or so).
func (c *Cluster) Sweep() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	moved := false
	for _, m := range c.members {
		if m.Alive && c.now().Sub(m.LastSeen) >= c.Timeout {
			m.Alive, m.Status = false, nil
			for s, w := range c.assign {
				if w == m.ID {
					delete(c.assign, s)
					moved = true
				}
			}
		}
	}
	if moved {
		c.placeLocked()
	}
	return moved
}

// placeLocked gives every unassigned stream to the live worker with the lowest
// load relative to its capacity. Assigned streams never move here.
func (c *Cluster) placeLocked() {
	var alive []*Member
	for _, m := range c.members {
		if m.Alive {
			alive = append(alive, m)
		}
	}
	sort.Slice(alive, func(i, j int) bool { return alive[i].ID < alive[j].ID })
	load := map[string]float64{}
	for s, w := range c.assign {
		load[w] += demand(c.plans[s])
	}
	for _, s := range c.order {
		if _, ok := c.assign[s]; ok || len(alive) == 0 {
			continue
		}
		best, bestLoad := "", 0.0
		for _, m := range alive {
			l := load[m.ID] / max(m.CapacityFPS, 1)
			if best == "" || l < bestLoad {
				best, bestLoad = m.ID, l
			}
		}
		c.assign[s] = best
		load[best] += demand(c.plans[s])
	}
	// epochs: a worker whose set changed gets a new one
	for _, m := range c.members {
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
}

func demand(p workers.StreamPlan) float64 {
	d := 0.0
	for _, t := range p.Tasks {
		d += t.FPS
	}
	return d
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

func (c *Cluster) leaseLocked(m *Member) Lease {
	l := Lease{WorkerID: m.ID, Epoch: m.Epoch, TTL: c.Timeout, Plans: []workers.StreamPlan{}}
	for _, s := range m.Streams {
		l.Plans = append(l.Plans, c.plans[s])
	}
	return l
}

// Members reports every worker the cluster has heard of.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Member
	for _, m := range c.members {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Status merges the live workers' stream status (for the API's stream views).
func (c *Cluster) Status() map[string]workers.StreamStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]workers.StreamStatus{}
	for _, m := range c.members {
		if m.Alive {
			for id, st := range m.Status {
				out[id] = st
			}
		}
	}
	return out
}
