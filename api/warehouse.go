package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/store"
)

// warehouseOn answers 503 when this server runs without a warehouse.
func (s *Server) warehouseOn(c *gin.Context) bool {
	if s.Warehouse == nil {
		fail(c, http.StatusServiceUnavailable, "", "this server has no model warehouse configured")
		return false
	}
	return true
}

// ownVendor: a vendor acts on its own namespace (its department ID) only; the
// platform's namespace (its starter models' names) is the platform admin's alone.
func ownVendor(c *gin.Context, vendor string) bool {
	p := who(c)
	if isAdmin(p) || p.Dept.ID == vendor && vendor != models.PlatformVendor {
		return true
	}
	fail(c, http.StatusForbidden, "vendor", "vendor: you act for vendor "+p.Dept.ID+" only, not "+vendor)
	return false
}

func listModelVersions(s *Server, c *gin.Context) {
	vs, err := s.DB.ListModelVersions(c, store.ModelFilter{Vendor: c.Query("vendor"), Name: c.Query("name"), Task: c.Query("task"), Label: c.Query("label"), State: c.Query("state")})
	if err != nil {
		storeErr(c, err, "models")
		return
	}
	for i := range vs {
		vs[i].Manifest = nil // the list stays small; GET one version for its manifest
	}
	c.JSON(http.StatusOK, gin.H{"models": orEmpty(vs), "total": len(vs)})
}

func (s *Server) modelVersion(c *gin.Context) (store.ModelVersion, bool) {
	v, err := s.DB.GetModelVersion(c, c.Param("vendor"), c.Param("name"), c.Param("version"))
	if err != nil {
		storeErr(c, err, "model version")
		return v, false
	}
	return v, true
}

func getModelVersion(s *Server, c *gin.Context) {
	if v, ok := s.modelVersion(c); ok {
		c.JSON(http.StatusOK, v)
	}
}

func modelReport(s *Server, c *gin.Context) {
	if v, ok := s.modelVersion(c); ok {
		c.JSON(http.StatusOK, gin.H{"state": v.State, "stage": v.Stage, "progress": v.Progress, "report": v.Report, "benchmark": v.Bench})
	}
}

func downloadModelVersion(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	if !ownVendor(c, c.Param("vendor")) {
		return
	}
	v, ok := s.modelVersion(c)
	if !ok {
		return
	}
	b, err := s.Warehouse.Blob(c, v)
	if err != nil {
		fail(c, http.StatusBadGateway, "", "object store: "+err.Error())
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+v.Name+"-"+v.Version+`.onnx"`)
	c.Data(http.StatusOK, "application/octet-stream", b)
}

// publishModelVersion: a vendor's call puts the version up for approval (202); the
// platform admin's call approves and publishes it. Both go to the audit log.
func publishModelVersion(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	vendor, name, version := c.Param("vendor"), c.Param("name"), c.Param("version")
	if !ownVendor(c, vendor) {
		return
	}
	target := "model " + vendor + "/" + name + "@" + version
	p := who(c)
	if !isAdmin(p) {
		v, err := s.Warehouse.RequestPublish(c, vendor, name, version, p.User.ID)
		if err != nil {
			storeErr(c, err, "model version")
			return
		}
		if _, ok := s.audit(c, "model.publish_request", target, "", http.StatusAccepted, "awaits the platform admin's approval"); ok {
			c.JSON(http.StatusAccepted, v)
		}
		return
	}
	detail := "published by the platform admin"
	if old, err := s.DB.GetModelVersion(c, vendor, name, version); err == nil && old.PublishRequestedBy != "" {
		detail = "approved the request of " + old.PublishRequestedBy
	}
	v, err := s.Warehouse.Publish(c, vendor, name, version)
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	if _, ok := s.audit(c, "model.publish_approve", target, "", http.StatusOK, detail); ok {
		c.JSON(http.StatusOK, v)
	}
}

// rejectPublish: the platform admin turns a vendor's publish request down, saying why.
func rejectPublish(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	var b struct {
		Reason string `json:"reason"`
	}
	if !bindJSON(c, &b) {
		return
	}
	if strings.TrimSpace(b.Reason) == "" {
		fail(c, http.StatusBadRequest, "reason", "reason: say why the version is not published")
		return
	}
	vendor, name, version := c.Param("vendor"), c.Param("name"), c.Param("version")
	v, err := s.Warehouse.RejectPublish(c, vendor, name, version)
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	if _, ok := s.audit(c, "model.publish_reject", "model "+vendor+"/"+name+"@"+version, "", http.StatusOK, b.Reason); ok {
		c.JSON(http.StatusOK, v)
	}
}

func rollbackModel(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	if !ownVendor(c, c.Param("vendor")) {
		return
	}
	v, err := s.Warehouse.Rollback(c, c.Param("vendor"), c.Param("name"))
	if err != nil {
		storeErr(c, err, "model")
		return
	}
	// back to the version the platform admin approved before; audited like a publish
	if _, ok := s.audit(c, "model.rollback", "model "+v.Vendor+"/"+v.Name+"@"+v.Version, "", http.StatusOK, "re-published the previously approved version"); ok {
		c.JSON(http.StatusOK, v)
	}
}

func deprecateModelVersion(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	if !ownVendor(c, c.Param("vendor")) {
		return
	}
	if err := s.Warehouse.Deprecate(c, c.Param("vendor"), c.Param("name"), c.Param("version")); err != nil {
		storeErr(c, err, "model version")
		return
	}
	getModelVersion(s, c)
}

func deleteModelVersion(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	if !ownVendor(c, c.Param("vendor")) {
		return
	}
	if err := s.Warehouse.Delete(c, c.Param("vendor"), c.Param("name"), c.Param("version")); err != nil {
		storeErr(c, err, "model version")
		return
	}
	c.Status(http.StatusNoContent)
}
