package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models/engine"
)

func health(s *Server, c *gin.Context) {
	status, code := "ok", http.StatusOK
	checks := gin.H{}
	if err := s.DB.Ping(c); err != nil {
		status, code, checks["database"] = "degraded", http.StatusServiceUnavailable, err.Error()
	} else {
		checks["database"] = "ok"
	}
	checks["onnxruntime"] = engine.Version()
	c.JSON(code, gin.H{"status": status, "checks": checks, "uptime_seconds": int(time.Since(s.Started).Seconds())})
}

func listAlgorithms(_ *Server, c *gin.Context) {
	var out []gin.H
	for _, n := range algorithms.Names() {
		spec, _ := algorithms.Lookup(n)
		out = append(out, gin.H{"name": n, "description": spec.Description, "models": spec.Models, "contracts": spec.Contracts,
			"outputs": spec.Outputs, "options": spec.Params})
	}
	c.JSON(http.StatusOK, gin.H{"algorithms": out})
}

func listModels(s *Server, c *gin.Context) {
	ms, err := s.Repo.List()
	if err != nil {
		fail(c, http.StatusInternalServerError, "", err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"models": ms, "total": len(ms)})
}

func stats(s *Server, c *gin.Context) {
	counts, err := s.DB.CountRecords(c)
	if err != nil {
		storeErr(c, err, "records")
		return
	}
	out := gin.H{"records_by_type": counts, "pipelines": s.pipelines()}
	if s.Worker != nil {
		out["batchers"] = s.Worker.Batchers()
	}
	if s.Cluster != nil {
		out["workers"] = s.Cluster.Members()
	}
	c.JSON(http.StatusOK, out)
}
