package api_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/testdata"
)

// The test's own statement of the policy, written independently of the code it checks.
var (
	users = map[string]struct {
		dept string
		role auth.Role
	}{
		"admin": {"platform", auth.PlatformAdmin}, "police_admin": {"police", auth.DeptAdmin}, "police_op": {"police", auth.Operator},
		"market_admin": {"market", auth.DeptAdmin}, "market_op": {"market", auth.Operator}, "market_analyst": {"market", auth.Analyst},
		"market_sub": {"market", auth.Subscriber}, "water_op": {"water", auth.Operator}, "vendor": {"acme", auth.Vendor},
	}
	deptArea = map[string]string{"platform": "", "police": "4415", "market": "441502", "water": "4403", "acme": "4415"}
	viewRole = []auth.Role{auth.PlatformAdmin, auth.DeptAdmin, auth.Operator, auth.Analyst}
	staffRol = []auth.Role{auth.PlatformAdmin, auth.DeptAdmin, auth.Operator}
	readRole = []auth.Role{auth.PlatformAdmin, auth.DeptAdmin, auth.Operator, auth.Analyst, auth.Subscriber}
)

type camera struct {
	id, owner, division string
	sharing             int
}

var cameras = []camera{
	{"44150200001310000001", "police", "441502", auth.SharingConditional},
	{"44150200001310000002", "police", "441502", auth.SharingUnconditional},
	{"44150200001310000003", "police", "441502", auth.SharingNone},
	{"44030500001310000004", "water", "440305", auth.SharingUnconditional},
}

func (c camera) body() string {
	return fmt.Sprintf(`{"device_id":%q,"name":"cam %s","url":"rtsp://10.0.0.1/%s","admin_division":%q,"longitude":115.3,"latitude":22.7,"owner_department":%q,"point_type":1,"sharing":%d}`,
		c.id, c.id[16:], c.id[16:], c.division, c.owner, c.sharing)
}

func inArea(dept, division string) bool { return strings.HasPrefix(division, deptArea[dept]) }

type rec struct {
	id, dept, device, division, key string
}

// seedRecord stores a Face record with a real scene snapshot for dept's task on cam.
func (f *fixture) seedRecord(dept string, cam camera, grant string, shot time.Time, serial int) rec {
	f.t.Helper()
	ctx := context.Background()
	id := gat1400.ContentID(gat1400.SourceID(cam.id, gat1400.SourceImage, shot, serial), gat1400.SubtypeFace, 1)
	key := "snapshots/" + cam.id + "/" + shot.Format("20060102") + "/" + id + "-v1-scene.jpg"
	img, err := os.ReadFile(testdata.Media(f.t, "grace_hopper_512x512.jpg"))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.objs.Put(ctx, key, img, "image/jpeg"); err != nil {
		f.t.Fatal(err)
	}
	r := &store.Record{ID: id, Type: "Face", DeviceID: cam.id, TaskID: "task-" + dept, DeptID: dept, Division: cam.division, GrantID: grant,
		TrackKey: id, ShotTime: shot, Body: []byte(`{}`), Images: []string{key}}
	if _, err := f.db.SaveRecord(ctx, r); err != nil {
		f.t.Fatal(err)
	}
	return rec{id, dept, cam.id, cam.division, key}
}

// Every role × the routes that touch cameras × a camera of every sharing class (and
// one outside most departments' areas): allow or deny exactly as the policy says.
func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	for _, c := range cameras {
		f.must("POST", "/api/v1/streams", "admin", c.body(), 201)
	}
	shot := f.now.Add(-time.Hour)
	var recs []rec
	for i, c := range cameras {
		recs = append(recs, f.seedRecord(c.owner, c, "", shot, i+1))
	}
	recs = append(recs, f.seedRecord("market", cameras[1], "", shot, 9)) // market's own task on the unconditional camera

	checks := 0
	expect := func(what string, got int, want int, body map[string]any) {
		t.Helper()
		checks++
		if got != want {
			t.Errorf("%s: got %d, want %d (%v)", what, got, want, body["error"])
		}
	}
	for uid, u := range users {
		admin := u.role == auth.PlatformAdmin
		for _, c := range cameras {
			visible := admin || u.dept == c.owner || (c.sharing != auth.SharingNone && inArea(u.dept, c.division))
			analyse := admin || u.dept == c.owner || (c.sharing == auth.SharingUnconditional && inArea(u.dept, c.division))

			want := 404
			switch {
			case !slices.Contains(viewRole, u.role):
				want = 403
			case visible:
				want = 200
			}
			code, body := f.do("GET", "/api/v1/streams/"+c.id, uid, "")
			expect(uid+" GET stream "+c.id, code, want, body)
			if code == 200 {
				url, _ := body["url"].(string)
				if (url != "") != (admin || u.dept == c.owner) {
					t.Errorf("%s sees url %q of %s owned by %s", uid, url, c.id, c.owner)
				}
			}

			want = 201
			switch {
			case !slices.Contains(staffRol, u.role):
				want = 403
			case !visible:
				want = 400
			case !analyse:
				want = 403
			}
			code, body = f.do("POST", "/api/v1/tasks", uid, `{"device_id":"`+c.id+`","algorithm":"face_capture","enabled":false}`)
			expect(uid+" POST task on "+c.id, code, want, body)

			want = 200
			switch {
			case !slices.Contains(staffRol, u.role):
				want = 403
			case !visible:
				want = 404
			case !admin && u.dept != c.owner:
				want = 403
			}
			code, body = f.do("PUT", "/api/v1/streams/"+c.id, uid, c.body())
			expect(uid+" PUT stream "+c.id, code, want, body)

			wantTotal := 0
			for _, r := range recs {
				if r.device == c.id && (admin || (r.dept == u.dept && inArea(u.dept, r.division))) {
					wantTotal++
				}
			}
			code, body = f.do("GET", "/api/v1/records?device_id="+c.id, uid, "")
			if !slices.Contains(readRole, u.role) {
				expect(uid+" search records on "+c.id, code, 403, body)
			} else if code != 200 || int(body["total"].(float64)) != wantTotal {
				t.Errorf("%s search records on %s: %d total %v, want %d", uid, c.id, code, body["total"], wantTotal)
			}
		}
		for _, r := range recs {
			want := 404
			switch {
			case !slices.Contains(readRole, u.role):
				want = 403
			case admin || (r.dept == u.dept && inArea(u.dept, r.division)):
				want = 200
			}
			code, body := f.do("GET", "/api/v1/records/"+r.id, uid, "")
			expect(uid+" GET record of "+r.dept+" on "+r.device, code, want, body)
			code, body = f.do("GET", "/api/v1/objects/"+r.key, uid, "")
			expect(uid+" GET snapshot of "+r.dept+" on "+r.device, code, want, body)
		}
	}
	t.Logf("%d allow/deny checks over %d users and %d cameras", checks, len(users), len(cameras))
}

// Every route of the router has a declared rule, and the rule is what the
// middleware enforces: no token is a 401, a role outside the rule a 403, a role
// inside it never a role refusal.
func TestEveryRouteHasARuleAndItIsEnforced(t *testing.T) {
	f := newFixture(t)
	rules := map[string]api.RouteRule{}
	for _, r := range api.Rules() {
		rules[r.Method+" "+r.Path] = r
	}
	routes := f.srv.Handler().(*gin.Engine).Routes()
	if len(routes) != len(rules) {
		t.Fatalf("router has %d routes, rules cover %d", len(routes), len(rules))
	}
	for _, rt := range routes {
		r, ok := rules[rt.Method+" "+rt.Path]
		if !ok || (!r.Public && !r.Digest && len(r.Roles) == 0) {
			t.Errorf("%s %s: no declared rule", rt.Method, rt.Path)
			continue
		}
		path := strings.NewReplacer(":id", "x", "*key", "x").Replace(rt.Path)
		body := ""
		if rt.Method == "POST" || rt.Method == "PUT" {
			body = "{}"
		}
		code, _ := f.do(rt.Method, path, "", body)
		if r.Public && code == 401 || !r.Public && code != 401 {
			t.Errorf("%s %s without a token: %d (public %v)", rt.Method, path, code, r.Public)
		}
		if r.Public || r.Digest { // Digest routes authenticate in the handler (see the VIID tests)
			continue
		}
		for uid, u := range users {
			if rt.Path == "/api/v1/alerts/stream" && slices.Contains(r.Roles, u.role) {
				continue // an endless event stream: the SSE test covers it
			}
			code, out := f.do(rt.Method, path, uid, body)
			refused := code == 403 && strings.Contains(fmt.Sprint(out["error"]), "may not "+rt.Method)
			if allowed := slices.Contains(r.Roles, u.role); allowed == refused {
				t.Errorf("%s %s as %s (%s): %d %v; rule admits %v", rt.Method, path, uid, u.role, code, out["error"], r.Roles)
			}
		}
	}
	// a revoked token, a disabled user and an expired token are refused
	tokID := f.must("GET", "/api/v1/me", "market_op", "", 200)["token_id"].(string)
	f.must("DELETE", "/api/v1/tokens/"+tokID, "market_admin", "", 204)
	if code, out := f.do("GET", "/api/v1/me", "market_op", ""); code != 401 || !strings.Contains(out["error"].(string), "revoked") {
		t.Errorf("revoked token: %d %v", code, out)
	}
	f.must("DELETE", "/api/v1/users/market_analyst", "market_admin", "", 204)
	if code, out := f.do("GET", "/api/v1/me", "market_analyst", ""); code != 401 || !strings.Contains(out["error"].(string), "disabled") {
		t.Errorf("disabled user: %d %v", code, out)
	}
	f.tok["short"] = f.must("POST", "/api/v1/users/market_sub/tokens", "market_admin", `{"expires_in_days":1}`, 201)["token"].(string)
	f.must("GET", "/api/v1/me", "short", "", 200)
	f.now = f.now.Add(25 * time.Hour)
	if code, out := f.do("GET", "/api/v1/me", "short", ""); code != 401 || !strings.Contains(out["error"].(string), "expired") {
		t.Errorf("expired token: %d %v", code, out)
	}
	// department admins manage their own department only
	f.must("POST", "/api/v1/users", "market_admin", `{"id":"m2","name":"m2","role":"analyst"}`, 201)
	f.must("POST", "/api/v1/users", "market_admin", `{"id":"p2","name":"p2","department":"police","role":"analyst"}`, 403)
	f.must("POST", "/api/v1/users", "market_admin", `{"id":"boss","name":"boss","role":"platform_admin"}`, 403)
	f.must("POST", "/api/v1/users/police_op/tokens", "market_admin", `{}`, 404)
	if got := f.must("GET", "/api/v1/users", "market_admin", "", 200)["users"].([]any); len(got) != 5 {
		t.Errorf("market admin lists %d users, want its 5", len(got))
	}
}
