package api

import (
	"net/http"
	"strings"
	"testing"
)

// A route that declares no access rule cannot be registered: default deny is
// enforced when the router is built, not left to review.
func TestRouteWithoutRuleIsRefused(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "declares no access rule") {
			t.Fatalf("router accepted a route without a rule (recovered %v)", r)
		}
	}()
	(&Server{}).router(append(routes(), route{method: http.MethodGet, path: "/api/v1/forgotten", summary: "no rule", handler: health}))
}
