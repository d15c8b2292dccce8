package api

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/store"
)

// The GA/T 1400 view library (/VIID) as real platforms speak it: peers register with
// HTTP Digest, then send User-Identify on every request; answers use the standard's
// envelopes. A peer acts as a CityEye user, so the same department, area and grant
// rules filter what it reads.

// viidState is the VIID server's runtime state.
type viidState struct {
	auth     *digest.Authenticator
	sessions *viidSessions
}

// ViidRealm is the Digest realm peers' passwords are hashed with.
const ViidRealm = "CityEye"

var viidOnce sync.Mutex

func (s *Server) viid() *viidState {
	viidOnce.Lock()
	defer viidOnce.Unlock()
	if s.viidState == nil {
		// nonce key, replay cache and sessions in the database: every API server
		// shares them, and they outlive a restart
		a := &digest.Authenticator{Realm: ViidRealm, Secret: s.viidNonceKey(), Remember: s.viidRemember}
		a.LookupHA1 = func(user, realm string) (string, bool) {
			p, err := s.DB.PeerBy(backgroundCtx, "username", user)
			return p.HA1, err == nil && realm == ViidRealm
		}
		if s.Now != nil {
			a.Now = s.Now
		}
		sess := &viidSessions{db: s.DB, timeout: 3 * time.Minute, now: s.now}
		s.viidState = &viidState{auth: a, sessions: sess}
	}
	return s.viidState
}

// DefaultVIIDServerID is the view library's ID when the configuration names none.
const DefaultVIIDServerID = "44150200005030000001"

// serverID is this view library's 20-digit ID (VIIDServerID, configurable).
func (s *Server) serverID() string {
	if s.VIIDServerID != "" {
		return s.VIIDServerID
	}
	return DefaultVIIDServerID
}

// viidSubjectKey holds what a VIID answer is about when the handler names it.
const viidSubjectKey = "cityeye.viid.subject"

// viidSubject is the Id of a ResponseStatusObject: what the answer is about. Peers
// match answers by it (a C++ client treated an answer without one as a failure):
// the object or device a handler named, else the path's ID, else the device of
// the caller's session or User-Identify.
func viidSubject(c *gin.Context) string {
	if id := c.GetString(viidSubjectKey); id != "" {
		return id
	}
	if id := c.Param("id"); id != "" {
		return id
	}
	if id, ok := viidSessionDevice(c); ok {
		return id
	}
	if id, err := digest.IdentifyHeader(c.Request); err == nil {
		return id
	}
	return ""
}

// viidStatus answers with a ResponseStatusObject about viidSubject(c).
func (s *Server) viidStatus(c *gin.Context, httpCode int, code gat1400.StatusCode, msg string) {
	st := gat1400.NewResponseStatus(c.Request.URL.Path, viidSubject(c), code, s.now())
	if msg != "" {
		st.StatusString = msg
	}
	c.AbortWithStatusJSON(httpCode, gat1400.ResponseStatusEnvelope{ResponseStatusObject: st})
}

// viidFail refuses bad input on /VIID: the standard's ResponseStatusObject for
// peers, with CityEye's error and field beside it (every 4xx names the field).
func (s *Server) viidFail(c *gin.Context, httpCode int, code gat1400.StatusCode, field, msg string) {
	st := gat1400.NewResponseStatus(c.Request.URL.Path, viidSubject(c), code, s.now())
	st.StatusString = msg
	c.AbortWithStatusJSON(httpCode, gin.H{"ResponseStatusObject": st, "error": msg, "field": field})
}

// viidStoreErr is storeErr for /VIID: not found is 404 with StatusCode 4.
func (s *Server) viidStoreErr(c *gin.Context, err error, what string) {
	if errors.Is(err, store.ErrNotFound) {
		s.viidFail(c, http.StatusNotFound, gat1400.StatusInvalidOperation, "", what+" not found")
		return
	}
	storeErr(c, err, what)
}

func viidTime(s *Server, c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"SystemTimeObject": gin.H{"VIIDServerID": s.serverID(), "TimeMode": "1",
		"LocalTime": gat1400.FormatTime(s.now().In(gat1400.Location)), "TimeZone": "Asia/Shanghai"}})
}

// ---- peer accounts (our JSON API) ----

type peerBody struct {
	DeviceID string `json:"device_id"`
	Username string `json:"username"`
	UserID   string `json:"user_id"`
	Password string `json:"password"`
}

func createPeer(s *Server, c *gin.Context) {
	var b peerBody
	if !bindJSON(c, &b) {
		return
	}
	if b.Username == "" {
		b.Username = b.DeviceID
	}
	switch {
	case !digest.ValidDeviceID(b.DeviceID):
		fail(c, http.StatusBadRequest, "device_id", "device_id: the peer's 20-digit GB/T 28181 ID")
		return
	case len(b.Password) < 8:
		fail(c, http.StatusBadRequest, "password", "password: at least 8 characters")
		return
	case strings.ContainsAny(b.Username, `":`) || len(b.Username) > 64:
		fail(c, http.StatusBadRequest, "username", "username: up to 64 characters, no quotes or colons")
		return
	}
	u, ok := s.managedUser(c, b.UserID)
	if !ok {
		return
	}
	if u.Role == auth.PlatformAdmin {
		fail(c, http.StatusBadRequest, "user_id", "user_id: a peer acts as a department user, not a platform admin")
		return
	}
	h := md5.Sum([]byte(b.Username + ":" + ViidRealm + ":" + b.Password))
	p := &store.Peer{DeviceID: b.DeviceID, Username: b.Username, UserID: u.ID, HA1: hex.EncodeToString(h[:])}
	if err := s.DB.CreatePeer(c, p); err != nil {
		storeErr(c, err, "peer "+b.DeviceID)
		return
	}
	c.JSON(http.StatusCreated, p)
}

func listPeers(s *Server, c *gin.Context) {
	ps, err := s.DB.ListPeers(c)
	if err != nil {
		storeErr(c, err, "peers")
		return
	}
	online := map[string]digest.Session{}
	for _, x := range s.viid().sessions.List() {
		online[x.DeviceID] = x
	}
	out := []gin.H{}
	p := who(c)
	for _, peer := range ps {
		u, err := s.DB.GetUser(c, peer.UserID)
		if err != nil || (!isAdmin(p) && u.DeptID != p.Dept.ID) {
			continue
		}
		sess, on := online[peer.DeviceID]
		out = append(out, gin.H{"peer": peer, "department": u.DeptID, "online": on, "session": sess})
	}
	c.JSON(http.StatusOK, gin.H{"peers": out, "total": len(out)})
}

func deletePeer(s *Server, c *gin.Context) {
	peer, err := s.DB.PeerBy(c, "device_id", c.Param("id"))
	if err != nil {
		storeErr(c, err, "peer "+c.Param("id"))
		return
	}
	if _, ok := s.managedUser(c, peer.UserID); !ok {
		return
	}
	if err := s.DB.DeletePeer(c, peer.DeviceID); err != nil {
		storeErr(c, err, "peer")
		return
	}
	s.viid().sessions.Unregister(peer.DeviceID)
	c.Status(http.StatusNoContent)
}

var backgroundCtx = context.Background()

// decodeLenient reads a VIID JSON body: peers add vendor fields, so unknown fields
// are ignored (unlike our own API); the content type may be application/VIID+JSON,
// application/json or a charset variant.
func decodeLenient(c *gin.Context, dst any) error {
	if ct := strings.ToLower(c.ContentType()); ct != "" && !strings.Contains(ct, "json") {
		return errors.New("content type " + ct + ": send application/VIID+JSON")
	}
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("empty body")
	}
	return json.Unmarshal(b, dst)
}
