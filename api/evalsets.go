package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/store"
)

// Evaluation sets and gates: the platform admin's (docs/evaluation-sets.md). Vendors
// see how their own versions score, never the sets' images or labels.

// uploadEvalSet streams a labelled set to disk (fields name, task, description;
// file parts annotations and images) and hands it to the warehouse.
func uploadEvalSet(s *Server, c *gin.Context) {
	stage, mr, done, ok := s.stageUpload(c, "evalset-", "name, task, annotations and images")
	if !ok {
		return
	}
	defer done()
	fields := map[string]string{}
	var annotations []byte
	images := map[string]string{}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			uploadErr(s, c, "body", err)
			return
		}
		switch name := part.FormName(); name {
		case "name", "task", "description":
			b, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				uploadErr(s, c, name, err)
				return
			}
			fields[name] = strings.TrimSpace(string(b))
		case "annotations":
			if annotations, err = io.ReadAll(io.LimitReader(part, MaxBody+1)); err != nil {
				uploadErr(s, c, name, err)
				return
			}
			if len(annotations) > MaxBody {
				fail(c, http.StatusRequestEntityTooLarge, "annotations", "annotations: over 1 MiB")
				return
			}
		case "images":
			fn := part.FileName()
			if _, dup := images[fn]; dup || len(images) >= warehouse.MaxEvalImages {
				fail(c, http.StatusBadRequest, "images", fmt.Sprintf("images: %q uploaded twice, or over %d images", fn, warehouse.MaxEvalImages))
				return
			}
			if images[fn], err = savePart(stage, n, part); err != nil {
				uploadErr(s, c, "images", err)
				return
			}
		}
		part.Close()
	}
	if annotations == nil {
		fail(c, http.StatusBadRequest, "annotations", "annotations: one file part is required (COCO JSON, or the task's tab-separated list)")
		return
	}
	set, err := s.Warehouse.UploadEvalSet(c, who(c).User.ID, fields["name"], fields["task"], fields["description"], annotations, images)
	var pr *warehouse.Problem
	switch {
	case errors.As(err, &pr):
		fail(c, http.StatusUnprocessableEntity, pr.Field, pr.Error())
	case errors.Is(err, store.ErrConflict):
		fail(c, http.StatusConflict, "name", err.Error())
	case err != nil:
		slog.Error("evaluation set upload", "name", fields["name"], "err", err)
		fail(c, http.StatusInternalServerError, "", "the set could not be stored; see the server log")
	default:
		if _, ok := s.audit(c, "evalset.upload", "evalset "+set.Name, "", http.StatusCreated, fmt.Sprintf("%s, %d images, sha256 %s", set.Task, set.Images, set.SHA256)); ok {
			set.Spec = nil
			c.JSON(http.StatusCreated, set)
		}
	}
}

func listEvalSets(s *Server, c *gin.Context) {
	sets, err := s.DB.ListEvalSets(c, c.Query("task"))
	if err != nil {
		storeErr(c, err, "evaluation sets")
		return
	}
	for i := range sets {
		sets[i].Spec = nil
	}
	c.JSON(http.StatusOK, gin.H{"sets": orEmpty(sets)})
}

func getEvalSet(s *Server, c *gin.Context) {
	set, err := s.DB.GetEvalSet(c, c.Param("name"))
	if err != nil {
		storeErr(c, err, "evaluation set")
		return
	}
	c.JSON(http.StatusOK, set)
}

func deleteEvalSet(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	if err := s.Warehouse.DeleteEvalSet(c, c.Param("name")); err != nil {
		storeErr(c, err, "evaluation set")
		return
	}
	if _, ok := s.audit(c, "evalset.delete", "evalset "+c.Param("name"), "", http.StatusNoContent, ""); ok {
		c.Status(http.StatusNoContent)
	}
}

// modelEvaluation: a version's scores beside the published version's and the
// gate's verdict, for the platform admin and the version's own vendor.
func modelEvaluation(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) || !ownVendor(c, c.Param("vendor")) {
		return
	}
	ev, err := s.Warehouse.Evaluate(c, c.Param("vendor"), c.Param("name"), c.Param("version"))
	if err != nil {
		storeErr(c, err, "model version")
		return
	}
	c.JSON(http.StatusOK, ev)
}

// rescoreModel queues the scoring of a version (and of its baseline) on the sets
// it has no current score for.
func rescoreModel(s *Server, c *gin.Context) {
	if !s.warehouseOn(c) {
		return
	}
	if err := s.Warehouse.Rescore(c, c.Param("vendor"), c.Param("name"), c.Param("version")); err != nil {
		storeErr(c, err, "model version")
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"queued": models.QualifiedName(c.Param("vendor"), c.Param("name")) + "@" + c.Param("version")})
}

func listGates(s *Server, c *gin.Context) {
	gs, err := s.DB.ListGates(c)
	if err != nil {
		storeErr(c, err, "gates")
		return
	}
	c.JSON(http.StatusOK, gin.H{"gates": orEmpty(gs)})
}

// setGate sets the regression gate of a model (or of all models: "model": "");
// null max_drop_points removes it. Audited.
func setGate(s *Server, c *gin.Context) {
	var b struct {
		Model         *string  `json:"model"`
		MaxDropPoints *float64 `json:"max_drop_points"`
	}
	if !bindJSON(c, &b) {
		return
	}
	if b.Model == nil {
		fail(c, http.StatusBadRequest, "model", "model: required: a model (name or vendor/name), or \"\" for every model")
		return
	}
	if *b.Model != "" {
		if _, _, err := models.SplitName(*b.Model); err != nil {
			fail(c, http.StatusBadRequest, "model", "model: "+quote(*b.Model)+" is not a model name (name or vendor/name)")
			return
		}
	}
	if b.MaxDropPoints != nil && (*b.MaxDropPoints < 0 || *b.MaxDropPoints > 100) {
		fail(c, http.StatusBadRequest, "max_drop_points", "max_drop_points: from 0 to 100 percentage points, or null to remove the gate")
		return
	}
	if err := s.DB.SetGate(c, *b.Model, b.MaxDropPoints, who(c).User.ID); err != nil {
		storeErr(c, err, "gate")
		return
	}
	detail := "removed"
	if b.MaxDropPoints != nil {
		detail = fmt.Sprintf("no more than %g points below the published version", *b.MaxDropPoints)
	}
	if _, ok := s.audit(c, "model.gate", "gate "+quote(*b.Model), "", http.StatusOK, detail); ok {
		listGates(s, c)
	}
}

// evalsetRoutes are the evaluation-set and gate routes of the warehouse.
func evalsetRoutes() []route {
	return []route{
		{http.MethodPost, "/api/v1/warehouse/evalsets", "Upload a labelled evaluation set (multipart: name, task, description, annotations, images; docs/evaluation-sets.md); published versions of its task are scored on it in the background", admin, nil, "multipart:EvalSet", uploadEvalSet},
		{http.MethodGet, "/api/v1/warehouse/evalsets", "Evaluation sets (name, task, images, sha256)", admin, []string{"task"}, "", listEvalSets},
		{http.MethodGet, "/api/v1/warehouse/evalsets/:name", "An evaluation set with its labels", admin, nil, "", getEvalSet},
		{http.MethodDelete, "/api/v1/warehouse/evalsets/:name", "Delete an evaluation set and the scores measured on it", admin, nil, "", deleteEvalSet},
		{http.MethodGet, "/api/v1/warehouse/models/:vendor/:name/:version/evaluation", "A version's scores on the evaluation sets beside the published version's, with the gate's verdict (its own vendor and the platform admin)", vendors, nil, "", modelEvaluation},
		{http.MethodPost, "/api/v1/warehouse/models/:vendor/:name/:version/evaluate", "Score a version (and the version it is compared with) on the sets it has no score for", admin, nil, "", rescoreModel},
		{http.MethodGet, "/api/v1/warehouse/gates", "Regression gates per model (\"\" applies to every model without its own)", admin, nil, "", listGates},
		{http.MethodPut, "/api/v1/warehouse/gates", "Set (or with null remove) a model's regression gate: the most percentage points a version may score below the published version on any set (audited)", admin, nil, "Gate", setGate},
	}
}
