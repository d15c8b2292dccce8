package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
)

// The audit trail is read here and nowhere written except by the reads it records;
// there is deliberately no route that changes or deletes an entry.

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
