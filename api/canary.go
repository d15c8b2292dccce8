package api

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
)

var deviceIDRE = regexp.MustCompile(`^[0-9]{20}$`)

// startCanary puts a validated version on canary for chosen cameras and a share of
// the model's other tasks, widening by steps; the gate applies as to a publish.
func startCanary(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	b := struct {
		Cameras        []string `json:"cameras"`
		Steps          []int    `json:"steps"`
		StepSeconds    int      `json:"step_seconds"`
		MaxErrorRate   *float64 `json:"max_error_rate"`
		MaxLatencyMS   float64  `json:"max_latency_ms"`
		MinFrames      int      `json:"min_frames"`
		OverrideReason string   `json:"override_reason"`
	}{StepSeconds: 600, MinFrames: 50}
	if !bindJSON(c, &b) {
		return
	}
	if len(b.Steps) == 0 {
		b.Steps = []int{10, 50}
	}
	for i, p := range b.Steps {
		if p < 0 || p > 100 || i > 0 && p < b.Steps[i-1] || len(b.Steps) > 10 {
			fail(c, http.StatusBadRequest, "steps", "steps: at most 10 percentages of the model's other tasks, 0 to 100, never decreasing; after the last the version is published to all")
			return
		}
	}
	for _, d := range b.Cameras {
		if !deviceIDRE.MatchString(d) {
			fail(c, http.StatusBadRequest, "cameras", "cameras: "+quote(d)+" is not a 20-digit device ID")
			return
		}
	}
	errRate := 0.05
	if b.MaxErrorRate != nil {
		errRate = *b.MaxErrorRate
	}
	switch {
	case b.StepSeconds < 1:
		fail(c, http.StatusBadRequest, "step_seconds", "step_seconds: at least 1")
		return
	case errRate < 0 || errRate > 1:
		fail(c, http.StatusBadRequest, "max_error_rate", "max_error_rate: a share of frames from 0 to 1")
		return
	case b.MaxLatencyMS < 0:
		fail(c, http.StatusBadRequest, "max_latency_ms", "max_latency_ms: milliseconds per batch, 0 for no limit")
		return
	case b.MinFrames < 1:
		fail(c, http.StatusBadRequest, "min_frames", "min_frames: at least 1")
		return
	}
	vendor, name, version := c.Param("vendor"), c.Param("name"), c.Param("version")
	target := "model " + models.QualifiedName(vendor, name) + "@" + version
	ev, err := s.Warehouse.Evaluate(c, vendor, name, version)
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	override, ok := s.passGate(c, ev, b.OverrideReason, target, "canary")
	if !ok {
		return
	}
	cn, err := s.Warehouse.StartCanary(c, store.Canary{Vendor: vendor, Name: name, Version: version, Cameras: b.Cameras, Steps: b.Steps, StepSeconds: b.StepSeconds,
		MaxErrorRate: errRate, MaxLatencyMS: b.MaxLatencyMS, MinFrames: b.MinFrames, StartedBy: who(c).User.ID})
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	detail := fmt.Sprintf("cameras %v, steps %v%% every %d s, max error rate %.3f, max latency %.1f ms", b.Cameras, b.Steps, b.StepSeconds, errRate, b.MaxLatencyMS)
	if override != "" {
		detail += "; " + override
	}
	if _, ok := s.audit(c, "model.canary_start", target, "", http.StatusCreated, detail); ok {
		s.Scheduler.Notify()
		c.JSON(http.StatusCreated, cn)
	}
}

// getCanary is a model's last canary with its version's counters on the workers
// and the tasks it holds now (those the caller may see).
func getCanary(s *Server, c *gin.Context) {
	if !ownVendor(c, c.Param("vendor")) {
		return
	}
	cn, err := s.DB.GetCanary(c, c.Param("vendor"), c.Param("name"))
	if err != nil {
		storeErr(c, err, "canary")
		return
	}
	out := gin.H{"canary": cn, "tasks": []string{}}
	if s.Cluster != nil {
		out["stats"] = (&scheduler.CanaryMonitor{Cluster: s.Cluster}).Stats(cn)
	}
	if cn.State == store.CanaryRunning && isAdmin(who(c)) { // task IDs are the departments' business
		ts, err := s.DB.ListTasks(c, auth.Scope{All: true}, "")
		if err != nil {
			storeErr(c, err, "tasks")
			return
		}
		var in []string
		for _, t := range ts {
			if scheduler.InCanary(cn, t) {
				in = append(in, t.ID)
			}
		}
		out["tasks"] = orEmpty(in)
	}
	c.JSON(http.StatusOK, out)
}

// stopCanary ends a running canary by hand, saying why (audited).
func stopCanary(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	reason, ok := bindReason(c, "the canary stops")
	if !ok {
		return
	}
	cn, err := s.Warehouse.StopCanary(c, c.Param("vendor"), c.Param("name"), reason)
	if err != nil {
		storeErr(c, err, "canary")
		return
	}
	if _, ok := s.audit(c, "model.canary_stop", "model "+models.QualifiedName(cn.Vendor, cn.Name)+"@"+cn.Version, "", http.StatusOK, reason); ok {
		s.Scheduler.Notify()
		c.JSON(http.StatusOK, cn)
	}
}

func canaryRoutes() []route {
	return []route{
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/:version/canary", "Publish a validated version to chosen cameras and a share of the model's other tasks first, widening by steps and then publishing; rolled back automatically over its error-rate or latency threshold; the gate applies (every step audited)", admin, nil, "Canary", startCanary},
		{http.MethodGet, "/api/v1/warehouse/models/:vendor/:name/canary", "A model's last canary: state, step, thresholds, its version's counters on the workers, the tasks it holds (its own vendor and the platform admin)", vendors, nil, "", getCanary},
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/canary/stop", "Stop a running canary, saying why: its tasks go back to the published version (audited)", admin, nil, "RejectPublish", stopCanary},
	}
}
