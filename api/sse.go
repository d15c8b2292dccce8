package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

// streamAlerts is the live feed (Server-Sent Events) of alerts the caller may see,
// optionally filtered by kinds and area. It reads the database, so alerts raised by
// any worker process appear.
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
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	c.Writer.Flush()
	after := time.Now() // alerts' creation times are wall-clock
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.Request.Context().Done():
			return
		case <-tick.C:
		}
		as, err := s.DB.ListAlerts(c, store.AlertFilter{Scope: p.Scope(), After: after, Limit: 100})
		if err != nil {
			return
		}
		for i := len(as) - 1; i >= 0; i-- { // oldest first
			a := as[i]
			if a.CreatedAt.After(after) {
				after = a.CreatedAt
			}
			if len(kinds) > 0 && !kinds[a.Kind] || area != "" && !strings.HasPrefix(a.Division, auth.AreaPrefix(area)) {
				continue
			}
			b, _ := json.Marshal(gin.H{"id": a.ID, "kind": a.Kind, "level": a.Level, "device_id": a.DeviceID, "longitude": a.Longitude,
				"latitude": a.Latitude, "time": a.Time, "zone": a.Zone, "image": s.Objects.URI(a.Image)})
			fmt.Fprintf(c.Writer, "id: %s\nevent: alert\ndata: %s\n\n", a.ID, b)
		}
		c.Writer.Flush()
	}
}
