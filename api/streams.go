package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/catalogue"
	"github.com/cityeye/cityeye/workers/source"
)

// streamBody is what clients send to register or update a camera.
type streamBody struct {
	DeviceID      string   `json:"device_id"`
	Name          string   `json:"name"`
	URL           string   `json:"url"`
	AdminDivision string   `json:"admin_division"`
	Longitude     *float64 `json:"longitude"`
	Latitude      *float64 `json:"latitude"`
	OwnerDept     string   `json:"owner_department"`
	PointType     int      `json:"point_type"`
	Sharing       *int     `json:"sharing"`
}

var divisionRE = regexp.MustCompile(`^[0-9]{6}$`)

// validate checks a stream body; the returned field is the JSON name.
func (b streamBody) validate() (string, error) {
	d, err := gat1400.ParseDeviceID(b.DeviceID)
	if err != nil {
		var fe *gat1400.FieldError
		if errors.As(err, &fe) {
			return "device_id", errors.New(fe.Msg)
		}
		return "device_id", err
	}
	if !d.IsCamera() {
		return "device_id", fmt.Errorf("type code %s is not a camera or checkpoint (131, 132, 121 …)", d.Type)
	}
	if n := len([]rune(strings.TrimSpace(b.Name))); n == 0 || n > 100 {
		return "name", errors.New("name is required, at most 100 characters")
	}
	if err := checkStreamURL(b.URL); err != nil {
		return "url", err
	}
	if !divisionRE.MatchString(b.AdminDivision) {
		return "admin_division", errors.New("must be a 6-digit GB/T 2260 code such as 441502")
	}
	if b.Longitude == nil || *b.Longitude < -180 || *b.Longitude > 180 {
		return "longitude", errors.New("required, in [-180, 180]")
	}
	if b.Latitude == nil || *b.Latitude < -90 || *b.Latitude > 90 {
		return "latitude", errors.New("required, in [-90, 90]")
	}
	if strings.TrimSpace(b.OwnerDept) == "" {
		return "owner_department", errors.New("required")
	}
	if b.PointType < 1 || b.PointType > 3 {
		return "point_type", errors.New("must be 1 (key public area), 2 (key industry) or 3 (general)")
	}
	if b.Sharing == nil || *b.Sharing < 0 || *b.Sharing > 2 {
		return "sharing", errors.New("required: 0 conditional, 1 unconditional, 2 not shared")
	}
	return "", nil
}

func checkStreamURL(raw string) error { return catalogue.CheckURL(raw) }

func (b streamBody) stream() *store.Stream {
	return &store.Stream{ID: b.DeviceID, Name: strings.TrimSpace(b.Name), URL: b.URL, AdminDivision: b.AdminDivision,
		Longitude: *b.Longitude, Latitude: *b.Latitude, OwnerDept: b.OwnerDept, PointType: b.PointType, Sharing: *b.Sharing}
}

func createStream(s *Server, c *gin.Context) {
	var b streamBody
	if !bindJSON(c, &b) {
		return
	}
	st, ok := s.checkStream(c, b)
	if !ok {
		return
	}
	if err := s.DB.CreateStream(c, st); err != nil {
		storeErr(c, err, "stream "+st.ID)
		return
	}
	out := *st
	out.URL = redactURL(out.URL)
	c.JSON(http.StatusCreated, out)
}

// checkStream validates a stream body and the caller's right to register it: a
// department registers its own cameras, inside its own areas.
func (s *Server) checkStream(c *gin.Context, b streamBody) (*store.Stream, bool) {
	p := who(c)
	if b.OwnerDept == "" && !isAdmin(p) {
		b.OwnerDept = p.Dept.ID
	}
	if field, err := b.validate(); err != nil {
		fail(c, http.StatusBadRequest, field, field+": "+err.Error())
		return nil, false
	}
	if u, _ := url.Parse(b.URL); u != nil && u.Scheme == "file" { // url.Parse lower-cases the scheme
		if _, err := source.ImportPath(b.URL, s.ImportDirs); err != nil {
			fail(c, http.StatusBadRequest, "url", "url: "+err.Error())
			return nil, false
		}
	}
	if !isAdmin(p) && b.OwnerDept != p.Dept.ID {
		fail(c, http.StatusForbidden, "owner_department", "owner_department: you register cameras for your own department ("+p.Dept.ID+") only")
		return nil, false
	}
	owner, err := s.DB.GetDepartment(c, b.OwnerDept)
	if errors.Is(err, store.ErrNotFound) {
		fail(c, http.StatusBadRequest, "owner_department", "owner_department: no department "+quote(b.OwnerDept)+"; create it with POST /api/v1/departments")
		return nil, false
	}
	if err != nil {
		storeErr(c, err, "department")
		return nil, false
	}
	if !auth.InAreas(b.AdminDivision, owner.Areas) {
		fail(c, http.StatusBadRequest, "admin_division", "admin_division: "+b.AdminDivision+" is outside the areas of "+owner.ID+" ("+strings.Join(owner.Areas, ", ")+")")
		return nil, false
	}
	return b.stream(), true
}

// ownedStream loads a stream the caller may change: its owner department's staff or
// the platform admin. Invisible streams are 404s, visible but foreign ones 403s.
func (s *Server) ownedStream(c *gin.Context, id string) (store.Stream, bool) {
	p := who(c)
	st, err := s.DB.VisibleStream(c, p.Scope(), id, s.now())
	if err != nil {
		storeErr(c, err, "stream "+id)
		return st, false
	}
	if !isAdmin(p) && st.OwnerDept != p.Dept.ID {
		fail(c, http.StatusForbidden, "", "stream "+id+" belongs to "+st.OwnerDept+"; only its staff change it")
		return st, false
	}
	return st, true
}

func updateStream(s *Server, c *gin.Context) {
	old, ok := s.ownedStream(c, c.Param("id"))
	if !ok {
		return
	}
	var b streamBody
	if !bindJSON(c, &b) {
		return
	}
	if b.DeviceID == "" {
		b.DeviceID = c.Param("id")
	}
	if b.DeviceID != c.Param("id") {
		fail(c, http.StatusBadRequest, "device_id", "device_id cannot change; register a new stream instead")
		return
	}
	b.URL = keepCredentials(b.URL, old.URL) // a URL read back from GET, redacted, keeps them
	st, ok := s.checkStream(c, b)
	if !ok {
		return
	}
	if err := s.DB.UpdateStream(c, st); err != nil {
		storeErr(c, err, "stream "+st.ID)
		return
	}
	s.Scheduler.Notify() // sharing or area changes may suspend other departments' tasks
	out := *st
	out.URL = redactURL(out.URL)
	c.JSON(http.StatusOK, out)
}

func getStream(s *Server, c *gin.Context) {
	p := who(c)
	st, err := s.DB.VisibleStream(c, p.Scope(), c.Param("id"), s.now())
	if err != nil {
		storeErr(c, err, "stream "+c.Param("id"))
		return
	}
	mine, err := s.ownTasks(c, p, st.ID)
	if err != nil {
		storeErr(c, err, "tasks")
		return
	}
	v := s.view(p, st, mine)
	if !isAdmin(p) {
		acc, err := s.DB.Access(c, p.Dept, st, s.now())
		if err != nil {
			storeErr(c, err, "access")
			return
		}
		v.Access = &acc
	}
	c.JSON(http.StatusOK, v)
}

func listStreams(s *Server, c *gin.Context) {
	p := who(c)
	sts, err := s.DB.ListStreams(c, p.Scope(), s.now())
	if err != nil {
		storeErr(c, err, "streams")
		return
	}
	mine, err := s.ownTasks(c, p, "")
	if err != nil {
		storeErr(c, err, "tasks")
		return
	}
	out := make([]streamView, 0, len(sts))
	for _, st := range sts {
		out = append(out, s.view(p, st, mine))
	}
	c.JSON(http.StatusOK, gin.H{"streams": out, "total": len(out)})
}

func deleteStream(s *Server, c *gin.Context) {
	if _, ok := s.ownedStream(c, c.Param("id")); !ok {
		return
	}
	if err := s.DB.DeleteStream(c, c.Param("id")); err != nil {
		storeErr(c, err, "stream "+c.Param("id"))
		return
	}
	s.Scheduler.Notify()
	c.Status(http.StatusNoContent)
}
