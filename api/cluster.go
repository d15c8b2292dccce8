package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/workers"
)

type heartbeatBody struct {
	ID          string                          `json:"id"`
	CapacityFPS float64                         `json:"capacity_fps"`
	Status      map[string]workers.StreamStatus `json:"status"`
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
	if !idRE.MatchString(b.ID) {
		fail(c, http.StatusBadRequest, "id", "id: 2–32 characters of a-z, 0-9, _ and -")
		return
	}
	c.JSON(http.StatusOK, s.Cluster.Heartbeat(b.ID, b.CapacityFPS, b.Status))
}

func listWorkers(s *Server, c *gin.Context) {
	if s.Cluster == nil {
		c.JSON(http.StatusOK, gin.H{"workers": []any{}, "mode": "embedded"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"workers": s.Cluster.Members(), "mode": "distributed"})
}
