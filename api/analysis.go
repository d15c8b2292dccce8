package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/source"
)

// Offline video analysis over HTTP: create, read and list analyses. The job that
// runs one is workers.Analyses.

// RegisterAnalysisJobs registers the offline analysis handler with s.Jobs; call it
// before the queue starts (RegisterJobs does).
func (s *Server) RegisterAnalysisJobs() {
	a := &workers.Analyses{DB: s.DB, Objects: s.Objects, Repo: s.Repo, Now: s.now, ImportDirs: s.ImportDirs, Outbound: s.Outbound, MaxDownload: s.MaxDownload}
	a.Register(s.Jobs)
}

type analysisBody struct {
	DeviceID  string          `json:"device_id"`
	URL       string          `json:"url"`
	Algorithm string          `json:"algorithm"`
	Params    json.RawMessage `json:"params"`
}

// checkVideoURL accepts a recorded video: a file under an import folder, or an
// http(s) URL whose host, if an IP literal, the outbound guard allows. The answer
// for a file outside the folders is the same whether it exists or not.
func (s *Server) checkVideoURL(raw string) error {
	if err := checkStreamURL(raw); err != nil {
		return err
	}
	switch u, _ := url.Parse(raw); u.Scheme {
	case "file":
		_, err := source.ImportPath(raw, s.ImportDirs)
		return err
	case "http", "https":
		return s.checkReceiveAddr(raw)
	default:
		return fmt.Errorf("scheme %q not supported for a recorded video (file, http, https)", u.Scheme)
	}
}

func createAnalysis(s *Server, c *gin.Context) {
	var b analysisBody
	if !bindJSON(c, &b) {
		return
	}
	if err := s.checkVideoURL(b.URL); err != nil {
		fail(c, http.StatusBadRequest, "url", "url: "+err.Error())
		return
	}
	dept, ok := s.validateTask(c, taskBody{DeviceID: b.DeviceID, Algorithm: b.Algorithm, Params: b.Params})
	if !ok {
		return
	}
	a := &store.Analysis{ID: newID(), DeptID: dept.ID, UserID: who(c).User.ID, DeviceID: b.DeviceID, URL: b.URL, Algorithm: b.Algorithm, Params: b.Params}
	// the run is queued from the job outbox, committed with the analysis: it starts
	// once the queue (Redis) takes it, whenever that is
	if err := s.DB.CreateAnalysis(c, a, store.OutboxJob{Kind: workers.KindAnalysis, Key: a.ID}); err != nil {
		storeErr(c, err, "analysis")
		return
	}
	s.kickRelay()
	c.JSON(http.StatusAccepted, a)
}

// analysis loads an analysis of the caller's department (any, for admins).
func (s *Server) analysis(c *gin.Context) (store.Analysis, bool) {
	p := who(c)
	a, err := s.DB.GetAnalysis(c, c.Param("id"))
	if err == nil && !isAdmin(p) && a.DeptID != p.Dept.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		storeErr(c, err, "analysis "+c.Param("id"))
		return a, false
	}
	return a, true
}

func getAnalysis(s *Server, c *gin.Context) {
	if a, ok := s.analysis(c); ok {
		c.JSON(http.StatusOK, a)
	}
}

func listAnalyses(s *Server, c *gin.Context) {
	p := who(c)
	dept := p.Dept.ID
	if isAdmin(p) {
		dept = ""
	}
	as, err := s.DB.ListAnalyses(c, dept, 200)
	if err != nil {
		storeErr(c, err, "analyses")
		return
	}
	c.JSON(http.StatusOK, gin.H{"analyses": orEmpty(as), "total": len(as)})
}
