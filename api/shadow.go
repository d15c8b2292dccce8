package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
)

// startShadow runs a validated version beside the published one on chosen live
// streams for a period: same frames, no records, a report kept with the version.
func startShadow(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	var b struct {
		Streams   []string `json:"streams"`
		DurationS int      `json:"duration_s"`
	}
	if !bindJSON(c, &b) {
		return
	}
	if len(b.Streams) == 0 || len(b.Streams) > 100 {
		fail(c, http.StatusBadRequest, "streams", "streams: 1 to 100 device IDs of live streams whose tasks use the model")
		return
	}
	for _, id := range b.Streams {
		if _, err := s.DB.GetStream(c, id); err != nil {
			fail(c, http.StatusBadRequest, "streams", "streams: "+quote(id)+" is not a registered stream")
			return
		}
	}
	if b.DurationS < 1 || b.DurationS > 7*24*3600 {
		fail(c, http.StatusBadRequest, "duration_s", "duration_s: from 1 s to 7 days")
		return
	}
	vendor, name, version := c.Param("vendor"), c.Param("name"), c.Param("version")
	r, err := s.Warehouse.StartShadow(c, store.ShadowRun{ID: newID(), Vendor: vendor, Name: name, Version: version, Streams: b.Streams,
		StartedBy: who(c).User.ID, EndsAt: s.now().Add(time.Duration(b.DurationS) * time.Second)})
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	target := "model " + models.QualifiedName(vendor, name) + "@" + version
	if _, ok := s.audit(c, "model.shadow_start", target, "", http.StatusCreated, fmt.Sprintf("run %s on %v for %d s", r.ID, b.Streams, b.DurationS)); ok {
		s.Scheduler.Notify()
		c.JSON(http.StatusCreated, r)
	}
}

// shadowRuns lists a version's shadow runs with their reports (live while they
// run); vendors see their own versions' reports without the cameras.
func (s *Server) shadowRuns(c *gin.Context, vendor, name, version string) ([]store.ShadowRun, error) {
	runs, err := s.DB.ListShadowRuns(c, store.ShadowFilter{Vendor: vendor, Name: name, Version: version})
	for i := range runs {
		if runs[i].State == store.ShadowRunning && s.Cluster != nil {
			runs[i].Report, _ = json.Marshal((&scheduler.ShadowMonitor{Cluster: s.Cluster}).Report(runs[i].ID))
		}
		if !isAdmin(who(c)) {
			runs[i].Streams = nil
		}
	}
	return orEmpty(runs), err
}

func listShadowRuns(s *Server, c *gin.Context) {
	if !ownVendor(c, c.Param("vendor")) {
		return
	}
	runs, err := s.shadowRuns(c, c.Param("vendor"), c.Param("name"), c.Param("version"))
	if err != nil {
		storeErr(c, err, "shadow runs")
		return
	}
	c.JSON(http.StatusOK, gin.H{"runs": runs})
}

// stopShadow ends a run before its period is over, keeping its report so far.
func stopShadow(s *Server, c *gin.Context) {
	r, err := s.DB.GetShadowRun(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "shadow run")
		return
	}
	rep := (&scheduler.ShadowMonitor{Cluster: s.Cluster}).Report(r.ID)
	b, _ := json.Marshal(rep)
	if err := s.DB.SaveShadowReport(c, r.ID, b, store.ShadowStopped, s.now()); err != nil {
		storeErr(c, err, "shadow run")
		return
	}
	if _, ok := s.audit(c, "model.shadow_stop", "model "+models.QualifiedName(r.Vendor, r.Name)+"@"+r.Version, "", http.StatusOK, "run "+r.ID); ok {
		s.Scheduler.Notify()
		r, _ = s.DB.GetShadowRun(c, r.ID)
		c.JSON(http.StatusOK, r)
	}
}

func shadowRoutes() []route {
	return []route{
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/:version/shadow", "Run a validated version beside the published one on chosen live streams for duration_s: same frames, no records; agreement, score distributions, latency and cost per frame are reported and kept with the version (audited)", admin, nil, "Shadow", startShadow},
		{http.MethodGet, "/api/v1/warehouse/models/:vendor/:name/:version/shadow", "A version's shadow runs and their reports (live while running; its own vendor and the platform admin)", vendors, nil, "", listShadowRuns},
		{http.MethodPost, "/api/v1/warehouse/shadow/:id/stop", "End a shadow run early, keeping its report (audited)", admin, nil, "", stopShadow},
	}
}
