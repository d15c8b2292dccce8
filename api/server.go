// Package api is CityEye's REST API (gin): streams, tasks, records, snapshots,
// models and algorithms, health and an OpenAPI document generated from the same
// route table the router is built from, so the two cannot drift apart.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/netguard"
	"github.com/cityeye/cityeye/scheduler"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/jobs"
	"github.com/cityeye/cityeye/workers/plan"
)

// MaxBody is the largest request body accepted (JSON metadata only); MaxFrame is
// the largest camera frame a remote worker uploads (a 4K JPEG).
const (
	MaxBody  = 1 << 20
	MaxFrame = 16 << 20
)

// jpegBody is the body of a route that takes one JPEG image as it is.
const jpegBody = "image/jpeg"

// Server holds what handlers need.
type Server struct {
	DB        *store.DB
	Objects   objects.Store
	Scheduler *scheduler.Scheduler
	Worker    *workers.Worker
	Repo      models.Repository
	Started   time.Time

	Warehouse *warehouse.Warehouse
	// Cluster places streams on remote workers in distributed mode (nil embedded,
	// where Worker runs everything in process).
	Cluster      *scheduler.Cluster
	VIIDServerID string // this view library's 20-digit ID (default 44150200005030000001)
	// Jobs carries background jobs such as notification deliveries (in-process, or
	// asynq on Redis); MaxDeliveryAttempts is when a notification goes dead (11).
	Jobs                jobs.Queue
	MaxDeliveryAttempts int
	// RequeueEvery is how often pending notifications are queued again (default
	// RequeueEvery); relay moves outbox jobs to Jobs (RunNotifier starts it).
	RequeueEvery time.Duration
	relay        *jobs.Relay
	relayOnce    sync.Once
	viidState    *viidState
	MaxUpload    int64 // largest model package upload (default 512 MiB)
	// MaxConcurrentUploads caps model uploads being received and checked at once
	// (default DefaultMaxConcurrentUploads); more are answered 429.
	MaxConcurrentUploads int
	uploads              chan struct{}
	uploadsOnce          sync.Once
	WatermarkKey         []byte           // keys the invisible mark on served snapshots
	Now                  func() time.Time // the clock for grants and deadlines (tests set it)
	// DecisionWindow is how long an owner has to decide an application (default 72 h;
	// the scheduler's sharing sweeper reminds and expires).
	DecisionWindow time.Duration
	// TokenLifetime is how long a new API token lives when its creator names no
	// lifetime (default DefaultTokenLifetime, 90 days).
	TokenLifetime time.Duration

	faceSearch   faceSearch
	dispositions dispositionMatcher

	// VIIDDigestEveryRequest makes VIID peers answer a Digest challenge on every
	// request, not only at Register (for peers behind a shared address, a NAT or a
	// reverse proxy, where the address a session is bound to proves little).
	VIIDDigestEveryRequest bool
	// MaxClockSkew is how far ahead of the server's clock a record from outside may
	// be dated (default DefaultMaxClockSkew): retention counts from the shot time,
	// so a record dated in the future would never expire.
	MaxClockSkew time.Duration
	authFails    authLimiter // failed sign-ins per source address
	// Outbound is the policy for every request to an address a user names (alert
	// webhooks, notification receivers, downloaded videos); nil: no internal address.
	Outbound *netguard.Guard
	// ImportDirs are the folders file:// streams and analyses may name (absolute;
	// none: file:// is refused).
	ImportDirs []string
	// KeyFrames grabs a key frame of a camera no worker decodes, for live snapshots
	// (nil: one with the defaults, ImportDirs and Outbound, made on first use).
	KeyFrames *workers.Grabber
	grabOnce  sync.Once
	// TrustedProxies are the proxies (IPs or CIDRs) whose X-Forwarded-For is believed
	// for the audit trail's address; none by default.
	TrustedProxies []string
	// MaxDownload caps a downloaded video (default 2 GiB).
	MaxDownload int64
	// FeedRecheck is how often a live feed re-checks its caller's token (default
	// 5 s); FeedMaxPerUser is how many feeds one user may hold open (default 3).
	FeedRecheck    time.Duration
	FeedMaxPerUser int
	feed           feedHub
	notifyOnce     sync.Once
	notifyHTTP     *http.Client
	cascade        cascadeState // cascade links' run-time state (cascade_link.go)
}

// pipelines is the live status of every running stream, wherever it runs.
func (s *Server) pipelines() map[string]plan.StreamStatus {
	if s.Cluster != nil && !s.Cluster.LocalOnly { // embedded: the worker below is the cluster's one member
		return s.Cluster.Status()
	}
	if s.Worker != nil {
		return s.Worker.Status()
	}
	return map[string]plan.StreamStatus{}
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// route is one API route: the router and the OpenAPI document are built from these.
type route struct {
	method, path, summary string
	allow                 rule     // who may call it; the zero rule admits nobody
	query                 []string // documented query parameters
	body                  string   // request schema name, if any
	handler               func(*Server, *gin.Context)
}

// upload reports whether the route takes a multipart upload (body "multipart:<schema>"):
// the larger MaxUpload limit applies to it.
func (r route) upload() bool { return strings.HasPrefix(r.body, "multipart:") }

// Handler builds the gin engine.
func (s *Server) Handler() http.Handler { return s.router(routes()) }

// router registers rts; it refuses (panics on) a route that declares no rule.
func (s *Server) router(rts []route) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// ClientIP (the audit trail's address) believes X-Forwarded-For only from the
	// configured proxies; none by default
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil {
		panic("api: trusted proxies: " + err.Error())
	}
	r.Use(gin.Recovery())
	r.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/VIID/") { // peers read the standard's envelope
			s.viidFail(c, http.StatusNotFound, gat1400.StatusInvalidOperation, "", "no such resource: "+c.Request.Method+" "+c.Request.URL.Path+" (what CityEye serves: docs/viid.md)")
			return
		}
		fail(c, http.StatusNotFound, "", "no such route: "+c.Request.Method+" "+c.Request.URL.Path)
	})
	for _, rt := range rts {
		if !rt.allow.declared() {
			panic("api: route " + rt.method + " " + rt.path + " declares no access rule")
		}
		h, limit := rt.handler, func() int64 { return MaxBody }
		switch {
		case rt.upload():
			limit = s.maxUpload
		case rt.body == jpegBody:
			limit = func() int64 { return MaxFrame }
		}
		r.Handle(rt.method, rt.path, limitBody(limit), s.authorize(rt), func(c *gin.Context) { h(s, c) })
	}
	return r
}

// limitBody refuses bodies over limit() bytes, declared or streamed.
func limitBody(limit func() int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		n := limit()
		if c.Request.ContentLength > n {
			fail(c, http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("request body over %d MiB", n>>20))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

// DefaultMaxUpload is the default limit on a model package upload.
const DefaultMaxUpload = 512 << 20

func (s *Server) maxUpload() int64 {
	if s.MaxUpload > 0 {
		return s.MaxUpload
	}
	return DefaultMaxUpload
}

// apiError is every error body: what went wrong and, for bad input, which field.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func fail(c *gin.Context, status int, field, msg string) {
	c.AbortWithStatusJSON(status, apiError{Error: msg, Field: field})
}

// storeErr maps store errors to HTTP statuses.
func storeErr(c *gin.Context, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(c, http.StatusNotFound, "", what+" not found")
	case errors.Is(err, store.ErrConflict):
		fail(c, http.StatusConflict, "", what+" already exists")
	case errors.Is(err, store.ErrState):
		fail(c, http.StatusConflict, "", err.Error())
	case errors.Is(err, context.Canceled):
		fail(c, 499, "", "client went away")
	default:
		fail(c, http.StatusInternalServerError, "", err.Error())
	}
}

// bindJSON decodes the body strictly; unknown fields and wrong types are 400s that
// name the field.
func bindJSON(c *gin.Context, dst any) bool {
	if err := decodeStrict(c.Request.Body, dst); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, "body", "request body over 1 MiB")
			return false
		}
		field, msg := describeJSONError(err)
		fail(c, http.StatusBadRequest, field, msg)
		return false
	}
	return true
}
