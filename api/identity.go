package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)

func checkID(field, v string) (string, string) {
	if !idRE.MatchString(v) {
		return field, field + ": 2–32 characters of a-z, 0-9, _ and -, starting with a letter or digit"
	}
	return "", ""
}

// DefaultTokenLifetime is how long an API token lives when its creator names no
// lifetime, the bootstrap administrator's included (Server.TokenLifetime overrides it).
const DefaultTokenLifetime = 90 * 24 * time.Hour

// Bootstrap makes a fresh database usable: when it has no users it creates the
// platform office (all areas) and its administrator, and returns a new token for
// it (created true), valid for lifetime (0: DefaultTokenLifetime). Call it at
// start-up; show the token once. Before it expires the administrator makes a new one
// with POST /api/v1/users/admin/tokens.
func Bootstrap(ctx context.Context, db *store.DB, lifetime time.Duration) (token string, created bool, err error) {
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", false, err
	}
	if _, err := db.GetDepartment(ctx, "platform"); errors.Is(err, store.ErrNotFound) {
		if err := db.CreateDepartment(ctx, &store.Department{ID: "platform", Name: "市视频办", Areas: []string{"000000"}}); err != nil {
			return "", false, err
		}
	} else if err != nil {
		return "", false, err
	}
	if err := db.CreateUser(ctx, &store.User{ID: "admin", Name: "管理员", DeptID: "platform", Role: auth.PlatformAdmin}); err != nil {
		return "", false, err
	}
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	token = auth.NewToken()
	t := &store.Token{ID: newID(), UserID: "admin", Name: "bootstrap", ExpiresAt: time.Now().UTC().Add(lifetime)}
	if err := db.CreateToken(ctx, t, token); err != nil {
		return "", false, err
	}
	return token, true, nil
}

func me(s *Server, c *gin.Context) {
	p := who(c)
	c.JSON(http.StatusOK, gin.H{"user": p.User, "department": p.Dept, "token_id": p.TokenID})
}

// ---- departments ----

type deptBody struct {
	ID    string      `json:"id"`
	Name  string      `json:"name"`
	Areas []string    `json:"areas"`
	Quota store.Quota `json:"quota"`
}

func (b deptBody) validate() (string, string) {
	if f, m := checkID("id", b.ID); f != "" {
		return f, m
	}
	if strings.TrimSpace(b.Name) == "" {
		return "name", "name: required"
	}
	if len(b.Areas) == 0 {
		return "areas", "areas: at least one GB/T 2260 code (441502 district, 441500 city, 440000 province)"
	}
	for i, a := range b.Areas {
		if err := auth.CheckArea(a); err != nil {
			return "areas[" + strconv.Itoa(i) + "]", "areas[" + strconv.Itoa(i) + "]: " + err.Error()
		}
	}
	switch {
	case b.Quota.Streams < 0:
		return "quota.streams", "quota.streams: 0 (unlimited) or more"
	case b.Quota.Tasks < 0:
		return "quota.tasks", "quota.tasks: 0 (unlimited) or more"
	case b.Quota.FPSShare < 0 || b.Quota.FPSShare > 1:
		return "quota.fps_share", "quota.fps_share: a fraction in [0, 1]; 0 means unlimited"
	}
	return "", ""
}

func createDepartment(s *Server, c *gin.Context) {
	var b deptBody
	if !bindJSON(c, &b) {
		return
	}
	if f, m := b.validate(); f != "" {
		fail(c, http.StatusBadRequest, f, m)
		return
	}
	d := &store.Department{ID: b.ID, Name: strings.TrimSpace(b.Name), Areas: b.Areas, Quota: b.Quota}
	if err := s.DB.CreateDepartment(c, d); err != nil {
		storeErr(c, err, "department "+b.ID)
		return
	}
	c.JSON(http.StatusCreated, d)
}

func updateDepartment(s *Server, c *gin.Context) {
	var b deptBody
	if !bindJSON(c, &b) {
		return
	}
	if b.ID == "" {
		b.ID = c.Param("id")
	}
	if b.ID != c.Param("id") {
		fail(c, http.StatusBadRequest, "id", "id cannot change")
		return
	}
	if f, m := b.validate(); f != "" {
		fail(c, http.StatusBadRequest, f, m)
		return
	}
	d := &store.Department{ID: b.ID, Name: strings.TrimSpace(b.Name), Areas: b.Areas, Quota: b.Quota}
	if err := s.DB.UpdateDepartment(c, d); err != nil {
		storeErr(c, err, "department "+b.ID)
		return
	}
	s.Scheduler.Notify() // areas and quotas change what may run
	c.JSON(http.StatusOK, d)
}

func listDepartments(s *Server, c *gin.Context) {
	ds, err := s.DB.ListDepartments(c)
	if err != nil {
		storeErr(c, err, "departments")
		return
	}
	c.JSON(http.StatusOK, gin.H{"departments": orEmpty(ds), "total": len(ds)})
}

func getDepartment(s *Server, c *gin.Context) {
	p := who(c)
	if !isAdmin(p) && p.Dept.ID != c.Param("id") {
		fail(c, http.StatusNotFound, "", "department "+c.Param("id")+" not found")
		return
	}
	d, err := s.DB.GetDepartment(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "department "+c.Param("id"))
		return
	}
	sts, tasks, err := s.DB.DeptUsage(c, d.ID)
	if err != nil {
		storeErr(c, err, "usage")
		return
	}
	c.JSON(http.StatusOK, gin.H{"department": d, "usage": gin.H{"streams": sts, "tasks": tasks}})
}

// ---- users and tokens ----

type userBody struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	DeptID string    `json:"department"`
	Role   auth.Role `json:"role"`
}

func createUser(s *Server, c *gin.Context) {
	var b userBody
	if !bindJSON(c, &b) {
		return
	}
	p := who(c)
	if b.DeptID == "" {
		b.DeptID = p.Dept.ID
	}
	switch f, m := checkID("id", b.ID); {
	case f != "":
		fail(c, http.StatusBadRequest, f, m)
		return
	case strings.TrimSpace(b.Name) == "":
		fail(c, http.StatusBadRequest, "name", "name: required")
		return
	case !b.Role.Valid():
		fail(c, http.StatusBadRequest, "role", "role: one of platform_admin, dept_admin, operator, analyst, vendor, subscriber")
		return
	}
	if !isAdmin(p) && (b.DeptID != p.Dept.ID || b.Role == auth.PlatformAdmin) {
		fail(c, http.StatusForbidden, "department", "a department admin creates users of its own department only, and no platform admins")
		return
	}
	// a worker receives every department's stream URLs in its lease and a vendor's
	// models run on every department's video: the platform office vouches for both
	if !isAdmin(p) && (b.Role == auth.WorkerRole || b.Role == auth.Vendor) {
		fail(c, http.StatusForbidden, "role", "role: only the platform administrator creates "+string(b.Role)+" accounts")
		return
	}
	if b.Role == auth.PlatformAdmin && b.DeptID != "platform" {
		fail(c, http.StatusBadRequest, "role", "platform_admin users belong to the platform department")
		return
	}
	if _, err := s.DB.GetDepartment(c, b.DeptID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusBadRequest, "department", "department: no department "+quote(b.DeptID))
		} else {
			storeErr(c, err, "department")
		}
		return
	}
	u := &store.User{ID: b.ID, Name: strings.TrimSpace(b.Name), DeptID: b.DeptID, Role: b.Role}
	if err := s.DB.CreateUser(c, u); err != nil {
		storeErr(c, err, "user "+b.ID)
		return
	}
	c.JSON(http.StatusCreated, u)
}

func listUsers(s *Server, c *gin.Context) {
	p, dept := who(c), c.Query("department")
	if !isAdmin(p) {
		dept = p.Dept.ID
	}
	us, err := s.DB.ListUsers(c, dept)
	if err != nil {
		storeErr(c, err, "users")
		return
	}
	c.JSON(http.StatusOK, gin.H{"users": orEmpty(us), "total": len(us)})
}

// managedUser loads a user the caller may manage: themselves, their department's
// users for a department admin, anyone for the platform admin. Others are 404s.
func (s *Server) managedUser(c *gin.Context, id string) (store.User, bool) {
	p := who(c)
	u, err := s.DB.GetUser(c, id)
	if err == nil && !isAdmin(p) && u.ID != p.User.ID && !(p.User.Role == auth.DeptAdmin && u.DeptID == p.Dept.ID) {
		err = store.ErrNotFound
	}
	if err != nil {
		storeErr(c, err, "user "+id)
		return u, false
	}
	return u, true
}

func disableUser(s *Server, c *gin.Context) {
	u, ok := s.managedUser(c, c.Param("id"))
	if !ok {
		return
	}
	if u.ID == who(c).User.ID {
		fail(c, http.StatusBadRequest, "id", "you cannot disable yourself")
		return
	}
	if err := s.DB.SetUserDisabled(c, u.ID, true); err != nil {
		storeErr(c, err, "user")
		return
	}
	c.Status(http.StatusNoContent)
}

type tokenBody struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days"`
	WorkerID      string `json:"worker_id"`
}

func (s *Server) tokenLifetime() time.Duration {
	if s.TokenLifetime > 0 {
		return s.TokenLifetime
	}
	return DefaultTokenLifetime
}

func createToken(s *Server, c *gin.Context) {
	u, ok := s.managedUser(c, c.Param("id"))
	if !ok {
		return
	}
	var b tokenBody
	if !bindJSON(c, &b) {
		return
	}
	if b.ExpiresInDays < 0 || b.ExpiresInDays > 3650 {
		fail(c, http.StatusBadRequest, "expires_in_days", "expires_in_days: 1 to 3650; 0 or absent for the default")
		return
	}
	// a worker token is bound to one worker ID (the heartbeat's id must match), and
	// only the platform office issues it: the worker itself may not mint others
	switch {
	case u.Role == auth.WorkerRole && !isAdmin(who(c)):
		fail(c, http.StatusForbidden, "", "only the platform administrator creates worker tokens")
		return
	case u.Role == auth.WorkerRole && !idRE.MatchString(b.WorkerID):
		fail(c, http.StatusBadRequest, "worker_id", "worker_id: the ID of the worker this token may heartbeat as (2–32 characters of a-z, 0-9, _ and -)")
		return
	case u.Role != auth.WorkerRole && b.WorkerID != "":
		fail(c, http.StatusBadRequest, "worker_id", "worker_id: only for users with the worker role")
		return
	}
	life := s.tokenLifetime()
	if b.ExpiresInDays > 0 {
		life = time.Duration(b.ExpiresInDays) * 24 * time.Hour
	}
	t := &store.Token{ID: newID(), UserID: u.ID, Name: b.Name, WorkerID: b.WorkerID, ExpiresAt: s.now().Add(life)}
	secret := auth.NewToken()
	if err := s.DB.CreateToken(c, t, secret); err != nil {
		storeErr(c, err, "token")
		return
	}
	c.JSON(http.StatusCreated, gin.H{"token": secret, "id": t.ID, "user_id": u.ID, "worker_id": t.WorkerID, "expires_at": t.ExpiresAt,
		"note": "store the token now: it is not shown again"})
}

func listTokens(s *Server, c *gin.Context) {
	u, ok := s.managedUser(c, c.Param("id"))
	if !ok {
		return
	}
	ts, err := s.DB.ListTokens(c, u.ID)
	if err != nil {
		storeErr(c, err, "tokens")
		return
	}
	c.JSON(http.StatusOK, gin.H{"tokens": orEmpty(ts), "total": len(ts)})
}

func revokeToken(s *Server, c *gin.Context) {
	t, err := s.DB.GetToken(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "token "+c.Param("id"))
		return
	}
	if _, ok := s.managedUser(c, t.UserID); !ok {
		return
	}
	if err := s.DB.RevokeToken(c, t.ID); err != nil {
		storeErr(c, err, "token")
		return
	}
	c.Status(http.StatusNoContent)
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
