package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

// MaxGrantPeriod is the longest period one application may ask for.
const MaxGrantPeriod = 366 * 24 * time.Hour

type applicationBody struct {
	DeviceID   string       `json:"device_id"`
	Reason     string       `json:"reason"`
	Rights     []auth.Right `json:"rights"`
	Algorithms []string     `json:"algorithms"`
	StartsAt   time.Time    `json:"starts_at"`
	EndsAt     time.Time    `json:"ends_at"`
}

func createApplication(s *Server, c *gin.Context) {
	var b applicationBody
	if !bindJSON(c, &b) {
		return
	}
	p, now := who(c), s.now()
	st, err := s.DB.GetStream(c, b.DeviceID)
	switch {
	case b.DeviceID == "":
		fail(c, http.StatusBadRequest, "device_id", "device_id: required")
		return
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusBadRequest, "device_id", "device_id: no camera "+b.DeviceID+" is registered")
		return
	case err != nil:
		storeErr(c, err, "stream")
		return
	case st.OwnerDept == p.Dept.ID:
		fail(c, http.StatusBadRequest, "device_id", "device_id: your department owns this camera; no application is needed")
		return
	case st.Sharing == auth.SharingNone:
		fail(c, http.StatusForbidden, "device_id", "device_id: camera "+st.ID+" is not shared by its owner "+st.OwnerDept)
		return
	}
	if n := len([]rune(strings.TrimSpace(b.Reason))); n == 0 || n > 500 {
		fail(c, http.StatusBadRequest, "reason", "reason: required, at most 500 characters")
		return
	}
	if len(b.Rights) == 0 {
		fail(c, http.StatusBadRequest, "rights", "rights: ask for at least one of analyse, records, snapshots")
		return
	}
	for i, r := range b.Rights {
		if !auth.ValidRight(r) {
			f := "rights[" + strconv.Itoa(i) + "]"
			fail(c, http.StatusBadRequest, f, f+": unknown right "+quote(string(r))+"; one of analyse, records, snapshots")
			return
		}
	}
	for i, a := range b.Algorithms {
		if _, ok := algorithms.Lookup(a); !ok {
			f := "algorithms[" + strconv.Itoa(i) + "]"
			fail(c, http.StatusBadRequest, f, f+": unknown algorithm "+quote(a)+"; see GET /api/v1/algorithms")
			return
		}
	}
	switch {
	case b.StartsAt.IsZero():
		fail(c, http.StatusBadRequest, "starts_at", "starts_at: required, RFC 3339")
		return
	case b.EndsAt.IsZero() || !b.EndsAt.After(b.StartsAt):
		fail(c, http.StatusBadRequest, "ends_at", "ends_at: required, after starts_at")
		return
	case !b.EndsAt.After(now):
		fail(c, http.StatusBadRequest, "ends_at", "ends_at: the period is already over")
		return
	case b.EndsAt.Sub(b.StartsAt) > MaxGrantPeriod:
		fail(c, http.StatusBadRequest, "ends_at", "ends_at: a grant lasts at most 366 days; apply again to renew")
		return
	}
	window := s.DecisionWindow
	if window <= 0 {
		window = 72 * time.Hour
	}
	slices.Sort(b.Rights)
	a := &store.Application{ID: newID(), DeviceID: st.ID, DeptID: p.Dept.ID, OwnerDept: st.OwnerDept, Reason: strings.TrimSpace(b.Reason),
		Rights: slices.Compact(b.Rights), Algorithms: b.Algorithms, StartsAt: b.StartsAt.UTC(), EndsAt: b.EndsAt.UTC(), Deadline: now.Add(window), CreatedBy: p.User.ID}
	if a.Algorithms == nil {
		a.Algorithms = []string{}
	}
	if err := s.DB.CreateApplication(c, a); err != nil {
		storeErr(c, err, "application")
		return
	}
	s.notice(c, a.OwnerDept, "application.new", a.ID, "department "+a.DeptID+" applies to use camera "+a.DeviceID+": "+a.Reason+" (decide before "+a.Deadline.Format(time.RFC3339)+")")
	c.JSON(http.StatusCreated, a)
}

func listApplications(s *Server, c *gin.Context) {
	p := who(c)
	f := store.ApplicationFilter{State: c.Query("state"), DeviceID: c.Query("device_id")}
	if !isAdmin(p) {
		f.Dept = p.Dept.ID
	}
	as, err := s.DB.ListApplications(c, f)
	if err != nil {
		storeErr(c, err, "applications")
		return
	}
	c.JSON(http.StatusOK, gin.H{"applications": orEmpty(as), "total": len(as)})
}

// application loads an application the caller's department is a party to.
func (s *Server) application(c *gin.Context) (store.Application, bool) {
	p := who(c)
	a, err := s.DB.GetApplication(c, c.Param("id"))
	if err == nil && !isAdmin(p) && a.DeptID != p.Dept.ID && a.OwnerDept != p.Dept.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		storeErr(c, err, "application "+c.Param("id"))
		return a, false
	}
	return a, true
}

func getApplication(s *Server, c *gin.Context) {
	if a, ok := s.application(c); ok {
		c.JSON(http.StatusOK, a)
	}
}

type decisionBody struct {
	Note string `json:"note"`
}

func decide(s *Server, c *gin.Context, approve bool) {
	a, ok := s.application(c)
	if !ok {
		return
	}
	p := who(c)
	if !isAdmin(p) && a.OwnerDept != p.Dept.ID {
		fail(c, http.StatusForbidden, "", "only the owner department "+a.OwnerDept+" decides application "+a.ID)
		return
	}
	var b decisionBody
	if c.Request.ContentLength != 0 && !bindJSON(c, &b) {
		return
	}
	a, err := s.DB.Decide(c, a.ID, approve, p.User.ID, b.Note, s.now())
	if err != nil {
		storeErr(c, err, "application")
		return
	}
	s.notice(c, a.DeptID, "application."+a.State, a.ID, "your application "+a.ID+" for camera "+a.DeviceID+" was "+a.State+" by "+a.OwnerDept+noteSuffix(b.Note))
	s.Scheduler.Notify()
	c.JSON(http.StatusOK, a)
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return ": " + n
}

func approveApplication(s *Server, c *gin.Context) { decide(s, c, true) }
func rejectApplication(s *Server, c *gin.Context)  { decide(s, c, false) }

func withdrawApplication(s *Server, c *gin.Context) {
	a, ok := s.application(c)
	if !ok {
		return
	}
	p := who(c)
	if !isAdmin(p) && a.State == store.AppPending && a.OwnerDept == p.Dept.ID {
		fail(c, http.StatusConflict, "", "application "+a.ID+" is pending: the owner rejects it rather than withdraws it")
		return
	}
	a, err := s.DB.Withdraw(c, a.ID, p.User.ID, s.now())
	if err != nil {
		storeErr(c, err, "application")
		return
	}
	other := a.OwnerDept
	if p.Dept.ID == a.OwnerDept {
		other = a.DeptID
	}
	s.notice(c, other, "grant.withdrawn", a.ID, "grant "+a.ID+" on camera "+a.DeviceID+" was withdrawn by "+p.User.ID+" ("+p.Dept.ID+"); tasks under it stop")
	s.Scheduler.Notify() // the grantee's tasks on the camera stop now
	c.JSON(http.StatusOK, a)
}

func (s *Server) notice(ctx context.Context, dept, kind, ref, msg string) {
	if err := s.DB.AddNotice(ctx, dept, kind, ref, msg); err != nil {
		slog.Warn("notice not stored", "dept", dept, "kind", kind, "err", err)
	}
}

func listNotices(s *Server, c *gin.Context) {
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(c, http.StatusBadRequest, "limit", "limit: integer in [1, 1000]")
			return
		}
		limit = n
	}
	ns, err := s.DB.ListNotices(c, who(c).Dept.ID, limit)
	if err != nil {
		storeErr(c, err, "notices")
		return
	}
	c.JSON(http.StatusOK, gin.H{"notices": orEmpty(ns), "total": len(ns)})
}
