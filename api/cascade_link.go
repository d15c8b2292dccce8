package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/store"
)

// A cascade link's life at run time: it registers with the superior (HTTP Digest),
// keeps alive every keepalive_s, and registers again after any failure, waiting a
// backoff that doubles up to CascadeMaxBackoff. The state lives in memory and is
// shown by the API and /metrics; what must survive a crash (the cursors and the
// outbox) is in the database.

// CascadeMaxBackoff is the longest wait between attempts on a failing link.
const CascadeMaxBackoff = 30 * time.Second

// linkRuntime is one link's state in this process.
type linkRuntime struct {
	busy atomic.Bool // a step runs; steps of one link never overlap

	mu           sync.Mutex
	key          string            // the settings the client was made for
	link         store.CascadeLink // as last run
	client       *http.Client
	registered   bool
	registeredAt time.Time
	keepaliveAt  time.Time
	nextTry      time.Time
	backoff      time.Duration
	lastError    string
	lastErrorAt  time.Time
	pushed       int64 // objects the superior took, updates included
	updates      int64
	refused      int64
	failures     int64
}

// LinkStatus is what the API and /metrics show of a link.
type LinkStatus struct {
	Registered   bool      `json:"registered"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	KeepaliveAt  time.Time `json:"last_keepalive_at,omitzero"`
	NextTry      time.Time `json:"next_try_at,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	Pushed       int64     `json:"pushed_objects"`
	Updates      int64     `json:"pushed_updates"`
	Refused      int64     `json:"refused_objects"`
	Failures     int64     `json:"failures"`
}

func (rt *linkRuntime) snapshot() LinkStatus {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return LinkStatus{Registered: rt.registered, RegisteredAt: rt.registeredAt, KeepaliveAt: rt.keepaliveAt, NextTry: rt.nextTry,
		LastError: rt.lastError, LastErrorAt: rt.lastErrorAt, Pushed: rt.pushed, Updates: rt.updates, Refused: rt.refused, Failures: rt.failures}
}

// fail records a failure: the session is considered lost (register again) and the
// next attempt waits the backoff.
func (rt *linkRuntime) fail(err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.registered = false
	rt.failures++
	rt.lastError, rt.lastErrorAt = err.Error(), time.Now().UTC()
	rt.backoff = min(max(2*rt.backoff, time.Second), CascadeMaxBackoff)
	rt.nextTry = time.Now().Add(rt.backoff)
}

type cascadeState struct {
	mu    sync.Mutex
	links map[string]*linkRuntime
}

func (s *Server) cascadeRuntime(id string) *linkRuntime {
	s.cascade.mu.Lock()
	defer s.cascade.mu.Unlock()
	if s.cascade.links == nil {
		s.cascade.links = map[string]*linkRuntime{}
	}
	rt := s.cascade.links[id]
	if rt == nil {
		rt = &linkRuntime{}
		s.cascade.links[id] = rt
	}
	return rt
}

func (s *Server) dropCascadeRuntime(id string) {
	s.cascade.mu.Lock()
	defer s.cascade.mu.Unlock()
	delete(s.cascade.links, id)
}

// linkClient is the link's HTTP client: Digest answered by the digest package, every
// connection through the outbound guard (no internal address unless allowed, no
// redirect), made again when the link's address or account changes.
func (s *Server) linkClient(rt *linkRuntime, l store.CascadeLink) *http.Client {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	key := l.URL + "\x00" + l.Username + "\x00" + l.Password
	if rt.client == nil || rt.key != key {
		c := s.Outbound.Client(netguard.Options{Timeout: 20 * time.Second})
		c.Transport = &digest.Transport{Username: l.Username, Password: l.Password, Base: c.Transport}
		rt.client, rt.key, rt.registered = c, key, false
	}
	return rt.client
}

// errSession: the superior does not know our session (it restarted, or expired
// it): register again.
var errSession = errors.New("not signed in there (register again)")

// viidCall sends a VIID request as identify (User-Identify) and checks the
// answer: a 2xx whose ResponseStatusObjects (if any) are StatusCode 0. For a batch
// of objects (ids, in the order sent) the refused ones are returned instead: by
// each status's Id, or by its position where the peer leaves Id out. Errors name
// the address but not why it could not be reached (netguard.Public), so they map
// no network.
func (s *Server) viidCall(ctx context.Context, c *http.Client, method, addr, identify string, body []byte, ids []string, header ...func(http.Header)) (refused []string, status int, err error) {
	req, err := http.NewRequestWithContext(ctx, method, addr, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: not a valid URL", method, addr)
	}
	req.Header.Set("Content-Type", "application/VIID+JSON;charset=UTF-8")
	req.Header.Set("User-Identify", identify)
	for _, h := range header { // e.g. a webhook's signature
		h(req.Header)
	}
	resp, err := c.Do(req)
	if err != nil {
		slog.Warn("VIID request failed", "to", addr, "err", err)
		return nil, 0, fmt.Errorf("%s %s: %s", method, addr, netguard.Public(err))
	}
	defer resp.Body.Close()
	rb, _ := netguard.ReadAll(resp.Body, 1<<20)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, resp.StatusCode, fmt.Errorf("%s answered %s: %w", addr, resp.Status, errSession)
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp.StatusCode, fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	if sts, err := gat1400.DecodeResponseStatuses(rb); err == nil {
		for i, st := range sts {
			id := st.ID
			if id == "" && len(sts) == len(ids) {
				id = ids[i]
			}
			switch {
			case st.StatusCode == gat1400.StatusOK:
			case ids == nil || id == "":
				return nil, resp.StatusCode, fmt.Errorf("%s refused it: StatusCode %d %s", addr, st.StatusCode, st.StatusString)
			default:
				refused = append(refused, id)
			}
		}
	}
	return refused, resp.StatusCode, nil
}

// register signs in at the superior: POST /VIID/System/Register with our device ID,
// the Digest challenge answered by the client.
func (s *Server) cascadeRegister(ctx context.Context, c *http.Client, l store.CascadeLink) error {
	body, _ := json.Marshal(map[string]any{"RegisterObject": map[string]any{"DeviceID": l.DeviceID}})
	_, _, err := s.linkCall(ctx, c, l, http.MethodPost, "/VIID/System/Register", body, nil)
	return err
}

func (s *Server) cascadeKeepalive(ctx context.Context, c *http.Client, l store.CascadeLink) error {
	body, _ := json.Marshal(map[string]any{"KeepaliveObject": map[string]any{"DeviceID": l.DeviceID}})
	_, _, err := s.linkCall(ctx, c, l, http.MethodPost, "/VIID/System/Keepalive", body, nil)
	return err
}

// cascadeUnregister signs out at the superior (best effort: the superior's session
// expires anyway) and forgets the session.
func (s *Server) cascadeUnregister(ctx context.Context, rt *linkRuntime, l store.CascadeLink) {
	body, _ := json.Marshal(map[string]any{"UnRegisterObject": map[string]any{"DeviceID": l.DeviceID}})
	if _, _, err := s.linkCall(ctx, s.linkClient(rt, l), l, http.MethodPost, "/VIID/System/UnRegister", body, nil); err != nil {
		slog.Info("cascade unregister", "link", l.ID, "err", err)
	}
	rt.mu.Lock()
	rt.registered = false
	rt.mu.Unlock()
}

// linkCall is viidCall to the superior as the link's device.
func (s *Server) linkCall(ctx context.Context, c *http.Client, l store.CascadeLink, method, path string, body []byte, ids []string) ([]string, int, error) {
	return s.viidCall(ctx, c, method, l.URL+path, l.DeviceID, body, ids)
}

// cascadeStep is one pass of a link.
func (s *Server) cascadeStep(ctx context.Context, rt *linkRuntime, l store.CascadeLink) {
	rt.mu.Lock()
	rt.link = l // to sign out if the link is removed on another server
	rt.mu.Unlock()
	c := s.linkClient(rt, l)
	now := time.Now()
	st := rt.snapshot()
	if now.Before(st.NextTry) {
		return
	}
	if !st.Registered {
		if err := s.cascadeRegister(ctx, c, l); err != nil {
			rt.fail(fmt.Errorf("register: %w", err))
			return
		}
		rt.mu.Lock()
		rt.registered, rt.registeredAt, rt.keepaliveAt, rt.backoff = true, now.UTC(), now.UTC(), 0
		rt.mu.Unlock()
	} else if now.Sub(st.KeepaliveAt) >= time.Duration(l.KeepaliveS)*time.Second {
		if err := s.cascadeKeepalive(ctx, c, l); err != nil {
			rt.fail(fmt.Errorf("keepalive: %w", err))
			return
		}
		rt.mu.Lock()
		rt.keepaliveAt = now.UTC()
		rt.mu.Unlock()
	}
	for range 20 { // a backlog drains over passes, in order
		if err := s.cascadeDispatch(ctx, l, now); err != nil {
			if ctx.Err() == nil {
				slog.Error("cascade dispatch", "link", l.ID, "err", err)
			}
			return
		}
		b, err := s.DB.NextCascadeBatch(ctx, l.ID)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				slog.Error("cascade outbox", "link", l.ID, "err", err)
			}
			return
		}
		if err := s.pushBatch(ctx, rt, c, l, b); err != nil {
			rt.fail(fmt.Errorf("push: %w", err))
			return
		}
		if l, err = s.DB.GetCascadeLink(ctx, l.ID); err != nil {
			return // removed meanwhile
		}
	}
}

// CascadeBatch is the most records one outbox batch holds.
const CascadeBatch = 50

// cascadeDispatch moves what the link's rules allow, past its cursors, into one
// outbox batch (the same transaction moves the cursors).
func (s *Server) cascadeDispatch(ctx context.Context, l store.CascadeLink, now time.Time) error {
	f := l.Feed(now.Add(-NotifySettle), CascadeBatch)
	page, err := s.DB.ReadFeed(ctx, f)
	if err != nil {
		return err
	}
	n := page.Next
	if len(page.Added)+len(page.Updated) == 0 && n.AddAt == f.AddAt && n.AddID == f.AddID && n.UpdAt-f.UpdAt < 10_000 {
		return nil // nothing new: the change cursor moves on at most every 10 s
	}
	var b *store.CascadeBatch
	if len(page.Added)+len(page.Updated) > 0 {
		b = &store.CascadeBatch{ID: "batch-" + newID()}
		for _, r := range page.Added {
			b.Adds = append(b.Adds, r.ID)
		}
		for _, r := range page.Updated {
			b.Updates = append(b.Updates, r.ID)
		}
	}
	err = s.DB.CascadeDispatch(ctx, l, b, page.Next)
	if errors.Is(err, store.ErrConflict) {
		return nil // a concurrent pass (another server) took this page
	}
	return err
}
