package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/cityeye/cityeye/store"
)

// With several API servers on one database, a link must be run by exactly one of
// them: two would both sign in at the superior as the same device and push the same
// outbox. The scheduler leader runs every link (the leader is elected and fenced
// already, and a new one takes over within the heartbeat timeout when it dies); the
// others only serve the configuration routes. A server that stops leading drops its
// links' sessions without signing out (the new leader signs in as the same device)
// and cancels a pass in flight.

// leadsScheduler reports whether this server runs what one server does for all:
// the scheduler leader, or any server without a cluster of remote workers.
func (s *Server) leadsScheduler() bool {
	if s.Cluster == nil {
		return true
	}
	leading, _ := s.Cluster.Leading()
	return leading
}

// RunCascade runs every enabled link every interval while this server leads, until
// ctx ends: register, keepalive, move the cursor into the outbox, push the outbox.
// A link's steps never overlap; links do not wait for each other.
func (s *Server) RunCascade(ctx context.Context, every time.Duration) {
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		var term context.Context // while leading
		stop := context.CancelFunc(func() {})
		for {
			switch leading := s.leadsScheduler(); {
			case leading && term == nil:
				term, stop = context.WithCancel(ctx)
			case !leading && term != nil:
				stop()
				term = nil
				s.forgetCascadeSessions()
				slog.Info("cascade links: this server no longer leads; the new leader runs them")
			}
			if term != nil {
				s.cascadePass(term)
			}
			select {
			case <-ctx.Done():
				stop()
				return
			case <-t.C:
			}
		}
	}()
}

// cascadePass starts a step of every link not running one; a link removed on any
// server is signed out at its superior.
func (s *Server) cascadePass(ctx context.Context) {
	ls, err := s.DB.ListCascadeLinks(ctx)
	if err != nil {
		if ctx.Err() == nil {
			slog.Error("cascade links", "err", err)
		}
		return
	}
	listed := map[string]bool{}
	for _, l := range ls {
		listed[l.ID] = true
		rt := s.cascadeRuntime(l.ID)
		if (!l.Enabled && !rt.snapshot().Registered) || !rt.busy.CompareAndSwap(false, true) {
			continue
		}
		go func() {
			defer rt.busy.Store(false)
			if l.Enabled {
				s.cascadeStep(ctx, rt, l)
			} else {
				s.cascadeUnregister(ctx, rt, l) // paused: sign out at the superior
			}
		}()
	}
	for id, rt := range s.cascadeRuntimes() {
		if listed[id] || !rt.busy.CompareAndSwap(false, true) {
			continue
		}
		rt.mu.Lock()
		l, signedIn := rt.link, rt.registered
		rt.mu.Unlock()
		go func() {
			defer rt.busy.Store(false)
			if signedIn {
				s.cascadeUnregister(ctx, rt, l)
			}
			s.dropCascadeRuntime(id)
		}()
	}
}

// cascadeRuntimes is every link's state in this process, by link ID.
func (s *Server) cascadeRuntimes() map[string]*linkRuntime {
	s.cascade.mu.Lock()
	defer s.cascade.mu.Unlock()
	out := make(map[string]*linkRuntime, len(s.cascade.links))
	for id, rt := range s.cascade.links {
		out[id] = rt
	}
	return out
}

// forgetCascadeSessions marks every link signed out here, so that this server
// signs in again should it lead again.
func (s *Server) forgetCascadeSessions() {
	for _, rt := range s.cascadeRuntimes() {
		rt.mu.Lock()
		rt.registered, rt.link = false, store.CascadeLink{}
		rt.mu.Unlock()
	}
}
