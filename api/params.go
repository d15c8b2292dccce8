package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// timeParams reads optional time query parameters (RFC 3339 or GA/T 1400
// YYYYMMDDhhmmss) into their destinations; after a bad one it has answered 400
// naming it and returns false.
func timeParams(c *gin.Context, dst map[string]*time.Time) bool {
	for name, p := range dst {
		if v := c.Query(name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				fail(c, http.StatusBadRequest, name, name+": use RFC 3339 (2026-11-22T08:00:00+08:00) or YYYYMMDDhhmmss")
				return false
			}
			*p = t
		}
	}
	return true
}

// pageParams reads offset (≥ 0) and limit (1–1000), answering 400 on a bad one.
func pageParams(c *gin.Context, offset, limit *int) bool {
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"offset", offset, 0, 1 << 30}, {"limit", limit, 1, 1000}} {
		if v := c.Query(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min || n > p.max {
				fail(c, http.StatusBadRequest, p.name, p.name+": integer in ["+strconv.Itoa(p.min)+", "+strconv.Itoa(p.max)+"]")
				return false
			}
			*p.dst = n
		}
	}
	return true
}
