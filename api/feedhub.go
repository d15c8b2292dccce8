package api

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

// feedPoll is how often the feed hub looks for new alerts.
const feedPoll = 300 * time.Millisecond

// feedHub is the one poller behind every live alert feed: it runs while at least
// one feed is open, asks the database every feedPoll whether any alert arrived,
// and wakes the feeds when one did. Which alerts a feed may see is decided by its
// own scoped query, in SQL like every other read, so the hub holds no rights
// logic. It also counts open feeds per user for the cap.
type feedHub struct {
	mu      sync.Mutex
	clients map[*feedClient]bool
	perUser map[string]int
	stop    context.CancelFunc
	running atomic.Int32 // poll loops running (one, whatever the number of feeds)
}

type feedClient struct {
	user string
	wake chan struct{} // a pending wake-up; a slow feed's wake-ups merge
}

// join registers a feed of user unless the user holds limit feeds already; the
// first feed starts the poller, watching from since.
func (h *feedHub) join(user string, limit int, since time.Time, db *store.DB) (*feedClient, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perUser[user] >= limit {
		return nil, false
	}
	if h.clients == nil {
		h.clients, h.perUser = map[*feedClient]bool{}, map[string]int{}
	}
	fc := &feedClient{user: user, wake: make(chan struct{}, 1)}
	h.clients[fc] = true
	h.perUser[user]++
	if h.stop == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stop = cancel
		h.running.Add(1)
		go h.poll(ctx, db, since)
	}
	return fc, true
}

// leave unregisters a feed; the last one stops the poller.
func (h *feedHub) leave(fc *feedClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, fc)
	if h.perUser[fc.user]--; h.perUser[fc.user] <= 0 {
		delete(h.perUser, fc.user)
	}
	if len(h.clients) == 0 && h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// pollers reports how many poll loops are running.
func (h *feedHub) pollers() int { return int(h.running.Load()) }

func (h *feedHub) poll(ctx context.Context, db *store.DB, cursor time.Time) {
	defer h.running.Add(-1)
	t := time.NewTicker(feedPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		as, err := db.ListAlerts(ctx, store.AlertFilter{Scope: auth.Scope{All: true}, After: cursor, Limit: 1000})
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("live feed poll", "err", err)
			}
			continue
		}
		if len(as) == 0 {
			continue
		}
		for _, a := range as {
			if a.CreatedAt.After(cursor) {
				cursor = a.CreatedAt
			}
		}
		h.mu.Lock()
		for fc := range h.clients {
			select {
			case fc.wake <- struct{}{}:
			default:
			}
		}
		h.mu.Unlock()
	}
}
