package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
)

// The audit trail is read here and written only by what it records: reads of
// evidence, and every way data leaves the platform (subscription pushes, webhooks,
// live feed sessions). There is deliberately no route that changes or deletes an
// entry.

// auditDelivery records one push of a notification before it leaves: the user who
// set the subscription up, which subscription, where to and how many items.
func (s *Server) auditDelivery(ctx context.Context, sub store.Subscription, n store.Notification) error {
	action := "subscription.push"
	switch sub.Kind {
	case "alerts":
		action = "webhook.push"
	case "disposition":
		action = "disposition.push"
	}
	return s.DB.Audit(ctx, &store.AuditEntry{At: s.now(), UserID: sub.UserID, DeptID: sub.DeptID, Action: action, Target: sub.ID,
		Status: http.StatusOK, Detail: fmt.Sprintf("notification %s: %d items to %s (attempt %d)", n.ID, len(n.Items), sub.ReceiveAddr, n.Attempts+1)})
}

// auditFeed records a live feed session opening or closing for the caller of c;
// it runs on its own context so the close is recorded after the client left.
func (s *Server) auditFeed(c *gin.Context, action string, status int, detail string) error {
	p := who(c)
	return s.DB.Audit(context.WithoutCancel(c.Request.Context()), &store.AuditEntry{At: s.now(), UserID: p.User.ID, DeptID: p.Dept.ID,
		TokenID: p.TokenID, Action: action, Target: c.Request.URL.RequestURI(), Remote: c.ClientIP(), Status: status, Detail: detail})
}

func listAudit(s *Server, c *gin.Context) {
	f := store.AuditFilter{UserID: c.Query("user_id"), DeptID: c.Query("department"), Action: c.Query("action"), Target: c.Query("target")}
	if !timeParams(c, map[string]*time.Time{"from": &f.From, "to": &f.To}) || !pageParams(c, &f.Offset, &f.Limit) {
		return
	}
	es, err := s.DB.ListAudit(c, f)
	if err != nil {
		storeErr(c, err, "audit log")
		return
	}
	c.JSON(http.StatusOK, gin.H{"entries": orEmpty(es), "total": len(es)})
}

func getAudit(s *Server, c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		fail(c, http.StatusBadRequest, "id", "id: a positive integer")
		return
	}
	e, err := s.DB.GetAudit(c, id)
	if err != nil {
		storeErr(c, err, "audit entry "+c.Param("id"))
		return
	}
	c.JSON(http.StatusOK, e)
}
