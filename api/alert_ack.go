package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
)

// ackAlert acknowledges an alert on the Minqing map. Only the roles that act on
// alerts may (not analysts or subscribers, who only read them); the alert must be
// visible to the caller exactly as for GET, and every attempt is audited.
func ackAlert(s *Server, c *gin.Context) {
	p := who(c)
	a, err := s.DB.AckAlert(c, p.Scope(), c.Param("id"), p.User.ID, s.now())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.audit(c, "alert.ack", c.Param("id"), "", http.StatusNotFound, "not found or not visible")
		}
		storeErr(c, err, "alert "+c.Param("id"))
		return
	}
	detail := ""
	if a.AckedBy != p.User.ID {
		detail = "already acknowledged by " + a.AckedBy
	}
	if _, ok := s.audit(c, "alert.ack", a.ID, a.GrantID, http.StatusOK, detail); !ok {
		return
	}
	c.JSON(http.StatusOK, a)
}
