package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// rule is who may call a route. The zero rule admits nobody: a route without a
// declared rule cannot be registered (Handler panics), so nothing is open by accident.
type rule struct {
	public bool        // no token needed (health, the API description)
	digest bool        // the handler authenticates with HTTP Digest (VIID Register)
	roles  []auth.Role // the roles admitted; row-level checks happen in the handler and in SQL
}

// Declared reports whether the rule says anything at all.
func (r rule) declared() bool { return r.public || r.digest || len(r.roles) > 0 }

func (r rule) String() string {
	if r.public {
		return "public"
	}
	if r.digest {
		return "VIID peers (HTTP Digest)"
	}
	s := make([]string, len(r.roles))
	for i, x := range r.roles {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func roles(rs ...auth.Role) rule { return rule{roles: rs} }

var (
	public   = rule{public: true}
	signedIn = roles(auth.Roles...)
	admin    = roles(auth.PlatformAdmin)
	managers = roles(auth.PlatformAdmin, auth.DeptAdmin)
	staff    = roles(auth.PlatformAdmin, auth.DeptAdmin, auth.Operator)
	viewers  = roles(auth.PlatformAdmin, auth.DeptAdmin, auth.Operator, auth.Analyst)
	readers  = roles(auth.PlatformAdmin, auth.DeptAdmin, auth.Operator, auth.Analyst, auth.Subscriber)
	vendors  = roles(auth.PlatformAdmin, auth.Vendor)
	peerAuth = rule{digest: true}
)

const principalKey = "cityeye.principal"

// authorize authenticates the bearer token and checks the route's rule.
func (s *Server) authorize(rt route) gin.HandlerFunc {
	return func(c *gin.Context) {
		if rt.allow.public || rt.allow.digest {
			c.Next()
			return
		}
		if s.authRefused(c) {
			return
		}
		tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok && strings.HasPrefix(rt.path, "/VIID/") { // a registered VIID peer
			p, ok := s.viidPeer(c)
			if !ok {
				return
			}
			if !slices.Contains(rt.allow.roles, p.User.Role) {
				s.viidStatus(c, http.StatusForbidden, gat1400.StatusInvalidOperation, "role "+string(p.User.Role)+" may not "+rt.method+" "+rt.path+" (allowed: "+rt.allow.String()+")")
				return
			}
			c.Set(principalKey, p)
			c.Next()
			return
		}
		if !ok || strings.TrimSpace(tok) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="cityeye"`)
			fail(c, http.StatusUnauthorized, "Authorization", "missing credentials: send the header Authorization: Bearer <token> (an administrator creates tokens with POST /api/v1/users/{id}/tokens)")
			return
		}
		p, err := s.DB.Authenticate(c, strings.TrimSpace(tok), s.now())
		if errors.Is(err, store.ErrBadToken) {
			s.authFailed(c)
			c.Header("WWW-Authenticate", `Bearer realm="cityeye", error="invalid_token"`)
			fail(c, http.StatusUnauthorized, "Authorization", "invalid token: "+strings.ReplaceAll(err.Error(), "\n", "; "))
			return
		}
		if err != nil {
			fail(c, http.StatusServiceUnavailable, "", "cannot check credentials: "+err.Error())
			return
		}
		if !slices.Contains(rt.allow.roles, p.User.Role) {
			fail(c, http.StatusForbidden, "", "role "+string(p.User.Role)+" may not "+rt.method+" "+rt.path+" (allowed: "+rt.allow.String()+")")
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// who returns the authenticated caller (authorize ran before every non-public handler).
func who(c *gin.Context) store.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(store.Principal)
	return pr
}

func isAdmin(p store.Principal) bool { return p.User.Role == auth.PlatformAdmin }

// RouteRule is one route and who may call it, for documentation and for the test
// that no route is left without a rule.
type RouteRule struct {
	Method, Path, Rule string
	Public, Digest     bool
	Roles              []auth.Role
}

// Rules lists every route with its declared rule.
func Rules() []RouteRule {
	var out []RouteRule
	for _, r := range routes() {
		out = append(out, RouteRule{Method: r.method, Path: r.path, Rule: r.allow.String(), Public: r.allow.public, Digest: r.allow.digest, Roles: r.allow.roles})
	}
	return out
}
