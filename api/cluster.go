package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/workers"
)

type heartbeatBody struct {
	ID          string                          `json:"id"`
	CapacityFPS float64                         `json:"capacity_fps"` // > 0 caps the worker's model rates
	Cores       int                             `json:"cores"`        // CPU cores; sizes its CPU device
	GPUs        int                             `json:"gpus"`         // reported, not placed on yet
	Status      map[string]workers.StreamStatus `json:"status"`
	Batchers    []workers.BatchStats            `json:"batchers"` // model counters, for /metrics
}

// workerHeartbeat renews a remote worker's lease and tells it what to run.
func workerHeartbeat(s *Server, c *gin.Context) {
	if s.Cluster == nil {
		fail(c, http.StatusConflict, "", "this server runs its worker in process (embedded mode): start it with a distributed config to take remote workers")
		return
	}
	var b heartbeatBody
	if !bindJSON(c, &b) {
		return
	}
	if b.Cores < 0 || b.GPUs < 0 || b.CapacityFPS < 0 {
		fail(c, http.StatusBadRequest, "cores", "cores, gpus and capacity_fps cannot be negative")
		return
	}
	if !idRE.MatchString(b.ID) {
		fail(c, http.StatusBadRequest, "id", "id: 2–32 characters of a-z, 0-9, _ and -")
		return
	}
	c.JSON(http.StatusOK, s.Cluster.Heartbeat(b.ID, scheduler.WorkerInfo{CapacityFPS: b.CapacityFPS, Cores: b.Cores, GPUs: b.GPUs, Batchers: b.Batchers}, b.Status))
}

// listWorkers shows the remote workers and, by task ID, the planner's grant of
// every desired task: why it is degraded, time-shared or not placed.
func listWorkers(s *Server, c *gin.Context) {
	if s.Cluster == nil {
		c.JSON(http.StatusOK, gin.H{"workers": []any{}, "grants": gin.H{}, "mode": "embedded"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"workers": s.Cluster.Members(), "grants": s.Cluster.Grants(), "mode": "distributed"})
}
