package scheduler

import (
	"errors"
	"time"

	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/workers/plan"
)

// ErrNotLeader: this server does not lead the scheduler now; a worker sends its
// heartbeat to another.
var ErrNotLeader = errors.New("this server does not lead the scheduler now; send heartbeats to another server")

// With several API servers one leads (Elector) and only its Cluster answers
// heartbeats. A new leader knows nothing of what runs where, so for Timeout after
// taking over it recovers: each worker that heartbeats keeps the desired streams it
// reports running (the first to report a stream keeps it; a second one is leased
// without it and stops it), and nothing else is placed. After Timeout every worker
// still running something under the old leader has either reported or fenced
// itself (its lease ran out), so the planner then places the rest, starting from
// what was adopted. Leases carry the leader's epoch, which workers check.

// Lead makes the cluster answer heartbeats as the leader of epoch, starting with
// the recovery described above.
func (c *Cluster) Lead(epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.following, c.leaderEpoch = false, epoch
	c.recoverUntil = c.now().Add(c.Timeout)
	for _, m := range c.members {
		m.Alive, m.Status, m.Streams = false, nil, nil
	}
	c.assign, c.leased, c.prevPlan, c.grants = map[string]string{}, map[string]string{}, nil, map[string]placement.Grant{}
}

// Follow stops answering heartbeats (another server leads).
func (c *Cluster) Follow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.following = true
}

// Leading reports whether the cluster answers heartbeats, and its epoch.
func (c *Cluster) Leading() (bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.following, c.leaderEpoch
}

// Serve is Heartbeat for the API: ErrNotLeader while another server leads.
func (c *Cluster) Serve(hb plan.Heartbeat) (plan.Lease, error) {
	c.mu.Lock()
	following := c.following
	c.mu.Unlock()
	if following {
		return plan.Lease{}, ErrNotLeader
	}
	return c.Heartbeat(hb), nil
}

// recoveringLocked reports whether the leader is still recovering; the first call
// after recovery places everything, starting from what was adopted.
func (c *Cluster) recoveringLocked() bool {
	if c.recoverUntil.IsZero() {
		return false
	}
	if c.now().Before(c.recoverUntil) {
		return true
	}
	c.recoverUntil = time.Time{}
	prev := &placement.Plan{Assign: map[string]placement.Assignment{}}
	for s, w := range c.assign {
		prev.Assign[s] = placement.Assignment{Worker: w, Device: c.runsOnLocked(w, s), Cost: 1}
	}
	c.prevPlan = prev
	c.placeLocked()
	return false
}

// runsOnLocked is the device worker w reports stream s running on: a GPU it
// reports, else its CPU. A stream adopted there keeps its device, since a device
// change reopens the stream on the worker (a GPU stream would restart on the CPU).
func (c *Cluster) runsOnLocked(w, s string) string {
	if m := c.members[w]; m != nil {
		d := m.Status[s].Device
		for _, g := range m.GPUs {
			if d == g.DeviceID() {
				return d
			}
		}
	}
	return "cpu"
}

// adoptLocked gives m the desired streams it reports running that no other worker
// has been given.
func (c *Cluster) adoptLocked(m *Member) {
	for s := range m.Status {
		if _, desired := c.plans[s]; desired && c.assign[s] == "" {
			c.assign[s] = m.ID
		}
	}
	c.memberStreamsLocked(m)
}
