package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// Deleting records over /VIID: a batch (?IDList=a,b) answered with one status per
// ID, or one object (DELETE /VIID/Faces/{ID}) answered with one status. Only the
// caller's department's records go (the platform admin's: any); every attempt is
// audited, the refused ones too.

func viidDelete(s *Server, c *gin.Context) {
	k := s.viidKind(c)
	if c.Query("IDList") == "" {
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidOperation, "IDList", "IDList: comma-separated IDs to delete")
		return
	}
	var statuses []gat1400.ResponseStatus
	for _, id := range strings.Split(c.Query("IDList"), ",") {
		statuses = append(statuses, s.viidDeleteOne(c, k, id))
	}
	c.JSON(http.StatusOK, gat1400.NewResponseStatusList(statuses...))
}

// viidDeleteByID: DELETE /VIID/<X>s/{ID}; 404 when the record is not there or not
// the caller's to delete (one answer for both: a guess learns nothing).
func viidDeleteByID(s *Server, c *gin.Context) {
	st := s.viidDeleteOne(c, s.viidKind(c), c.Param("id"))
	code := http.StatusOK
	if st.StatusCode != gat1400.StatusOK {
		code = http.StatusNotFound
	}
	c.JSON(code, gat1400.ResponseStatusEnvelope{ResponseStatusObject: st})
}

// viidDeleteOne deletes one record of kind k with its snapshots.
func (s *Server) viidDeleteOne(c *gin.Context, k viidKind, id string) gat1400.ResponseStatus {
	p := who(c)
	st := gat1400.NewResponseStatus(c.Request.URL.Path, id, gat1400.StatusOK, s.now())
	r, err := s.DB.GetRecord(c, p.Scope(), id)
	if err == nil && (r.Type != k.Object || (!isAdmin(p) && r.DeptID != p.Dept.ID)) {
		err = store.ErrNotFound
	}
	var imgs []string
	if err == nil {
		imgs, err = s.DB.DeleteRecord(c, id)
	}
	if err != nil {
		s.audit(c, "record.delete", id, "", http.StatusNotFound, "VIID: not found or not yours")
		st.StatusCode, st.StatusString = gat1400.StatusInvalidOperation, k.Object+" "+id+" not found or not yours to delete"
		return st
	}
	for _, key := range imgs {
		s.Objects.Delete(c, key)
	}
	s.DB.Forget(c, imgs)
	s.audit(c, "record.delete", id, r.GrantID, http.StatusOK, "VIID")
	return st
}
