package api

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
)

// health is public: it says up or down and nothing else (no error text naming the
// database, no versions to match against known vulnerabilities). The details are
// in /metrics and the server log.
func health(s *Server, c *gin.Context) {
	if err := s.DB.Ping(c); err != nil {
		slog.Warn("health: database unreachable", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "down"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "up"})
}

func listAlgorithms(_ *Server, c *gin.Context) {
	var out []gin.H
	for _, n := range algorithms.Names() {
		spec, _ := algorithms.Lookup(n)
		out = append(out, gin.H{"name": n, "description": spec.Description, "models": spec.Models, "contracts": spec.Contracts,
			"outputs": spec.Outputs, "options": spec.Params, "options_example": spec.OptionsExample,
			"title": spec.Title, "title_zh": spec.TitleZH, "summary": spec.Summary, "summary_zh": spec.SummaryZH})
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
