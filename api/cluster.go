package api

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"time"

	"github.com/cityeye/cityeye/workers/plan"
	"github.com/gin-gonic/gin"
)

// workerHeartbeat renews a remote worker's lease and tells it what to run.
func workerHeartbeat(s *Server, c *gin.Context) {
	if s.Cluster == nil || s.Cluster.LocalOnly {
		fail(c, http.StatusConflict, "", "this server runs its worker in process (embedded mode): start it with a distributed config to take remote workers")
		return
	}
	var b plan.Heartbeat
	if !bindJSON(c, &b) {
		return
	}
	if b.Cores < 0 || b.CapacityFPS < 0 {
		fail(c, http.StatusBadRequest, "cores", "cores and capacity_fps cannot be negative")
		return
	}
	seen := map[int]bool{}
	for _, g := range b.GPUs {
		if g.Index < 0 || seen[g.Index] || g.NVDEC < 0 || g.NVENC < 0 || g.MemoryMB < 0 {
			fail(c, http.StatusBadRequest, "gpus", "gpus: each needs a distinct index ≥ 0 and non-negative nvdec, nvenc and memory_mb")
			return
		}
		seen[g.Index] = true
	}
	if !idRE.MatchString(b.ID) {
		fail(c, http.StatusBadRequest, "id", "id: 2–32 characters of a-z, 0-9, _ and -")
		return
	}
	// the lease carries camera credentials and a heartbeat claims streams: only the
	// worker the token was issued for may heartbeat, under its own ID
	if p := who(c); p.WorkerID == "" || p.WorkerID != b.ID {
		fail(c, http.StatusForbidden, "id", "id: this token is not bound to worker "+quote(b.ID)+" (the platform administrator creates worker tokens with worker_id)")
		return
	}
	lease, err := s.Cluster.Serve(b)
	if err != nil { // another server leads: it answers (cluster_forward.go), else the worker tries its next server
		if !s.forwardHeartbeat(c, b) {
			fail(c, http.StatusServiceUnavailable, "", err.Error())
		}
		return
	}
	c.JSON(http.StatusOK, lease)
}

// listWorkers shows the workers (remote ones, or this machine as "local" in embedded
// mode: the same planner places both) and, by task ID, the planner's grant of every
// desired task: why it is degraded, time-shared or not placed.
func listWorkers(s *Server, c *gin.Context) {
	mode := "distributed"
	if s.Cluster == nil || s.Cluster.LocalOnly {
		mode = "embedded"
	}
	if s.Cluster == nil {
		c.JSON(http.StatusOK, gin.H{"workers": []any{}, "grants": gin.H{}, "mode": mode})
		return
	}
	// with several servers, only the leader hears the workers; a follower shows the
	// view the leader published (as_of: when it was taken)
	leading, epoch := s.Cluster.Leading()
	c.JSON(http.StatusOK, gin.H{"workers": orEmpty(s.Cluster.Members()), "grants": s.Cluster.Grants(), "mode": mode, "leader": leading, "leader_epoch": epoch,
		"as_of": s.Cluster.ViewAt().UTC()})
}

// putWorkerFrame takes a remote worker's latest frame of a stream (JPEG body, its
// capture time in X-Frame-Time), which the API asked for in the worker's lease
// because someone allowed to see it opened it (streamSnapshot checks the rights
// before asking). The worker is the one the token is bound to; the cluster refuses
// a stream not leased to it or not asked for.
func putWorkerFrame(s *Server, c *gin.Context) {
	if s.Cluster == nil || s.Cluster.LocalOnly {
		fail(c, http.StatusConflict, "", "this server runs its worker in process (embedded mode): it takes no frames from remote workers")
		return
	}
	wid := who(c).WorkerID
	if wid == "" {
		fail(c, http.StatusForbidden, "", "this token is not bound to a worker")
		return
	}
	at, err := time.Parse(time.RFC3339Nano, c.GetHeader("X-Frame-Time"))
	if err != nil {
		fail(c, http.StatusBadRequest, "X-Frame-Time", "X-Frame-Time: the frame's capture time, RFC 3339")
		return
	}
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		fail(c, http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("body: a JPEG of at most %d MiB", MaxFrame>>20))
		return
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil {
		fail(c, http.StatusBadRequest, "body", "body: not a JPEG image")
		return
	}
	if err := s.Cluster.PutFrame(wid, c.Param("device_id"), b, at); err != nil {
		fail(c, http.StatusConflict, "device_id", "device_id: "+err.Error())
		return
	}
	c.Status(http.StatusNoContent)
}
