package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/cityeye/cityeye/scheduler/placement"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers/plan"
)

// Only the leader hears the workers, but a user behind a load balancer reaches any
// server: the leader publishes its view (workers and grants) and the URL it answers
// on in the database (PublishView, every second), and a follower reads it
// (LoadView) and shows it as its own Members, Grants and Status. A follower also
// forwards a worker's heartbeat to that URL (api), so a worker that knows one
// server only still gets its lease.

// View is the leader's view of the workers as published.
type View struct {
	Workers []Member                   `json:"workers"`
	Grants  map[string]placement.Grant `json:"grants"`
}

// followerView is the leader's view as a follower last read it.
type followerView struct {
	View
	url   string
	epoch uint64
	at    time.Time
}

// PublishView writes the cluster's view and url under the leadership l.
func PublishView(ctx context.Context, l *store.Leadership, c *Cluster, url string) error {
	b, err := json.Marshal(View{Workers: c.Members(), Grants: c.Grants()})
	if err != nil {
		return err
	}
	return l.Publish(ctx, url, b)
}

// LoadView reads what the leader published into a following cluster.
func LoadView(ctx context.Context, db *store.DB, c *Cluster) error {
	lv, err := db.LeaderView(ctx)
	if err != nil {
		return err
	}
	fv := &followerView{url: lv.URL, epoch: lv.Epoch, at: lv.At}
	if len(lv.View) > 0 {
		if err := json.Unmarshal(lv.View, &fv.View); err != nil {
			return fmt.Errorf("the leader's view: %w", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.view = fv
	return nil
}

// loadAddress takes a new leader's URL at once (its view follows at the next
// LoadView); it reports whether the leader changed.
func loadAddress(ctx context.Context, db *store.DB, c *Cluster) (bool, error) {
	epoch, url, err := db.LeaderAddress(ctx)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.view != nil && c.view.epoch == epoch && c.view.url == url {
		return false, nil
	}
	if c.view == nil {
		c.view = &followerView{}
	}
	c.view.epoch, c.view.url = epoch, url
	return true, nil
}

// LeaderURL is where the leader answers heartbeats, as it published it ("" while
// this cluster leads, or before a leader published one).
func (c *Cluster) LeaderURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.following || c.view == nil {
		return ""
	}
	return c.view.url
}

// ViewAt is when the view Members, Grants and Status return was taken: now on the
// leader, when the leader published it on a follower (zero before any).
func (c *Cluster) ViewAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.following {
		return c.now()
	}
	if c.view == nil {
		return time.Time{}
	}
	return c.view.at
}

// publishedLocked is the leader's view while following (nil while leading); a
// follower that has read none yet has an empty one.
func (c *Cluster) publishedLocked() *View {
	if !c.following {
		return nil
	}
	if c.view == nil {
		return &View{}
	}
	return &c.view.View
}

// membersLocked is every worker this cluster heard of, sorted by ID.
func (c *Cluster) membersLocked() []Member {
	var out []Member
	for _, m := range c.members {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// statusOf merges the live workers' stream status.
func statusOf(ms []Member) map[string]plan.StreamStatus {
	out := map[string]plan.StreamStatus{}
	for _, m := range ms {
		if m.Alive {
			for id, st := range m.Status {
				out[id] = st
			}
		}
	}
	return out
}
