package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
)

// alertFilter reads the alert search parameters.
func alertFilter(c *gin.Context) (store.AlertFilter, bool) {
	f := store.AlertFilter{Kind: c.Query("kind"), DeviceID: c.Query("device_id"), TaskID: c.Query("task_id"), Scope: who(c).Scope()}
	if !timeParams(c, map[string]*time.Time{"from": &f.From, "to": &f.To}) || !pageParams(c, &f.Offset, &f.Limit) {
		return f, false
	}
	return f, true
}

func listAlerts(s *Server, c *gin.Context) {
	f, ok := alertFilter(c)
	if !ok {
		return
	}
	as, err := s.DB.ListAlerts(c, f)
	if err != nil {
		storeErr(c, err, "alerts")
		return
	}
	if _, ok := s.audit(c, "alert.search", c.Request.URL.RawQuery, "", http.StatusOK, strconv.Itoa(len(as))+" alerts"); !ok {
		return
	}
	c.JSON(http.StatusOK, gin.H{"alerts": orEmpty(as), "total": len(as), "offset": f.Offset})
}

func getAlert(s *Server, c *gin.Context) {
	a, err := s.DB.GetAlert(c, who(c).Scope(), c.Param("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.audit(c, "alert.read", c.Param("id"), "", http.StatusNotFound, "not found or not visible")
		}
		storeErr(c, err, "alert "+c.Param("id"))
		return
	}
	if _, ok := s.audit(c, "alert.read", a.ID, a.GrantID, http.StatusOK, ""); !ok {
		return
	}
	c.JSON(http.StatusOK, a)
}

// listMeasures returns a task's time series (the water level trend for the map).
func listMeasures(s *Server, c *gin.Context) {
	t, ok := s.task(c, false)
	if !ok {
		return
	}
	var from, to time.Time
	if !timeParams(c, map[string]*time.Time{"from": &from, "to": &to}) {
		return
	}
	ms, err := s.DB.ListMeasures(c, t.ID, c.Query("name"), from, to, 0)
	if err != nil {
		storeErr(c, err, "measures")
		return
	}
	c.JSON(http.StatusOK, gin.H{"measures": orEmpty(ms), "total": len(ms)})
}
