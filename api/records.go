package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/api/gat1400"
	"github.com/cityeye/cityeye/api/objects"
	"github.com/cityeye/cityeye/api/store"
)

var recordTypes = map[string]bool{"Face": true, "Person": true, "MotorVehicle": true, "NonMotorVehicle": true}

// parseTime accepts RFC 3339 and the GA/T 1400 YYYYMMDDhhmmss form.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return gat1400.ParseTime(s)
}

func listRecords(s *Server, c *gin.Context) {
	var f store.RecordFilter
	f.Type, f.DeviceID, f.TaskID = c.Query("type"), c.Query("device_id"), c.Query("task_id")
	if f.Type != "" && !recordTypes[f.Type] {
		fail(c, http.StatusBadRequest, "type", "type: one of Face, Person, MotorVehicle, NonMotorVehicle")
		return
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := c.Query(p.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				fail(c, http.StatusBadRequest, p.name, p.name+": use RFC 3339 (2026-11-22T08:00:00+08:00) or YYYYMMDDhhmmss")
				return
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"offset", &f.Offset, 0, 1 << 30}, {"limit", &f.Limit, 1, 1000}} {
		if v := c.Query(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min || n > p.max {
				fail(c, http.StatusBadRequest, p.name, p.name+": integer in ["+strconv.Itoa(p.min)+", "+strconv.Itoa(p.max)+"]")
				return
			}
			*p.dst = n
		}
	}
	recs, total, err := s.DB.ListRecords(c, f)
	if err != nil {
		storeErr(c, err, "records")
		return
	}
	if recs == nil {
		recs = []store.Record{}
	}
	c.JSON(http.StatusOK, gin.H{"records": recs, "total": total, "offset": f.Offset, "limit": max(len(recs), f.Limit)})
}

func getRecord(s *Server, c *gin.Context) {
	r, err := s.DB.GetRecord(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "record "+c.Param("id"))
		return
	}
	c.JSON(http.StatusOK, r)
}

func getObject(s *Server, c *gin.Context) {
	key := strings.TrimPrefix(c.Param("key"), "/")
	if err := objects.CheckKey(key); err != nil {
		fail(c, http.StatusBadRequest, "key", err.Error())
		return
	}
	b, err := s.Objects.Get(c, key)
	if errors.Is(err, objects.ErrNotFound) {
		fail(c, http.StatusNotFound, "", "no object "+key)
		return
	}
	if err != nil {
		fail(c, http.StatusBadGateway, "", "object store: "+err.Error())
		return
	}
	ct := "application/octet-stream"
	if strings.HasSuffix(key, ".jpg") {
		ct = "image/jpeg"
	}
	c.Data(http.StatusOK, ct, b)
}
