package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/watermark"
	"github.com/cityeye/cityeye/workers"
)

// serveMarked sends a JPEG watermarked with the audit entry that records its
// download (the mark names the entry, the department and the user), so a leaked
// image leads back to who took it.
func (s *Server) serveMarked(c *gin.Context, e store.AuditEntry, b []byte) {
	p := who(c)
	if e.ID > math.MaxUint32 { // the mark carries 32 bits: never let it point at the wrong entry
		fail(c, http.StatusInternalServerError, "", "audit IDs beyond 2^32: the watermark payload cannot name this download")
		return
	}
	marked, err := watermark.Apply(b, watermark.Mark{Payload: uint32(e.ID), Lines: []string{
		"CityEye #" + strconv.FormatInt(e.ID, 10) + " " + p.Dept.ID + "/" + p.User.ID,
		e.At.Format("2006-01-02 15:04:05Z"),
	}}, s.WatermarkKey)
	if err != nil {
		fail(c, http.StatusInternalServerError, "", "watermark: "+err.Error())
		return
	}
	c.Header("Cache-Control", "private, no-store")
	c.Data(http.StatusOK, "image/jpeg", marked)
}

// streamSnapshot answers GET /api/v1/streams/:id/snapshot: the camera's latest
// decoded frame, watermarked and audited like a capture's snapshot, for callers who
// may see the camera and download its images (owner, or a grant with the snapshots
// right). Only the in-process worker has frames: in distributed mode, or while the
// stream decodes nothing, 409 says so and the console shows the latest capture.
func streamSnapshot(s *Server, c *gin.Context) {
	p := who(c)
	st, err := s.DB.VisibleStream(c, p.Scope(), c.Param("id"), s.now())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.audit(c, "stream.snapshot", c.Param("id"), "", http.StatusNotFound, "not found or not visible")
		}
		storeErr(c, err, "stream "+c.Param("id"))
		return
	}
	grantID := ""
	if !isAdmin(p) {
		acc, err := s.DB.Access(c, p.Dept, st, s.now())
		if err != nil {
			storeErr(c, err, "access")
			return
		}
		if !acc.Can(auth.RightSnapshots, "") {
			s.audit(c, "stream.snapshot", st.ID, acc.GrantID, http.StatusForbidden, "no snapshots right")
			fail(c, http.StatusForbidden, "", "your department may not download images of camera "+st.ID+" (no snapshots right)")
			return
		}
		grantID = acc.GrantID
	}
	if s.Worker == nil || s.Cluster != nil && !s.Cluster.LocalOnly {
		fail(c, http.StatusConflict, "", "live snapshots come from the in-process worker; in distributed mode camera "+st.ID+" is decoded by a remote worker: use its latest capture")
		return
	}
	b, at, err := s.Worker.LiveFrame(st.ID)
	if errors.Is(err, workers.ErrNoLiveFrame) {
		fail(c, http.StatusConflict, "", "camera "+st.ID+" has no decoded frame now (no task runs on it, or its stream is offline): use its latest capture")
		return
	}
	if err != nil {
		fail(c, http.StatusInternalServerError, "", "live frame: "+err.Error())
		return
	}
	e, ok := s.audit(c, "stream.snapshot", st.ID, grantID, http.StatusOK, st.OwnerDept+" frame "+at.UTC().Format("2006-01-02T15:04:05.000Z"))
	if !ok {
		return
	}
	c.Header("X-Frame-Time", at.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	s.serveMarked(c, e, b)
}
