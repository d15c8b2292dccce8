package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/workers/plan"
	"github.com/gin-gonic/gin"
)

// A follower forwards a worker's heartbeat to the scheduler leader, at the URL the
// leader published in the shared database, and relays its answer: a worker that
// knows one server (or a load balancer's address) gets its lease from whichever
// server leads. Only a heartbeat that passed this server's checks (a worker token
// bound to the worker's ID) is forwarded, with its token, so the leader checks it
// again; a forwarded heartbeat is never forwarded again (two servers that each
// think the other leads answer 503), and the lease keeps the leader's epoch, which
// the worker checks as always.

// forwardedHeader marks a heartbeat a follower forwarded.
const forwardedHeader = "X-CityEye-Forwarded-Heartbeat"

// forwardClient follows no redirect.
var forwardClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// forwardHeartbeat relays hb to the leader and its answer to the worker; false when
// there is no leader to forward to or it could not be reached (the caller answers
// 503 and the worker tries another server).
func (s *Server) forwardHeartbeat(c *gin.Context, hb plan.Heartbeat) bool {
	leader := s.Cluster.LeaderURL()
	if leader == "" || c.GetHeader(forwardedHeader) != "" {
		return false
	}
	body, err := json.Marshal(hb)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), max(s.Cluster.Timeout, time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, leader+"/api/v1/workers/heartbeat", bytes.NewReader(body))
	if err != nil {
		slog.Warn("heartbeat forward: the leader's published URL is not valid", "url", leader, "err", err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.GetHeader("Authorization"))
	req.Header.Set(forwardedHeader, "1")
	resp, err := forwardClient.Do(req)
	if err != nil {
		slog.Warn("heartbeat forward to the leader failed", "worker", hb.ID, "leader", leader, "err", err)
		return false
	}
	defer resp.Body.Close()
	out, err := netguard.ReadAll(resp.Body, 64<<20)
	if err != nil || resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode/100 == 3 {
		return false // it no longer leads, or something else answers there
	}
	c.Data(resp.StatusCode, "application/json; charset=utf-8", out)
	return true
}
