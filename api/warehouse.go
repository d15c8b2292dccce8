package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/warehouse"
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

// vendorMaySee: a vendor sees its own versions and the platform's, never another
// vendor's (their reports and scores are that vendor's business); other roles
// see the catalogue whole.
func vendorMaySee(c *gin.Context, vendor string) bool {
	p := who(c)
	return p.User.Role != auth.Vendor || vendor == p.Dept.ID || vendor == models.PlatformVendor
}

func listModelVersions(s *Server, c *gin.Context) {
	vs, err := s.DB.ListModelVersions(c, store.ModelFilter{Vendor: c.Query("vendor"), Name: c.Query("name"), Task: c.Query("task"), Label: c.Query("label"), State: c.Query("state")})
	if err != nil {
		storeErr(c, err, "models")
		return
	}
	out := vs[:0]
	for _, v := range vs {
		if vendorMaySee(c, v.Vendor) {
			v.Manifest = nil // the list stays small; GET one version for its manifest
			out = append(out, v)
		}
	}
	c.JSON(http.StatusOK, gin.H{"models": orEmpty(out), "total": len(out)})
}

func (s *Server) modelVersion(c *gin.Context) (store.ModelVersion, bool) {
	v, err := s.DB.GetModelVersion(c, c.Param("vendor"), c.Param("name"), c.Param("version"))
	if err == nil && !vendorMaySee(c, v.Vendor) {
		err = store.ErrNotFound
	}
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
	v, ok := s.modelVersion(c)
	if !ok {
		return
	}
	out := gin.H{"state": v.State, "stage": v.Stage, "progress": v.Progress, "report": v.Report, "benchmark": v.Bench}
	var err error
	if s.Warehouse != nil {
		var ev warehouse.Evaluation
		if ev, err = s.Warehouse.Evaluate(c, v.Vendor, v.Name, v.Version); err != nil {
			storeErr(c, err, "model version")
			return
		}
		out["evaluation"] = ev
	}
	if out["shadow_runs"], err = s.shadowRuns(c, v.Vendor, v.Name, v.Version); err != nil {
		storeErr(c, err, "shadow runs")
		return
	}
	c.JSON(http.StatusOK, out)
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
	var b struct {
		OverrideReason string `json:"override_reason"`
	}
	if c.Request.ContentLength != 0 && !bindJSON(c, &b) {
		return
	}
	target := "model " + vendor + "/" + name + "@" + version
	p := who(c)
	ev, err := s.Warehouse.Evaluate(c, vendor, name, version)
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	if !isAdmin(p) {
		v, err := s.Warehouse.RequestPublish(c, vendor, name, version, p.User.ID)
		if err != nil {
			storeErr(c, err, "model version")
			return
		}
		if _, ok := s.audit(c, "model.publish_request", target, "", http.StatusAccepted, "awaits the platform admin's approval"); ok {
			c.JSON(http.StatusAccepted, struct { // the version, and how it compares with the published one
				store.ModelVersion
				Evaluation warehouse.Evaluation `json:"evaluation"`
			}{v, ev})
		}
		return
	}
	override, ok := s.passGate(c, ev, b.OverrideReason, target, "publish")
	if !ok {
		return
	}
	detail := "published by the platform admin"
	if old, err := s.DB.GetModelVersion(c, vendor, name, version); err == nil && old.PublishRequestedBy != "" {
		detail = "approved the request of " + old.PublishRequestedBy
	}
	action := "model.publish_approve"
	if override != "" {
		action, detail = "model.publish_override", detail+"; "+override
	}
	v, err := s.Warehouse.Publish(c, vendor, name, version)
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	if _, ok := s.audit(c, action, target, "", http.StatusOK, detail); ok {
		c.JSON(http.StatusOK, v)
	}
}

// passGate answers 409 (audited as model.<what>_blocked) when the regression gate
// blocks the version and no override reason is given; with one, it returns what the
// audit entry should say about the override ("" when the gate did not block).
func (s *Server) passGate(c *gin.Context, ev warehouse.Evaluation, reason, target, what string) (string, bool) {
	if ev.Gate == nil || !ev.Gate.Blocked {
		return "", true
	}
	why := strings.Join(ev.Gate.Reasons, "; ")
	if reason = strings.TrimSpace(reason); reason == "" {
		s.audit(c, "model."+what+"_blocked", target, "", http.StatusConflict, why)
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{"field": "override_reason", "evaluation": ev,
			"error": "the regression gate blocks this version: " + why + "; " + what + " with override_reason to override"})
		return "", false
	}
	return "gate overridden: " + reason + " (blocked by: " + why + ")", true
}

// bindReason reads a {"reason": …} body that must say why (400 naming reason).
func bindReason(c *gin.Context, why string) (string, bool) {
	var b struct {
		Reason string `json:"reason"`
	}
	if !bindJSON(c, &b) {
		return "", false
	}
	if strings.TrimSpace(b.Reason) == "" {
		fail(c, http.StatusBadRequest, "reason", "reason: say why "+why)
		return "", false
	}
	return b.Reason, true
}

// rejectPublish: the platform admin turns a vendor's publish request down, saying why.
func rejectPublish(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	reason, ok := bindReason(c, "the version is not published")
	if !ok {
		return
	}
	vendor, name, version := c.Param("vendor"), c.Param("name"), c.Param("version")
	v, err := s.Warehouse.RejectPublish(c, vendor, name, version)
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	if _, ok := s.audit(c, "model.publish_reject", "model "+vendor+"/"+name+"@"+version, "", http.StatusOK, reason); ok {
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
