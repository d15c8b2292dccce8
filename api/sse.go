package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

// DefaultFeedRecheck is how often a live feed re-checks its caller's token by
// default; DefaultFeedMaxPerUser is how many feeds one user may hold open.
const (
	DefaultFeedRecheck    = 5 * time.Second
	DefaultFeedMaxPerUser = 3
)

// streamAlerts is the live feed (Server-Sent Events) of alerts the caller may see,
// optionally filtered by kinds and area. One poller (feedHub) watches the database
// for all feeds, so alerts raised by any worker process appear; a feed reads its
// own scope only when the poller saw something new. The caller's token is checked
// again every FeedRecheck and the feed ends when it is revoked, expired or its user
// disabled. Opening and closing are in the audit trail. Each event's id is the
// alert's number (alerts.seq): a client that reconnects with Last-Event-ID receives
// every alert after it exactly once, from whichever server it reaches.
func streamAlerts(s *Server, c *gin.Context) {
	p := who(c)
	kinds := map[string]bool{}
	for _, k := range strings.Split(c.Query("kinds"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			kinds[k] = true
		}
	}
	area := c.Query("area")
	if area != "" && !divisionRE.MatchString(area) {
		fail(c, http.StatusBadRequest, "area", "area: a 6-digit GB/T 2260 code")
		return
	}
	limit := s.FeedMaxPerUser
	if limit <= 0 {
		limit = DefaultFeedMaxPerUser
	}
	// a map that reconnects says what it saw last (the browser's EventSource does
	// it by itself) and gets everything after it
	var cursor int64
	resume := c.GetHeader("Last-Event-ID")
	if resume != "" {
		n, err := strconv.ParseInt(resume, 10, 64)
		if err != nil || n < 0 {
			fail(c, http.StatusBadRequest, "Last-Event-ID", "Last-Event-ID: the id of the last event received, a number")
			return
		}
		cursor = n
	}
	fc, ok, err := s.feed.join(c, p.User.ID, limit, s.DB)
	if err != nil {
		storeErr(c, err, "alerts")
		return
	}
	if !ok {
		s.auditFeed(c, "alerts.feed.open", http.StatusTooManyRequests, fmt.Sprintf("over %d open feeds", limit))
		fail(c, http.StatusTooManyRequests, "", fmt.Sprintf("at most %d live feeds per user; close one first", limit))
		return
	}
	if resume == "" {
		cursor = s.feed.safe.Load()
	}
	ackAfter := time.Now() // acknowledgements stored from now on (wall clock, as the store notes them)
	defer s.feed.leave(fc)
	if err := s.auditFeed(c, "alerts.feed.open", http.StatusOK, c.Request.URL.RawQuery); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "audit log unavailable, feed refused")
		return
	}
	sent, acked, opened, ended := 0, 0, time.Now(), "client left"
	defer func() {
		s.auditFeed(c, "alerts.feed.close", http.StatusOK, fmt.Sprintf("%d alerts sent in %s, %d acknowledgements; %s", sent, time.Since(opened).Round(time.Second), acked, ended))
	}()
	wanted := func(a store.Alert) bool {
		return (len(kinds) == 0 || kinds[a.Kind]) && (area == "" || strings.HasPrefix(a.Division, auth.AreaPrefix(area)))
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	c.Writer.Flush()
	recheck := s.FeedRecheck
	if recheck <= 0 {
		recheck = DefaultFeedRecheck
	}
	tok := strings.TrimSpace(strings.TrimPrefix(c.GetHeader("Authorization"), "Bearer "))
	check := time.NewTicker(recheck)
	defer check.Stop()
	for {
		// everything this feed may see up to the hub's safe mark, oldest first
		for upto := s.feed.safe.Load(); cursor < upto; {
			as, err := s.DB.AlertsAfter(c.Request.Context(), p.Scope(), cursor, upto, 200)
			if err != nil {
				ended = "database error"
				return
			}
			if len(as) == 0 {
				cursor = upto
				break
			}
			for _, a := range as {
				cursor = a.Seq
				if !wanted(a) {
					continue
				}
				b, _ := json.Marshal(gin.H{"id": a.ID, "kind": a.Kind, "level": a.Level, "device_id": a.DeviceID, "longitude": a.Longitude,
					"latitude": a.Latitude, "time": a.Time, "zone": a.Zone, "image": s.Objects.URI(a.Image)})
				fmt.Fprintf(c.Writer, "id: %d\nevent: alert\ndata: %s\n\n", a.Seq, b)
				sent++
			}
			if len(as) < 200 {
				cursor = upto
			}
		}
		// acknowledgements made anywhere, so every open map shows who took an alert
		// (no event id: a reconnecting map re-reads the alerts' state from the API)
		acks, err := s.DB.ListAcked(c.Request.Context(), p.Scope(), ackAfter, 100)
		if err != nil {
			ended = "database error"
			return
		}
		for _, a := range acks {
			ackAfter = a.AckNoted
			if !wanted(a) {
				continue
			}
			b, _ := json.Marshal(gin.H{"id": a.ID, "acked_by": a.AckedBy, "acked_at": a.AckedAt})
			fmt.Fprintf(c.Writer, "event: ack\ndata: %s\n\n", b)
			acked++
		}
		c.Writer.Flush()
		select {
		case <-c.Request.Context().Done():
			return
		case <-check.C:
			np, err := s.DB.Authenticate(c.Request.Context(), tok, s.now())
			if err != nil || !slices.Contains(readers.roles, np.User.Role) || np.User.ID != p.User.ID {
				ended = "credentials no longer valid"
				fmt.Fprintf(c.Writer, "event: end\ndata: {\"reason\":\"credentials no longer valid\"}\n\n")
				c.Writer.Flush()
				return
			}
			p = np // a changed department or role changes what the feed may show
		case <-fc.wake:
		}
	}
}
