package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/scheduler"
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

// streamSnapshot answers GET /api/v1/streams/:id/snapshot: the camera's current
// picture, watermarked and audited like a capture's snapshot, for callers who may
// see the camera and download its images (owner, or a grant with the snapshots
// right). The picture is the latest frame of the worker decoding the camera (the
// in-process one, or in distributed mode the remote one, asked through its lease),
// else one key frame grabbed on request (X-Frame-Source says which). 409 says why
// there is none; the console then shows the latest capture.
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
	b, at, from, err := s.currentFrame(c, st)
	switch {
	case errors.Is(err, workers.ErrGrabBusy):
		c.Header("Retry-After", "3")
		fail(c, http.StatusServiceUnavailable, "", err.Error())
		return
	case err != nil:
		fail(c, http.StatusConflict, "", "camera "+st.ID+" has no frame now: "+err.Error()+"; use its latest capture")
		return
	}
	e, ok := s.audit(c, "stream.snapshot", st.ID, grantID, http.StatusOK, st.OwnerDept+" "+from+" frame "+at.UTC().Format("2006-01-02T15:04:05.000Z"))
	if !ok {
		return
	}
	c.Header("X-Frame-Time", at.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	c.Header("X-Frame-Source", from)
	s.serveMarked(c, e, b)
}

// currentFrame is the camera's picture now and where it comes from: "live" (the
// decoding worker's latest frame) or "keyframe" (grabbed for this request).
func (s *Server) currentFrame(c *gin.Context, st store.Stream) ([]byte, time.Time, string, error) {
	if s.Cluster != nil && !s.Cluster.LocalOnly {
		ctx, cancel := context.WithTimeout(c, liveFrameWait)
		defer cancel()
		b, at, err := s.Cluster.LiveFrame(ctx, st.ID, time.Second)
		if !errors.Is(err, scheduler.ErrNotRunning) {
			if errors.Is(err, context.DeadlineExceeded) {
				err = errors.New("its worker sent no frame within " + liveFrameWait.String())
			}
			return b, at, "live", err
		}
	} else if s.Worker != nil {
		if b, at, err := s.Worker.LiveFrame(st.ID); !errors.Is(err, workers.ErrNoLiveFrame) {
			return b, at, "live", err
		}
	}
	s.grabOnce.Do(func() {
		if s.KeyFrames == nil {
			s.KeyFrames = &workers.Grabber{ImportDirs: s.ImportDirs, Guard: s.Outbound}
		}
	})
	b, at, err := s.KeyFrames.KeyFrame(c, st)
	return b, at, "keyframe", err
}

// liveFrameWait bounds how long a request waits for a remote worker's frame: its
// next heartbeat (every lease TTL/4) carries the request, then it uploads the frame.
const liveFrameWait = 4 * time.Second
