package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func (f *fixture) apply(user, device, rights, algorithms string, period time.Duration) string {
	f.t.Helper()
	body := fmt.Sprintf(`{"device_id":%q,"reason":"food safety inspection","rights":%s,"algorithms":%s,"starts_at":%q,"ends_at":%q}`,
		device, rights, algorithms, f.now.Format(time.RFC3339), f.now.Add(period).Format(time.RFC3339))
	return f.must("POST", "/api/v1/applications", user, body, 201)["id"].(string)
}

func (f *fixture) notices(user string) string {
	f.t.Helper()
	var b strings.Builder
	for _, n := range f.must("GET", "/api/v1/notices", user, "", 200)["notices"].([]any) {
		m := n.(map[string]any)
		fmt.Fprintf(&b, "%s %s: %s\n", m["kind"], m["ref"], m["message"])
	}
	return b.String()
}

func (f *fixture) taskReason(user, id string) string {
	f.t.Helper()
	if err := f.srv.Scheduler.Reconcile(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	g, _ := f.must("GET", "/api/v1/tasks/"+id, user, "", 200)["grant"].(map[string]any)
	return fmt.Sprint(g["reason"])
}

// Conditional sharing end to end: apply, approve (exactly the rights and algorithms
// asked for), reject, reminders and expiry of undecided applications, the end of a
// grant's period, and withdrawal, which stops the grantee's tasks and hides what they
// captured afterwards.
func TestApprovalFlow(t *testing.T) {
	f := newFixture(t)
	cond := cameras[0]
	f.must("POST", "/api/v1/streams", "police_op", cond.body(), 201)
	f.must("POST", "/api/v1/streams", "police_op", cameras[2].body(), 201)
	task := `{"device_id":"` + cond.id + `","algorithm":"face_capture"}`

	// without a grant market cannot analyse the conditional camera
	if code, out := f.do("POST", "/api/v1/tasks", "market_op", task); code != 403 || !strings.Contains(out["error"].(string), "apply to police") {
		t.Fatalf("task before a grant: %d %v", code, out)
	}
	// bad applications are 4xx naming the field and store nothing
	for _, c := range []struct{ body, field string }{
		{`{"device_id":"` + cameras[2].id + `","reason":"x","rights":["analyse"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2026-11-23T08:00:00Z"}`, "device_id"},
		{`{"device_id":"` + cond.id + `","reason":"","rights":["analyse"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2026-11-23T08:00:00Z"}`, "reason"},
		{`{"device_id":"` + cond.id + `","reason":"x","rights":["ptz"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2026-11-23T08:00:00Z"}`, "rights[0]"},
		{`{"device_id":"` + cond.id + `","reason":"x","rights":["analyse"],"algorithms":["telepathy"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2026-11-23T08:00:00Z"}`, "algorithms[0]"},
		{`{"device_id":"` + cond.id + `","reason":"x","rights":["analyse"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2026-11-21T08:00:00Z"}`, "ends_at"},
		{`{"device_id":"` + cond.id + `","reason":"x","rights":["analyse"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2028-11-22T08:00:00Z"}`, "ends_at"},
	} {
		if code, out := f.do("POST", "/api/v1/applications", "market_op", c.body); code/100 != 4 || out["field"] != c.field {
			t.Errorf("bad application (%s): %d %v", c.field, code, out)
		}
	}
	if code, _ := f.do("POST", "/api/v1/applications", "police_op", task[:len(task)-1]+`,"reason":"x","rights":["analyse"],"starts_at":"2026-11-22T08:00:00Z","ends_at":"2026-11-23T08:00:00Z"}`); code != 400 {
		t.Errorf("owner applying for its own camera: %d", code)
	}

	// apply: analyse + records for face_capture only, for 30 days
	id := f.apply("market_op", cond.id, `["analyse","records"]`, `["face_capture"]`, 30*24*time.Hour)
	if !strings.Contains(f.notices("police_admin"), "application.new "+id) {
		t.Errorf("owner not told of the application:\n%s", f.notices("police_admin"))
	}
	f.must("POST", "/api/v1/applications/"+id+"/approve", "market_admin", "", 403) // not the owner
	f.must("POST", "/api/v1/applications/"+id+"/approve", "police_op", "", 403)    // operators do not decide
	f.must("GET", "/api/v1/applications/"+id, "water_op", "", 404)                 // not a party
	app := f.must("POST", "/api/v1/applications/"+id+"/approve", "police_admin", `{"note":"ok for 30 days"}`, 200)
	if app["state"] != "approved" || app["decided_by"] != "police_admin" {
		t.Fatalf("approved: %v", app)
	}
	f.must("POST", "/api/v1/applications/"+id+"/approve", "police_admin", "", 409) // decided already
	if !strings.Contains(f.notices("market_op"), "application.approved "+id) {
		t.Errorf("applicant not told:\n%s", f.notices("market_op"))
	}

	// exactly what was asked: face_capture yes, another algorithm no, snapshots no
	tid := f.must("POST", "/api/v1/tasks", "market_op", task, 201)["id"].(string)
	if code, out := f.do("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+cond.id+`","algorithm":"person_vehicle_capture"}`); code != 403 || !strings.Contains(out["error"].(string), "does not cover") {
		t.Errorf("algorithm outside the grant's scope: %d %v", code, out)
	}
	if r := f.taskReason("market_op", tid); strings.Contains(r, "suspended") {
		t.Fatalf("granted task suspended: %s", r)
	}
	before := f.seedRecord("market", cond, id, f.now.Add(time.Minute), 1)
	f.must("GET", "/api/v1/records/"+before.id, "market_analyst", "", 200)
	if code, out := f.do("GET", "/api/v1/objects/"+before.key, "market_analyst", ""); code != 403 || !strings.Contains(out["error"].(string), "snapshots right") {
		t.Errorf("snapshot without the snapshots right: %d %v", code, out)
	}

	// withdrawal by the owner: the task stops, later captures are hidden, earlier stay
	f.now = f.now.Add(time.Hour)
	f.must("POST", "/api/v1/applications/"+id+"/withdraw", "police_admin", "", 200)
	if r := f.taskReason("market_op", tid); !strings.Contains(r, "suspended") {
		t.Errorf("task under a withdrawn grant: %q", r)
	}
	after := f.seedRecord("market", cond, id, f.now.Add(time.Second), 2) // a capture in flight at the withdrawal
	f.must("GET", "/api/v1/records/"+before.id, "market_analyst", "", 200)
	f.must("GET", "/api/v1/records/"+after.id, "market_analyst", "", 404)
	if got := f.must("GET", "/api/v1/records?device_id="+cond.id, "market_analyst", "", 200)["total"]; got != 1.0 {
		t.Errorf("market sees %v records on the camera after withdrawal, want 1", got)
	}
	f.must("POST", "/api/v1/tasks", "market_op", task, 403)
	if !strings.Contains(f.notices("market_admin"), "grant.withdrawn "+id) {
		t.Errorf("grantee not told of the withdrawal:\n%s", f.notices("market_admin"))
	}

	// rejection
	rej := f.apply("market_op", cond.id, `["analyse"]`, `[]`, 24*time.Hour)
	if out := f.must("POST", "/api/v1/applications/"+rej+"/reject", "police_admin", `{"note":"no need shown"}`, 200); out["state"] != "rejected" {
		t.Fatalf("reject: %v", out)
	}
	f.must("POST", "/api/v1/tasks", "market_op", task, 403)
	if !strings.Contains(f.notices("market_op"), "no need shown") {
		t.Errorf("rejection note not passed on:\n%s", f.notices("market_op"))
	}

	// an undecided application: one reminder 24 h before the deadline, then expiry;
	// a late approval is refused
	late := f.apply("market_op", cond.id, `["analyse"]`, `[]`, 10*24*time.Hour)
	f.now = f.now.Add(47 * time.Hour)
	if ch, _ := f.srv.Scheduler.SweepSharing(context.Background()); len(ch.Reminded) != 0 {
		t.Fatalf("reminded too early: %+v", ch)
	}
	f.now = f.now.Add(2 * time.Hour) // 49 h: the 72 h deadline is 23 h away
	if ch, _ := f.srv.Scheduler.SweepSharing(context.Background()); len(ch.Reminded) != 1 || ch.Reminded[0].ID != late {
		t.Fatalf("no reminder: %+v", ch)
	}
	if ch, _ := f.srv.Scheduler.SweepSharing(context.Background()); len(ch.Reminded) != 0 {
		t.Fatalf("reminded twice: %+v", ch)
	}
	if !strings.Contains(f.notices("police_admin"), "application.reminder "+late) {
		t.Errorf("owner not reminded:\n%s", f.notices("police_admin"))
	}
	f.now = f.now.Add(24 * time.Hour)
	if ch, _ := f.srv.Scheduler.SweepSharing(context.Background()); len(ch.Expired) != 1 {
		t.Fatalf("not expired: %+v", ch)
	}
	if code, out := f.do("POST", "/api/v1/applications/"+late+"/approve", "police_admin", ""); code != 409 || !strings.Contains(out["error"].(string), "expired") {
		t.Errorf("approving an expired application: %d %v", code, out)
	}
	if !strings.Contains(f.notices("market_op"), "application.expired "+late) {
		t.Errorf("applicant not told of the expiry:\n%s", f.notices("market_op"))
	}

	// a grant whose period ends: its tasks stop and the grantee is told
	short := f.apply("market_op", cond.id, `["analyse","records","snapshots"]`, `[]`, 2*time.Hour)
	f.must("POST", "/api/v1/applications/"+short+"/approve", "police_admin", "", 200)
	t2 := f.must("POST", "/api/v1/tasks", "market_op", task, 201)["id"].(string)
	if r := f.taskReason("market_op", t2); strings.Contains(r, "suspended") {
		t.Fatalf("task under a fresh grant: %s", r)
	}
	f.now = f.now.Add(2 * time.Hour)
	if ch, _ := f.srv.Scheduler.SweepSharing(context.Background()); len(ch.Ended) != 1 || ch.Ended[0].ID != short {
		t.Fatalf("grant did not end: %+v", ch)
	}
	if r := f.taskReason("market_op", t2); !strings.Contains(r, "suspended") {
		t.Errorf("task after its grant ended: %q", r)
	}
	if got := f.must("GET", "/api/v1/applications?state=approved", "market_op", "", 200)["total"]; got != 0.0 {
		t.Errorf("approved grants left: %v", got)
	}
}

// Quotas: task and stream counts are refused at the API with a clear message; the
// scheduler applies the inference share (see the scheduler tests for the numbers).
func TestDepartmentQuotas(t *testing.T) {
	f := newFixture(t)
	f.must("PUT", "/api/v1/departments/market", "admin", `{"name":"Market supervision","areas":["441502"],"quota":{"streams":1,"tasks":2}}`, 200)
	f.must("POST", "/api/v1/streams", "admin", cameras[1].body(), 201)
	other := cameras[1]
	other.id = "44150200001310000005"
	f.must("POST", "/api/v1/streams", "admin", other.body(), 201)
	f.must("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture"}`, 201)
	if code, out := f.do("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+other.id+`","algorithm":"face_capture"}`); code != 409 || !strings.Contains(out["error"].(string), "1 streams") {
		t.Errorf("second stream over quota: %d %v", code, out)
	}
	f.must("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+cameras[1].id+`","algorithm":"person_vehicle_capture"}`, 201)
	if code, out := f.do("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","params":{"sample_fps":1}}`); code != 409 || out["field"] != "enabled" {
		t.Errorf("third task over quota: %d %v", code, out)
	}
	// a disabled task does not count and can be stored; enabling it is refused
	id := f.must("POST", "/api/v1/tasks", "market_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","enabled":false}`, 201)["id"].(string)
	f.must("PUT", "/api/v1/tasks/"+id, "market_op", `{"enabled":true}`, 409)
	if u := f.must("GET", "/api/v1/departments/market", "market_admin", "", 200)["usage"].(map[string]any); u["tasks"] != 2.0 || u["streams"] != 1.0 {
		t.Errorf("usage %v", u)
	}
}
