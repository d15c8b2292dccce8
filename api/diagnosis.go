package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/quality"
	"github.com/cityeye/cityeye/store"
)

// setDiagnosisParams answers PUT /api/v1/diagnosis/params/:scope: the picture
// diagnosis' thresholds (video_quality options) for one camera (scope: its device
// ID; its owner department's admins) or an area (a 6-digit division: the default of
// every camera inside it, whoever owns them; the platform office). A null options
// removes them.
func setDiagnosisParams(s *Server, c *gin.Context) {
	var b struct {
		Options json.RawMessage `json:"options"`
	}
	if !bindJSON(c, &b) {
		return
	}
	scope, p := c.Param("scope"), who(c)
	switch {
	case divisionRE.MatchString(scope):
		if !isAdmin(p) {
			fail(c, http.StatusForbidden, "scope", "scope: an area's defaults apply to every department's cameras in it; the platform office sets them")
			return
		}
	case len(scope) == 20:
		cam, err := s.DB.GetCamera(c, scope)
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusNotFound, "scope", "scope: no catalogue camera "+scope)
			return
		} else if err != nil {
			storeErr(c, err, "camera")
			return
		}
		if !isAdmin(p) && cam.OwnerDept != p.Dept.ID {
			fail(c, http.StatusForbidden, "scope", "scope: camera "+scope+" belongs to "+cam.OwnerDept)
			return
		}
	default:
		fail(c, http.StatusBadRequest, "scope", "scope: a 20-digit device ID or a 6-digit area code")
		return
	}
	var stored []byte
	if len(b.Options) > 0 && string(b.Options) != "null" {
		if _, err := quality.ParseOptions(b.Options); err != nil {
			var fe *algorithms.FieldError
			if errors.As(err, &fe) {
				fail(c, http.StatusBadRequest, "options", fe.Field+": "+fe.Msg)
				return
			}
			fail(c, http.StatusBadRequest, "options", "options: "+err.Error())
			return
		}
		stored = b.Options
	}
	if err := s.DB.SetDiagnosisParams(c, scope, stored); err != nil {
		storeErr(c, err, "diagnosis params")
		return
	}
	c.JSON(http.StatusOK, gin.H{"scope": scope, "options": b.Options})
}
