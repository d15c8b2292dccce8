package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/store"
)

// A VIID session is bound to what the peer proved at Register (GA/T 1400.4: Register
// with HTTP Digest, then User-Identify on later requests): its account's password
// and the address it registered from. A later request must come from that address,
// and Digest credentials, when it sends them (or when VIIDDigestEveryRequest is set),
// must be that peer's. User-Identify alone names a session; it proves nothing.

// viidDeviceKey holds the device ID of the VIID session a request came in on.
const viidDeviceKey = "cityeye.viid.device"

// peerAddr is the address a session is bound to: the TCP peer, never a forwarding
// header, which the sender writes itself.
func peerAddr(c *gin.Context) string { return c.RemoteIP() }

// viidSessionDevice returns the device of the caller's VIID session; false for a
// bearer-token caller.
func viidSessionDevice(c *gin.Context) (string, bool) {
	id := c.GetString(viidDeviceKey)
	return id, id != ""
}

// viidPeer authenticates a VIID request by its User-Identify session.
func (s *Server) viidPeer(c *gin.Context) (store.Principal, bool) {
	id, err := digest.IdentifyHeader(c.Request)
	if err != nil {
		s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, "send User-Identify with your 20-digit ID after POST /VIID/System/Register ("+err.Error()+")")
		return store.Principal{}, false
	}
	// One answer for "not registered" and "registered from elsewhere", so a guess
	// learns nothing about which devices are online.
	noSession := "device " + id + " has no session from this address: POST /VIID/System/Register first"
	sess, online := s.viid().sessions.Get(id)
	if !online {
		s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, noSession)
		return store.Principal{}, false
	}
	// Not counted as a failed sign-in: no secret is being guessed (the answer is
	// the same either way), and a peer whose address changed keeps sending until
	// it registers again, which a lockout would then delay.
	if sess.Remote != peerAddr(c) {
		s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, noSession)
		return store.Principal{}, false
	}
	peer, err := s.DB.PeerBy(c, "device_id", id)
	if err != nil {
		s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, "device "+id+" has no peer account")
		return store.Principal{}, false
	}
	if !s.viidProof(c, peer) {
		return store.Principal{}, false
	}
	p, err := s.DB.PrincipalOf(c, peer.UserID)
	if err != nil {
		s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, "device "+id+" has no usable peer account")
		return store.Principal{}, false
	}
	c.Set(viidDeviceKey, id)
	return p, true
}

// viidProof checks Digest credentials on a request after Register: required when
// VIIDDigestEveryRequest is set, and checked whenever sent (a peer answering every
// challenge must answer as itself). It answers the failure itself.
func (s *Server) viidProof(c *gin.Context, peer store.Peer) bool {
	if !s.VIIDDigestEveryRequest && !hasDigest(c.Request) {
		return true
	}
	v := s.viid()
	user, err := v.auth.Verify(c.Request)
	if err == nil && user != peer.Username {
		err = &digest.Error{Kind: digest.ErrBadResponse}
	}
	if err == nil {
		return true
	}
	s.digestFailed(c, err)
	return false
}

// digestFailed answers a failed Digest check with 401 and a fresh challenge. An
// unknown user and a wrong password read the same (the Digest package tells them
// apart); every real guess counts against the source's allowance.
func (s *Server) digestFailed(c *gin.Context, err error) {
	if !errors.Is(err, digest.ErrMissing) && !digest.IsStale(err) {
		s.authFailed(c)
	}
	msg := err.Error()
	if errors.Is(err, digest.ErrUnknownUser) || errors.Is(err, digest.ErrBadResponse) {
		msg = "wrong user name or password"
	}
	c.Header("WWW-Authenticate", s.viid().auth.ChallengeFor(err))
	s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, "authenticate with HTTP Digest: "+msg)
}

func hasDigest(r *http.Request) bool {
	for _, v := range r.Header.Values("Authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "Digest ") {
			return true
		}
	}
	return false
}

type viidRegisterBody struct {
	RegisterObject struct {
		DeviceID string `json:"DeviceID"`
	} `json:"RegisterObject"`
}

// viidRegister: POST /VIID/System/Register with HTTP Digest (MD5, qop=auth; the uri
// hashed exactly as sent, full URL or path). The session is bound to the address
// the peer registers from.
func viidRegister(s *Server, c *gin.Context) {
	if s.authRefused(c) {
		return
	}
	// the body first: every answer, the challenge included, names the device
	var b viidRegisterBody
	berr := decodeLenient(c, &b)
	c.Set(viidSubjectKey, b.RegisterObject.DeviceID)
	v := s.viid()
	user, err := v.auth.Verify(c.Request)
	if err != nil {
		s.digestFailed(c, err)
		return
	}
	peer, err := s.DB.PeerBy(c, "username", user)
	if err != nil {
		storeErr(c, err, "peer")
		return
	}
	if berr != nil {
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidJSONFormat, "RegisterObject", "RegisterObject: "+berr.Error())
		return
	}
	if b.RegisterObject.DeviceID != peer.DeviceID {
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidJSONContent, "RegisterObject.DeviceID", "RegisterObject.DeviceID "+b.RegisterObject.DeviceID+" is not the device "+user+" registers as ("+peer.DeviceID+")")
		return
	}
	if _, err := v.sessions.Register(peer.DeviceID, peerAddr(c)); err != nil {
		storeErr(c, err, "session")
		return
	}
	s.viidStatus(c, http.StatusOK, gat1400.StatusOK, "")
}

// viidKeepalive extends the caller's own session.
func viidKeepalive(s *Server, c *gin.Context) {
	id, ok := viidSessionDevice(c)
	if !ok {
		s.viidStatus(c, http.StatusForbidden, gat1400.StatusInvalidOperation, "keepalive is for a registered VIID peer's own session (User-Identify)")
		return
	}
	if err := s.viid().sessions.Keepalive(id); err != nil {
		s.viidStatus(c, http.StatusUnauthorized, gat1400.StatusInvalidOperation, err.Error()+": register again")
		return
	}
	s.viidStatus(c, http.StatusOK, gat1400.StatusOK, "")
}

// viidUnregister ends the caller's own session. A bearer-token caller may end
// another device's session only as the platform admin (a department admin removes
// its own peers with DELETE /api/v1/viid/peers/{id}).
func viidUnregister(s *Server, c *gin.Context) {
	id, ok := viidSessionDevice(c)
	if !ok {
		if !isAdmin(who(c)) {
			s.viidStatus(c, http.StatusForbidden, gat1400.StatusInvalidOperation, "only the device's own session or the platform admin may unregister it")
			return
		}
		var err error
		if id, err = digest.IdentifyHeader(c.Request); err != nil {
			s.viidStatus(c, http.StatusBadRequest, gat1400.StatusInvalidOperation, "User-Identify: the device to unregister ("+err.Error()+")")
			return
		}
	}
	s.viid().sessions.Unregister(id)
	c.Set(viidSubjectKey, id)
	s.viidStatus(c, http.StatusOK, gat1400.StatusOK, "")
}
