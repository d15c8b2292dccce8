package api

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityeye/cityeye/store"
)

// feedPoll is how often the feed hub looks for new alerts; feedHoleWait is how long
// it waits at a missing alert number for the transaction that drew it to commit
// before taking it for rolled back (see store/alertfeed.go).
const (
	feedPoll     = 300 * time.Millisecond
	feedHoleWait = 5 * time.Second
)

// feedHub is the one poller behind every live alert feed: it runs while at least
// one feed is open, asks the database every feedPoll for alert numbers past its
// safe mark, and moves the mark over every contiguous run (every number at or
// below it is committed or given up for rolled back), waking the feeds when it
// moves. Each feed then reads its own scope, in SQL like every other read, up to
// the mark: so the hub holds no rights logic, and a feed sends every alert once, in
// order, and can resume from any number (Last-Event-ID) on any server. It also
// counts open feeds per user for the cap. Acknowledgements (made through any
// server) wake the feeds too: the hub watches when the latest was stored.
type feedHub struct {
	mu      sync.Mutex
	clients map[*feedClient]bool
	perUser map[string]int
	stop    context.CancelFunc
	running atomic.Int32 // poll loops running (one, whatever the number of feeds)
	safe    atomic.Int64 // every alert number ≤ safe is visible or will never be
}

type feedClient struct {
	user string
	wake chan struct{} // a pending wake-up; a slow feed's wake-ups merge
}

// join registers a feed of user unless the user holds limit feeds already; the
// first feed starts the poller from the newest alert number.
func (h *feedHub) join(ctx context.Context, user string, limit int, db *store.DB) (*feedClient, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perUser[user] >= limit {
		return nil, false, nil
	}
	if h.clients == nil {
		h.clients, h.perUser = map[*feedClient]bool{}, map[string]int{}
	}
	if h.stop == nil {
		top, err := db.MaxAlertSeq(ctx)
		if err != nil {
			return nil, false, err
		}
		h.safe.Store(top)
		acked, err := db.LastAckNoted(ctx)
		if err != nil {
			return nil, false, err
		}
		pctx, cancel := context.WithCancel(context.Background())
		h.stop = cancel
		h.running.Add(1)
		go h.poll(pctx, db, acked)
	}
	fc := &feedClient{user: user, wake: make(chan struct{}, 1)}
	h.clients[fc] = true
	h.perUser[user]++
	return fc, true, nil
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

// poll runs the hub; acked is when the latest acknowledgement was stored at start.
func (h *feedHub) poll(ctx context.Context, db *store.DB, acked time.Time) {
	defer h.running.Add(-1)
	t := time.NewTicker(feedPoll)
	defer t.Stop()
	var hole int64 // the missing number the mark waits at, since holeAt
	var holeAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		safe := h.safe.Load()
		seqs, err := db.AlertSeqsAfter(ctx, safe, 1000)
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("live feed poll", "err", err)
			}
			continue
		}
		last, err := db.LastAckNoted(ctx)
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("live feed poll", "err", err)
			}
			continue
		}
		next := advance(safe, seqs, &hole, &holeAt, time.Now())
		if next == safe && !last.After(acked) {
			continue
		}
		h.safe.Store(next)
		acked = last
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

// advance moves the safe mark over seqs (ascending, all > safe) as far as they run
// contiguously; at a hole it waits feedHoleWait from when the hole was first seen,
// then steps over it.
func advance(safe int64, seqs []int64, hole *int64, holeAt *time.Time, now time.Time) int64 {
	for _, n := range seqs {
		if n != safe+1 {
			if *hole != safe+1 {
				*hole, *holeAt = safe+1, now
			}
			if now.Sub(*holeAt) < feedHoleWait {
				return safe
			}
			slog.Debug("live feed: alert numbers never committed; skipping them", "from", safe+1, "to", n-1)
		}
		safe = n
	}
	return safe
}
