package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Departments, users, tokens, sharing, scopes, notices and the audit log: every
// query of identity.go, sharing.go and audit.go, on each backend.
func TestIdentitySharingAudit(t *testing.T) { forEachBackend(t, testIdentitySharingAudit) }

func testIdentitySharingAudit(t *testing.T, db *DB) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

	// departments
	police := &Department{ID: "police", Name: "Police", Areas: []string{"441500"}, Quota: Quota{Streams: 10, Tasks: 20, FPSShare: 0.5}}
	market := &Department{ID: "market", Name: "Market", Areas: []string{"441502"}}
	water := &Department{ID: "water", Name: "Water", Areas: []string{"440305"}}
	for _, d := range []*Department{police, market, water} {
		must(db.CreateDepartment(ctx, d))
	}
	if err := db.CreateDepartment(ctx, police); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate department: %v", err)
	}
	market.Quota.Tasks = 3
	must(db.UpdateDepartment(ctx, market))
	if d, err := db.GetDepartment(ctx, "market"); err != nil || d.Quota.Tasks != 3 || !slices.Equal(d.Areas, []string{"441502"}) {
		t.Fatalf("market: %+v %v", d, err)
	}
	if ds, err := db.ListDepartments(ctx); err != nil || len(ds) != 3 || ds[0].ID != "market" || ds[1].Quota.FPSShare != 0.5 {
		t.Fatalf("departments: %+v %v", ds, err)
	}
	if _, err := db.GetDepartment(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing department: %v", err)
	}

	// users and tokens
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("count %d %v", n, err)
	}
	if err := db.CreateUser(ctx, &User{ID: "ghost", DeptID: "nope", Role: auth.Analyst}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("user of a missing department: %v", err)
	}
	alice := &User{ID: "alice", Name: "Alice", DeptID: "market", Role: auth.Analyst}
	bob := &User{ID: "bob", Name: "Bob", DeptID: "police", Role: auth.DeptAdmin}
	must(db.CreateUser(ctx, alice))
	must(db.CreateUser(ctx, bob))
	if us, err := db.ListUsers(ctx, "market"); err != nil || len(us) != 1 || us[0].Role != auth.Analyst || us[0].Disabled {
		t.Fatalf("market users: %+v %v", us, err)
	}
	if us, err := db.ListUsers(ctx, ""); err != nil || len(us) != 2 {
		t.Fatalf("users: %+v %v", us, err)
	}
	secret, other := auth.NewToken(), auth.NewToken()
	must(db.CreateToken(ctx, &Token{ID: "tk1", UserID: "alice", Name: "laptop"}, secret))
	must(db.CreateToken(ctx, &Token{ID: "tk2", UserID: "alice", Name: "script", ExpiresAt: t0}, other))
	p, err := db.Authenticate(ctx, secret, t0)
	if err != nil || p.User.ID != "alice" || p.Dept.ID != "market" || p.TokenID != "tk1" || p.Scope().Dept != "market" {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if _, err := db.Authenticate(ctx, other, t0.Add(time.Second)); !errors.Is(err, ErrBadToken) {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := db.Authenticate(ctx, "cye_unknown", t0); !errors.Is(err, ErrBadToken) {
		t.Fatalf("unknown token: %v", err)
	}
	must(db.SetUserDisabled(ctx, "alice", true))
	if _, err := db.Authenticate(ctx, secret, t0); !errors.Is(err, ErrBadToken) {
		t.Fatalf("disabled user: %v", err)
	}
	if u, err := db.GetUser(ctx, "alice"); err != nil || !u.Disabled {
		t.Fatalf("alice: %+v %v", u, err)
	}
	must(db.SetUserDisabled(ctx, "alice", false))
	must(db.RevokeToken(ctx, "tk1"))
	if _, err := db.Authenticate(ctx, secret, t0); !errors.Is(err, ErrBadToken) {
		t.Fatalf("revoked token: %v", err)
	}
	if tk, err := db.GetToken(ctx, "tk1"); err != nil || !tk.Revoked || !tk.ExpiresAt.IsZero() {
		t.Fatalf("tk1: %+v %v", tk, err)
	}
	ts, err := db.ListTokens(ctx, "alice") // by creation time, in one millisecond here: any order
	if i := slices.IndexFunc(ts, func(tk Token) bool { return tk.ID == "tk2" }); err != nil || len(ts) != 2 || i < 0 || !ts[i].ExpiresAt.Equal(t0) {
		t.Fatalf("tokens: %+v %v", ts, err)
	}
	if err := db.RevokeToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke missing token: %v", err)
	}

	// cameras and tasks, seen through scopes (area prefixes with LIKE, grants)
	cams := []*Stream{
		{ID: "44150200001310000001", Name: "gate", URL: "rtsp://a", AdminDivision: "441502", OwnerDept: "police", Sharing: auth.SharingConditional},
		{ID: "44150200001310000002", Name: "square", URL: "rtsp://b", AdminDivision: "441502", OwnerDept: "police", Sharing: auth.SharingUnconditional},
		{ID: "44150200001310000003", Name: "yard", URL: "rtsp://c", AdminDivision: "441502", OwnerDept: "police", Sharing: auth.SharingNone},
		{ID: "44030500001310000004", Name: "pump", URL: "rtsp://d", AdminDivision: "440305", OwnerDept: "water", Sharing: auth.SharingUnconditional},
	}
	for _, c := range cams {
		must(db.CreateStream(ctx, c))
	}
	ids := func(ss []Stream) (out []string) {
		for _, s := range ss {
			out = append(out, s.ID[16:])
		}
		return out
	}
	marketScope := auth.Scope{Dept: "market", Areas: market.Areas}
	if ss, err := db.ListStreams(ctx, marketScope, t0); err != nil || !slices.Equal(ids(ss), []string{"0001", "0002"}) {
		t.Fatalf("market sees cameras %v %v", ids(ss), err)
	}
	if ss, err := db.ListStreams(ctx, auth.Scope{Dept: "police", Areas: police.Areas}, t0); err != nil || len(ss) != 3 {
		t.Fatalf("police sees cameras %v %v", ids(ss), err)
	}
	if _, err := db.VisibleStream(ctx, marketScope, cams[2].ID, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("market sees the unshared camera: %v", err)
	}
	must(db.CreateTask(ctx, &Task{ID: "tp1", StreamID: cams[0].ID, DeptID: "police", Algorithm: "face_capture", Enabled: true}))
	must(db.CreateTask(ctx, &Task{ID: "tp2", StreamID: cams[0].ID, DeptID: "police", Algorithm: "person_capture", Enabled: true}))
	must(db.CreateTask(ctx, &Task{ID: "tp3", StreamID: cams[2].ID, DeptID: "police", Algorithm: "face_capture", Enabled: false}))
	must(db.CreateTask(ctx, &Task{ID: "tm1", StreamID: cams[1].ID, DeptID: "market", Algorithm: "face_capture", Enabled: true}))
	if s, n, err := db.DeptUsage(ctx, "police"); err != nil || s != 1 || n != 2 {
		t.Fatalf("police usage: %d cameras %d tasks %v", s, n, err)
	}
	if ts, err := db.ListTasks(ctx, auth.Scope{Dept: "police"}, ""); err != nil || len(ts) != 4 { // its own, and market's on its camera
		t.Fatalf("police tasks %+v %v", ts, err)
	}
	if ts, err := db.ListTasks(ctx, marketScope, cams[1].ID); err != nil || len(ts) != 1 || ts[0].ID != "tm1" {
		t.Fatalf("market tasks %+v %v", ts, err)
	}

	// applications and grants
	app := &Application{ID: "a1", DeviceID: cams[0].ID, DeptID: "market", OwnerDept: "police", Reason: "stalls",
		Rights: []auth.Right{auth.RightAnalyse, auth.RightRecords}, Algorithms: []string{"face_capture"},
		StartsAt: t0, EndsAt: t0.Add(48 * time.Hour), Deadline: t0.Add(24 * time.Hour), CreatedBy: "alice"}
	must(db.CreateApplication(ctx, app))
	must(db.CreateApplication(ctx, &Application{ID: "a2", DeviceID: cams[0].ID, DeptID: "water", OwnerDept: "police", Rights: []auth.Right{auth.RightRecords},
		StartsAt: t0, EndsAt: t0.Add(time.Hour), Deadline: t0.Add(time.Hour), CreatedBy: "w"}))
	must(db.CreateApplication(ctx, &Application{ID: "a3", DeviceID: cams[0].ID, DeptID: "water", OwnerDept: "police", Rights: []auth.Right{auth.RightRecords},
		StartsAt: t0, EndsAt: t0.Add(time.Hour), Deadline: t0.Add(30 * time.Hour), CreatedBy: "w"}))
	if as, err := db.ListApplications(ctx, ApplicationFilter{Dept: "police", State: AppPending}); err != nil || len(as) != 3 {
		t.Fatalf("police's pending applications %+v %v", as, err)
	}
	acc, err := db.Access(ctx, *market, *cams[0], t0.Add(time.Minute))
	if err != nil || acc.Via != "none" {
		t.Fatalf("access before approval %+v %v", acc, err)
	}
	got, err := db.Decide(ctx, "a1", true, "bob", "ok", t0.Add(time.Minute))
	if err != nil || got.State != AppApproved || got.DecidedBy != "bob" || !got.DecidedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("decide %+v %v", got, err)
	}
	if _, err := db.Decide(ctx, "a1", false, "bob", "", t0.Add(2*time.Minute)); !errors.Is(err, ErrState) {
		t.Fatalf("second decision %v", err)
	}
	acc, err = db.Access(ctx, *market, *cams[0], t0.Add(time.Hour))
	if err != nil || acc.Via != "grant" || acc.GrantID != "a1" || !acc.Can(auth.RightRecords, "") || acc.Can(auth.RightAnalyse, "lpr") {
		t.Fatalf("access with grant %+v %v", acc, err)
	}
	if _, ok, err := db.ActiveGrant(ctx, "market", cams[0].ID, t0.Add(49*time.Hour)); ok || err != nil {
		t.Fatalf("grant active after its end: %v", err)
	}
	if ss, err := db.ListStreams(ctx, auth.Scope{Dept: "water", Areas: water.Areas}, t0); err != nil || !slices.Equal(ids(ss), []string{"0004"}) {
		t.Fatalf("water sees cameras %v %v", ids(ss), err)
	}

	// records through scopes: own in-area, granted (records right, before withdrawal)
	save := func(id, dept, device, division, grant string, shot time.Time) {
		t.Helper()
		if _, err := db.SaveRecord(ctx, &Record{ID: id, Type: "Face", DeviceID: device, TaskID: "t", DeptID: dept, Division: division, GrantID: grant,
			TrackKey: id, ShotTime: shot, Body: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	save("own", "market", cams[1].ID, "441502", "", t0)
	save("granted", "market", cams[0].ID, "441502", "a1", t0.Add(time.Hour))
	save("late", "market", cams[0].ID, "441502", "a1", t0.Add(3*time.Hour))
	save("police", "police", cams[0].ID, "441502", "", t0)
	recIDs := func() (out []string) {
		t.Helper()
		rs, n, err := db.ListRecords(ctx, RecordFilter{Scope: marketScope})
		if err != nil || n != len(rs) {
			t.Fatalf("records %d %v", n, err)
		}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := recIDs(); !slices.Equal(got, []string{"granted", "late", "own"}) {
		t.Fatalf("market sees records %v", got)
	}
	if w, err := db.Withdraw(ctx, "a1", "bob", t0.Add(2*time.Hour)); err != nil || w.State != AppWithdrawn || w.WithdrawnBy != "bob" {
		t.Fatalf("withdraw %+v %v", w, err)
	}
	if got := recIDs(); !slices.Equal(got, []string{"granted", "own"}) {
		t.Fatalf("after withdrawal market sees records %v", got)
	}
	if _, err := db.GetRecord(ctx, marketScope, "police"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("market reads police's record: %v", err)
	}

	// deadlines: a2 expires, a3 gets a reminder; a grant past its period ends
	must(db.CreateApplication(ctx, &Application{ID: "a4", DeviceID: cams[0].ID, DeptID: "water", OwnerDept: "police", Rights: []auth.Right{auth.RightRecords},
		StartsAt: t0, EndsAt: t0.Add(90 * time.Minute), Deadline: t0.Add(time.Hour), CreatedBy: "w"}))
	if _, err := db.Decide(ctx, "a4", true, "bob", "", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ch, err := db.SweepSharing(ctx, t0.Add(2*time.Hour), 30*time.Hour)
	if err != nil || len(ch.Expired) != 1 || ch.Expired[0].ID != "a2" || len(ch.Reminded) != 1 || ch.Reminded[0].ID != "a3" || len(ch.Ended) != 1 || ch.Ended[0].ID != "a4" {
		t.Fatalf("sweep %+v %v", ch, err)
	}
	if ch, err := db.SweepSharing(ctx, t0.Add(2*time.Hour), 30*time.Hour); err != nil || ch.Any() {
		t.Fatalf("second sweep %+v %v", ch, err)
	}
	ns, err := db.ListNotices(ctx, "water", 10)
	if err != nil || len(ns) != 2 || ns[0].Kind != "grant.ended" || ns[1].Kind != "application.expired" || ns[0].ID <= ns[1].ID {
		t.Fatalf("water's notices %+v %v", ns, err)
	}
	if ns, err := db.ListNotices(ctx, "police", 1); err != nil || len(ns) != 1 || ns[0].Kind != "application.reminder" {
		t.Fatalf("police's notices %+v %v", ns, err)
	}

	// audit
	for i, a := range []string{"record.read", "record.search", "snapshot.read"} {
		e := &AuditEntry{At: t0.Add(time.Duration(i) * time.Minute), UserID: "alice", DeptID: "market", TokenID: "tk1", Action: a, Target: "granted", GrantID: "a1", Remote: "10.0.0.9", Status: 200}
		must(db.Audit(ctx, e))
	}
	must(db.Audit(ctx, &AuditEntry{UserID: "bob", DeptID: "police", Action: "record.read", Target: "police", Status: 403, Detail: "no"}))
	es, err := db.ListAudit(ctx, AuditFilter{UserID: "alice", From: t0.Add(time.Minute), Limit: 1})
	if err != nil || len(es) != 1 || es[0].Action != "snapshot.read" || es[0].Status != 200 || es[0].GrantID != "a1" {
		t.Fatalf("audit %+v %v", es, err)
	}
	if es, err := db.ListAudit(ctx, AuditFilter{Action: "record.read", Offset: 1}); err != nil || len(es) != 1 || es[0].UserID != "alice" {
		t.Fatalf("audit page %+v %v", es, err)
	}
	if _, err := db.GetAudit(ctx, 1<<40); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing audit entry %v", err)
	}
}
