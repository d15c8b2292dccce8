package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// OnlineTarget is the online rate the seeds ask of every camera (≥ 95 %).
const OnlineTarget = 0.95

// parseDay reads a day as 2026-12-05 or 20261205; def when empty.
func parseDay(c *gin.Context, name string, def time.Time) (int, bool) {
	v := c.Query(name)
	if v == "" {
		return store.DayOf(def), true
	}
	t, err := time.ParseInLocation("2006-01-02", v, gat1400.Location)
	if err != nil {
		t, err = time.ParseInLocation("20060102", v, gat1400.Location)
	}
	if err != nil {
		fail(c, http.StatusBadRequest, name, name+": a day such as 2026-12-05 or 20261205")
		return 0, false
	}
	return store.DayOf(t), true
}

// rateDepts: the platform office sees every department's rates, others their own.
func (s *Server) rateDepts(c *gin.Context) []string {
	if p := who(c); !isAdmin(p) {
		return []string{p.Dept.ID}
	}
	return nil
}

// onlineRate answers GET /api/v1/online-rate?by=camera|department|area&from&to
// (days, inclusive; default the last 7 days).
func onlineRate(s *Server, c *gin.Context) {
	by := c.DefaultQuery("by", "department")
	if by != "camera" && by != "department" && by != "area" {
		fail(c, http.StatusBadRequest, "by", "by: camera, department or area")
		return
	}
	to, ok := parseDay(c, "to", s.now())
	if !ok {
		return
	}
	from, ok := parseDay(c, "from", s.now().AddDate(0, 0, -6))
	if !ok {
		return
	}
	if from > to {
		fail(c, http.StatusBadRequest, "from", "from: after to")
		return
	}
	rates, err := s.DB.OnlineRates(c, by, from, to, s.rateDepts(c))
	if err != nil {
		storeErr(c, err, "online rate")
		return
	}
	below := 0
	for _, r := range rates {
		if r.Rate < OnlineTarget {
			below++
		}
	}
	c.JSON(http.StatusOK, gin.H{"by": by, "from": from, "to": to, "target": OnlineTarget, "below_target": below, "rates": rates})
}

// onlineReport answers GET /api/v1/online-rate/report.csv?day (default yesterday):
// the cameras under the target that day, worst first, with the diagnosis' last visit.
func onlineReport(s *Server, c *gin.Context) {
	day, ok := parseDay(c, "day", s.now().AddDate(0, 0, -1))
	if !ok {
		return
	}
	rows, err := s.DB.CamerasBelow(c, day, OnlineTarget, s.rateDepts(c))
	if err != nil {
		storeErr(c, err, "online rate")
		return
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"day", "device_id", "name", "owner_department", "admin_division", "online_rate", "online_minutes", "observed_minutes",
		"last_probe", "last_probe_online", "defects", "reason"})
	for _, r := range rows {
		rec := []string{strconv.Itoa(day), r.Key, r.Name, r.OwnerDept, r.AdminDivision, fmt.Sprintf("%.4f", r.Rate),
			fmt.Sprintf("%.1f", float64(r.OnlineMS)/60000), fmt.Sprintf("%.1f", float64(r.ObservedMS)/60000), "", "", "", ""}
		if d := r.Diagnosis; d != nil {
			rec[8], rec[9], rec[10], rec[11] = d.ProbedAt.In(gat1400.Location).Format(time.RFC3339), strconv.FormatBool(d.Online), strings.Join(d.Defects, " "), d.Reason
		}
		w.Write(rec)
	}
	w.Flush()
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="online-below-target-%d.csv"`, day))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
