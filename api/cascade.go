package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/store"
)

// Cascade upward (级联): the platform administrator names superior view libraries
// this one registers with and pushes records to (cascade_push.go). The password is
// taken once and never shown again; the superior's address is a target a user
// names, so it is checked like every outbound address and reached only through
// the outbound guard.

// cascadeRoutes are the cascade configuration routes and the VIID routes that
// take what a peer sends us (batch updates, subscription notifications).
func cascadeRoutes() []route {
	rs := []route{
		{http.MethodPost, "/api/v1/cascade/links", "Add a superior view library to register with and push records to (级联)", admin, nil, "CascadeLink", createCascadeLink},
		{http.MethodGet, "/api/v1/cascade/links", "Superior view libraries and each link's status", admin, nil, "", listCascadeLinks},
		{http.MethodGet, "/api/v1/cascade/links/:id", "One cascade link and its status", admin, nil, "", getCascadeLink},
		{http.MethodGet, "/api/v1/cascade/links/:id/batches", "A cascade link's outbox: what went up, what waits, what the superior refused", admin, []string{"state", "limit"}, "", listCascadeBatches},
		{http.MethodPatch, "/api/v1/cascade/links/:id", "Change a cascade link (password, address, rules, disabled); it keeps its cursor and outbox", admin, nil, "CascadeLink", updateCascadeLink},
		{http.MethodDelete, "/api/v1/cascade/links/:id", "Remove a cascade link and its outbox", admin, nil, "", deleteCascadeLink},
		{http.MethodPost, "/VIID/SubscribeNotifications", "GA/T 1400 notifications a peer pushes to us: their objects are stored as if POSTed", staff, nil, "", viidReceiveNotifications},
	}
	for _, k := range viidKinds {
		rs = append(rs, route{http.MethodPut, "/VIID/" + k.Path, "Batch update of " + k.Path + " (stored by ID like POST); one ResponseStatusObject each", staff, nil, "", viidPost})
	}
	return rs
}

type cascadeBody struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	DeviceID   string   `json:"device_id"`
	Username   string   `json:"username"`
	Password   string   `json:"password"`
	Types      []string `json:"types"`
	Areas      []string `json:"areas"`
	Sharing    []int    `json:"sharing"`
	KeepaliveS int      `json:"keepalive_s"`
	Disabled   bool     `json:"disabled"`
}

// cascadeTypes are the record types a link may push.
var cascadeTypes = []string{"Face", "Person", "MotorVehicle", "NonMotorVehicle", "Thing", "Scene"}

// superiorURL is the superior's base URL: http(s), no credentials, query or
// fragment; a trailing /VIID is dropped (requests add it).
func (s *Server) superiorURL(v string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.RawQuery != "" || u.Fragment != "" || s.checkOutbound(v) != nil {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), "/VIID"), true
}

func createCascadeLink(s *Server, c *gin.Context) {
	b := cascadeBody{KeepaliveS: 30}
	if !bindJSON(c, &b) {
		return
	}
	l, ok := s.checkLink(c, b)
	if !ok {
		return
	}
	l.ID, l.CreatedBy = "cascade-"+newID(), who(c).User.ID
	if err := s.DB.CreateCascadeLink(c, &l); err != nil {
		storeErr(c, err, "cascade link")
		return
	}
	if _, ok := s.audit(c, "cascade.create", l.ID, "", http.StatusCreated, "records up to "+l.URL+" as "+l.DeviceID); !ok {
		return
	}
	c.JSON(http.StatusCreated, s.linkView(c, l))
}

// updateCascadeLink changes the fields sent (a new password, address, rules, or
// disabled); the link keeps its place in the record feed and its outbox.
func updateCascadeLink(s *Server, c *gin.Context) {
	old, err := s.DB.GetCascadeLink(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "cascade link "+c.Param("id"))
		return
	}
	b := cascadeBody{Name: old.Name, URL: old.URL, DeviceID: old.DeviceID, Username: old.Username, Password: old.Password,
		Types: old.Types, Areas: old.Areas, Sharing: old.Sharing, KeepaliveS: old.KeepaliveS, Disabled: !old.Enabled}
	if !bindJSON(c, &b) {
		return
	}
	l, ok := s.checkLink(c, b)
	if !ok {
		return
	}
	l.ID, l.CreatedBy, l.CreatedAt = old.ID, old.CreatedBy, old.CreatedAt
	if err := s.DB.UpdateCascadeLink(c, l); err != nil {
		storeErr(c, err, "cascade link "+l.ID)
		return
	}
	if _, ok := s.audit(c, "cascade.update", l.ID, "", http.StatusOK, "records up to "+l.URL+" as "+l.DeviceID); !ok {
		return
	}
	c.JSON(http.StatusOK, s.linkView(c, l))
}

// checkLink validates a link's settings, answering the first bad field.
func (s *Server) checkLink(c *gin.Context, b cascadeBody) (store.CascadeLink, bool) {
	if b.Username == "" {
		b.Username = b.DeviceID
	}
	base, okURL := s.superiorURL(b.URL)
	bad := func(field, msg string) (store.CascadeLink, bool) {
		fail(c, http.StatusBadRequest, field, msg)
		return store.CascadeLink{}, false
	}
	switch {
	case b.Name == "" || len(b.Name) > 100:
		return bad("name", "name: 1 to 100 characters")
	case !okURL:
		return bad("url", "url: the superior's http(s) base URL such as http://host:port (no credentials; internal addresses only where the administrator allows them)")
	case !digest.ValidDeviceID(b.DeviceID):
		return bad("device_id", "device_id: this view library's 20-digit ID at the superior")
	case b.Password == "" || len(b.Password) > 128:
		return bad("password", "password: 1 to 128 characters")
	case strings.ContainsAny(b.Username, "\":\r\n") || len(b.Username) > 64:
		return bad("username", "username: up to 64 characters, no quotes, colons or line breaks")
	case b.KeepaliveS < 1 || b.KeepaliveS > 3600:
		return bad("keepalive_s", "keepalive_s: 1 to 3600")
	}
	for _, t := range b.Types {
		if !slices.Contains(cascadeTypes, t) {
			return bad("types", "types: any of "+strings.Join(cascadeTypes, ", "))
		}
	}
	for _, a := range b.Areas {
		if !divisionRE.MatchString(a) {
			return bad("areas", "areas: 6-digit GB/T 2260 codes such as 441502")
		}
	}
	for _, v := range b.Sharing {
		if v < 0 || v > 2 {
			return bad("sharing", "sharing: camera sharing attributes 0 (conditional), 1 (unconditional), 2 (not shared)")
		}
	}
	return store.CascadeLink{Name: b.Name, URL: base, DeviceID: b.DeviceID, Username: b.Username, Password: b.Password,
		Types: b.Types, Areas: b.Areas, Sharing: b.Sharing, KeepaliveS: b.KeepaliveS, Enabled: !b.Disabled}, true
}

// linkView is a link with its status; never its password. The status is the
// running server's: runs_here says whether that is this one (the scheduler leader).
func (s *Server) linkView(c *gin.Context, l store.CascadeLink) gin.H {
	counts, err := s.DB.CascadeCounts(c, l.ID)
	if err != nil {
		counts = store.CascadeCounts{}
	}
	return gin.H{"link": l, "status": s.cascadeRuntime(l.ID).snapshot(), "outbox": counts, "runs_here": s.leadsScheduler()}
}

func listCascadeLinks(s *Server, c *gin.Context) {
	ls, err := s.DB.ListCascadeLinks(c)
	if err != nil {
		storeErr(c, err, "cascade links")
		return
	}
	out := []gin.H{}
	for _, l := range ls {
		out = append(out, s.linkView(c, l))
	}
	c.JSON(http.StatusOK, gin.H{"links": out, "total": len(out)})
}

func getCascadeLink(s *Server, c *gin.Context) {
	l, err := s.DB.GetCascadeLink(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "cascade link "+c.Param("id"))
		return
	}
	c.JSON(http.StatusOK, s.linkView(c, l))
}

func listCascadeBatches(s *Server, c *gin.Context) {
	if _, err := s.DB.GetCascadeLink(c, c.Param("id")); err != nil {
		storeErr(c, err, "cascade link "+c.Param("id"))
		return
	}
	off, limit := 0, 100
	if !pageParams(c, &off, &limit) {
		return
	}
	bs, err := s.DB.ListCascadeBatches(c, c.Param("id"), c.Query("state"), limit)
	if err != nil {
		storeErr(c, err, "cascade batches")
		return
	}
	c.JSON(http.StatusOK, gin.H{"batches": orEmpty(bs), "total": len(bs)})
}

func deleteCascadeLink(s *Server, c *gin.Context) {
	l, err := s.DB.GetCascadeLink(c, c.Param("id"))
	if err == nil {
		err = s.DB.DeleteCascadeLink(c, l.ID)
	}
	if err != nil {
		storeErr(c, err, "cascade link "+c.Param("id"))
		return
	}
	if rt := s.cascadeRuntime(l.ID); rt.snapshot().Registered {
		go s.cascadeUnregister(context.WithoutCancel(c.Request.Context()), rt, l)
	}
	s.dropCascadeRuntime(l.ID)
	if _, ok := s.audit(c, "cascade.delete", c.Param("id"), "", http.StatusNoContent, ""); !ok {
		return
	}
	c.Status(http.StatusNoContent)
}

// cascadeMetrics are each link's series on /metrics: registered or not, what the
// superior took and refused, failures, and the outbox backlog.
type cascadeMetrics struct{ s *Server }

var (
	mCascadeUp       = prometheus.NewDesc("cityeye_cascade_link_up", "1 while a cascade link is registered with its superior.", []string{"link", "name"}, nil)
	mCascadePushed   = prometheus.NewDesc("cityeye_cascade_pushed_objects_total", "Objects a superior took from a link since start (updates included).", []string{"link", "name"}, nil)
	mCascadeRefused  = prometheus.NewDesc("cityeye_cascade_refused_objects_total", "Objects a superior refused since start (not retried).", []string{"link", "name"}, nil)
	mCascadeFailures = prometheus.NewDesc("cityeye_cascade_failures_total", "Failed registrations, keepalives and pushes of a link since start.", []string{"link", "name"}, nil)
	mCascadePending  = prometheus.NewDesc("cityeye_cascade_pending_batches", "Outbox batches of a link waiting to go up.", []string{"link", "name"}, nil)
)

func (m cascadeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mCascadeUp, mCascadePushed, mCascadeRefused, mCascadeFailures, mCascadePending} {
		ch <- d
	}
}

func (m cascadeMetrics) Collect(ch chan<- prometheus.Metric) {
	if !m.s.leadsScheduler() {
		return // the leader runs the links and reports them; a sum over servers stays right
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ls, err := m.s.DB.ListCascadeLinks(ctx)
	if err != nil {
		return
	}
	for _, l := range ls {
		st := m.s.cascadeRuntime(l.ID).snapshot()
		up := 0.0
		if st.Registered {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(mCascadeUp, prometheus.GaugeValue, up, l.ID, l.Name)
		ch <- prometheus.MustNewConstMetric(mCascadePushed, prometheus.CounterValue, float64(st.Pushed), l.ID, l.Name)
		ch <- prometheus.MustNewConstMetric(mCascadeRefused, prometheus.CounterValue, float64(st.Refused), l.ID, l.Name)
		ch <- prometheus.MustNewConstMetric(mCascadeFailures, prometheus.CounterValue, float64(st.Failures), l.ID, l.Name)
		if n, err := m.s.DB.CascadeCounts(ctx, l.ID); err == nil {
			ch <- prometheus.MustNewConstMetric(mCascadePending, prometheus.GaugeValue, float64(n.Pending), l.ID, l.Name)
		}
	}
}
