package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Application is a department's request to use a camera it does not own, and, once
// the owner approves it, the grant: exactly the rights and algorithms asked for, for
// the period asked. One row carries the whole story so the audit can cite one ID.
type Application struct {
	ID          string       `json:"id"`
	DeviceID    string       `json:"device_id"`
	DeptID      string       `json:"department"`       // the applicant
	OwnerDept   string       `json:"owner_department"` // who decides
	Reason      string       `json:"reason"`
	Rights      []auth.Right `json:"rights"`
	Algorithms  []string     `json:"algorithms"` // the scope: algorithms the grantee may run; empty means any
	StartsAt    time.Time    `json:"starts_at"`
	EndsAt      time.Time    `json:"ends_at"`
	Deadline    time.Time    `json:"deadline"` // the owner decides before this or the application expires
	State       string       `json:"state"`
	CreatedBy   string       `json:"created_by"`
	DecidedBy   string       `json:"decided_by,omitempty"`
	DecidedAt   time.Time    `json:"decided_at,omitzero"`
	Note        string       `json:"note,omitempty"`
	RemindedAt  time.Time    `json:"reminded_at,omitzero"`
	WithdrawnAt time.Time    `json:"withdrawn_at,omitzero"`
	WithdrawnBy string       `json:"withdrawn_by,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
}

// Application states.
const (
	AppPending   = "pending"
	AppApproved  = "approved"  // a grant; active between StartsAt and EndsAt
	AppRejected  = "rejected"  // by the owner, with a note
	AppExpired   = "expired"   // the owner did not decide before the deadline
	AppWithdrawn = "withdrawn" // by the owner or the grantee; results after WithdrawnAt are hidden
	AppEnded     = "ended"     // the granted period is over
)

// ErrState is returned when an application is not in a state that allows the action.
var ErrState = errors.New("wrong state")

// Active reports whether the grant holds at t.
func (a Application) Active(t time.Time) bool {
	return a.State == AppApproved && !t.Before(a.StartsAt) && t.Before(a.EndsAt)
}

// Has reports whether the grant carries a right.
func (a Application) Has(r auth.Right) bool { return slices.Contains(a.Rights, r) }

// Access is what a department may do with a camera at a moment, and why.
type Access struct {
	Rights     []auth.Right `json:"rights"`
	Via        string       `json:"via"`                  // owner, area (unconditional sharing), grant, or none
	GrantID    string       `json:"grant_id,omitempty"`   // the application that grants it
	Algorithms []string     `json:"algorithms,omitempty"` // a grant's scope; empty means any
	Reason     string       `json:"reason,omitempty"`     // why not, when Via is none
}

// Can reports whether the access carries right r (for algorithm alg when r is analyse).
func (a Access) Can(r auth.Right, alg string) bool {
	if !slices.Contains(a.Rights, r) {
		return false
	}
	return r != auth.RightAnalyse || alg == "" || len(a.Algorithms) == 0 || slices.Contains(a.Algorithms, alg)
}

// Access decides what dept may do with camera st at t: the owner everything; for an
// unconditionally shared camera, every department whose areas contain it everything;
// otherwise only what an active grant says; a camera that is not shared, nothing.
func (s *DB) Access(ctx context.Context, dept Department, st Stream, t time.Time) (Access, error) {
	if dept.ID == st.OwnerDept {
		return Access{Rights: auth.AllRights, Via: "owner"}, nil
	}
	if st.Sharing == auth.SharingNone {
		return Access{Via: "none", Reason: "camera " + st.ID + " is not shared by its owner " + st.OwnerDept}, nil
	}
	g, ok, err := s.ActiveGrant(ctx, dept.ID, st.ID, t)
	if err != nil {
		return Access{}, err
	}
	if ok {
		return Access{Rights: g.Rights, Via: "grant", GrantID: g.ID, Algorithms: g.Algorithms}, nil
	}
	if st.Sharing == auth.SharingUnconditional && auth.InAreas(st.AdminDivision, dept.Areas) {
		return Access{Rights: auth.AllRights, Via: "area"}, nil
	}
	if st.Sharing == auth.SharingUnconditional {
		return Access{Via: "none", Reason: "camera " + st.ID + " (area " + st.AdminDivision + ") is outside department " + dept.ID + "'s areas; apply for a grant"}, nil
	}
	return Access{Via: "none", Reason: "camera " + st.ID + " is shared on condition: apply to " + st.OwnerDept + " for a grant"}, nil
}

// ---- applications ----

// CreateApplication inserts a pending application.
func (s *DB) CreateApplication(ctx context.Context, a *Application) error {
	a.State, a.CreatedAt = AppPending, now()
	rights, _ := json.Marshal(a.Rights)
	algs, _ := json.Marshal(a.Algorithms)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO applications (id, device_id, dept_id, owner_dept, reason, rights, algorithms, starts_at, ends_at, deadline, state, created_by, decided_by, decided_at, note, reminded_at, withdrawn_at, withdrawn_by, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'',0,'',0,0,'',?)`),
		a.ID, a.DeviceID, a.DeptID, a.OwnerDept, a.Reason, string(rights), string(algs), ms(a.StartsAt), ms(a.EndsAt), ms(a.Deadline), a.State, a.CreatedBy, ms(a.CreatedAt))
	return s.dialect.mapErr(err)
}

const appCols = `id, device_id, dept_id, owner_dept, reason, rights, algorithms, starts_at, ends_at, deadline, state, created_by, decided_by, decided_at, note, reminded_at, withdrawn_at, withdrawn_by, created_at`

func scanApp(row interface{ Scan(...any) error }) (Application, error) {
	var a Application
	var rights, algs string
	var st, en, dl, dec, rem, wd, c int64
	err := row.Scan(&a.ID, &a.DeviceID, &a.DeptID, &a.OwnerDept, &a.Reason, &rights, &algs, &st, &en, &dl, &a.State, &a.CreatedBy, &a.DecidedBy, &dec, &a.Note, &rem, &wd, &a.WithdrawnBy, &c)
	_ = json.Unmarshal([]byte(rights), &a.Rights)
	_ = json.Unmarshal([]byte(algs), &a.Algorithms)
	a.StartsAt, a.EndsAt, a.Deadline, a.CreatedAt = fromMS(st), fromMS(en), fromMS(dl), fromMS(c)
	a.DecidedAt, a.RemindedAt, a.WithdrawnAt = optMS(dec), optMS(rem), optMS(wd)
	return a, err
}

func optMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// GetApplication returns one application.
func (s *DB) GetApplication(ctx context.Context, id string) (Application, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, s.q(`SELECT `+appCols+` FROM applications WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// ApplicationFilter selects applications; zero fields match everything.
type ApplicationFilter struct {
	Dept     string // as applicant or as owner
	State    string
	DeviceID string
}

// ListApplications returns applications, newest first.
func (s *DB) ListApplications(ctx context.Context, f ApplicationFilter) ([]Application, error) {
	var where []string
	var args []any
	if f.Dept != "" {
		where, args = append(where, "(dept_id=? OR owner_dept=?)"), append(args, f.Dept, f.Dept)
	}
	if f.State != "" {
		where, args = append(where, "state=?"), append(args, f.State)
	}
	if f.DeviceID != "" {
		where, args = append(where, "device_id=?"), append(args, f.DeviceID)
	}
	q := `SELECT ` + appCols + ` FROM applications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return queryAll(ctx, s, q+` ORDER BY created_at DESC, id`, args, scanApp)
}

// Decide approves or rejects a pending application. An application whose deadline
// has passed is expired instead and ErrState returned.
func (s *DB) Decide(ctx context.Context, id string, approve bool, by, note string, at time.Time) (Application, error) {
	a, err := s.GetApplication(ctx, id)
	if err != nil {
		return a, err
	}
	if a.State != AppPending {
		return a, fmt.Errorf("%w: application %s is %s, only pending ones can be decided", ErrState, id, a.State)
	}
	if !at.Before(a.Deadline) {
		if _, err := s.transition(ctx, id, AppPending, AppExpired, `decided_at=?`, ms(at)); err != nil {
			return a, err
		}
		return a, fmt.Errorf("%w: application %s passed its deadline %s and has expired", ErrState, id, a.Deadline.Format(time.RFC3339))
	}
	state := AppRejected
	if approve {
		state = AppApproved
	}
	ok, err := s.transition(ctx, id, AppPending, state, `decided_by=?, decided_at=?, note=?`, by, ms(at), note)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, fmt.Errorf("%w: application %s was decided concurrently", ErrState, id)
	}
	return s.GetApplication(ctx, id)
}

// Withdraw ends an approved grant (or cancels a pending application) now. Records
// its grantee captured from then on are hidden from it.
func (s *DB) Withdraw(ctx context.Context, id, by string, at time.Time) (Application, error) {
	a, err := s.GetApplication(ctx, id)
	if err != nil {
		return a, err
	}
	if a.State != AppApproved && a.State != AppPending {
		return a, fmt.Errorf("%w: application %s is %s; only approved grants and pending applications can be withdrawn", ErrState, id, a.State)
	}
	ok, err := s.transition(ctx, id, a.State, AppWithdrawn, `withdrawn_by=?, withdrawn_at=?`, by, ms(at))
	if err != nil {
		return a, err
	}
	if !ok {
		return a, fmt.Errorf("%w: application %s changed concurrently", ErrState, id)
	}
	return s.GetApplication(ctx, id)
}

// transition moves an application from one state to another, atomically.
func (s *DB) transition(ctx context.Context, id, from, to, set string, args ...any) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE applications SET state=?, `+set+` WHERE id=? AND state=?`), append(append([]any{to}, args...), id, from)...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ActiveGrant returns dept's newest grant on a camera that holds at t.
func (s *DB) ActiveGrant(ctx context.Context, dept, device string, t time.Time) (Application, bool, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, s.q(`SELECT `+appCols+` FROM applications
		WHERE dept_id=? AND device_id=? AND state=? AND starts_at<=? AND ends_at>? ORDER BY created_at DESC LIMIT 1`), dept, device, AppApproved, ms(t), ms(t)))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// SharingChanges is what one sweep did.
type SharingChanges struct {
	Expired, Reminded, Ended []Application
}

// Any reports whether the sweep changed something.
func (c SharingChanges) Any() bool { return len(c.Expired)+len(c.Reminded)+len(c.Ended) > 0 }

// SweepSharing runs the deadlines at time t: pending applications past their deadline
// expire (the applicant is told); those within remind of it get one reminder to the
// owner; grants past their period end (the grantee is told; its tasks stop).
func (s *DB) SweepSharing(ctx context.Context, t time.Time, remind time.Duration) (SharingChanges, error) {
	var ch SharingChanges
	due, err := queryAll(ctx, s, `SELECT `+appCols+` FROM applications WHERE state=? AND deadline<=?`, []any{AppPending, ms(t)}, scanApp)
	if err != nil {
		return ch, err
	}
	for _, a := range due {
		if ok, err := s.transition(ctx, a.ID, AppPending, AppExpired, `decided_at=?`, ms(t)); err != nil || !ok {
			continue
		}
		a.State = AppExpired
		ch.Expired = append(ch.Expired, a)
		s.AddNotice(ctx, a.DeptID, "application.expired", a.ID, fmt.Sprintf("your application %s for camera %s expired: %s did not decide by %s", a.ID, a.DeviceID, a.OwnerDept, a.Deadline.Format(time.RFC3339)))
	}
	soon, err := queryAll(ctx, s, `SELECT `+appCols+` FROM applications WHERE state=? AND reminded_at=0 AND deadline<=?`, []any{AppPending, ms(t.Add(remind))}, scanApp)
	if err != nil {
		return ch, err
	}
	for _, a := range soon {
		res, err := s.db.ExecContext(ctx, s.q(`UPDATE applications SET reminded_at=? WHERE id=? AND reminded_at=0`), ms(t), a.ID)
		if n, _ := res.RowsAffected(); err != nil || n == 0 {
			continue
		}
		a.RemindedAt = t
		ch.Reminded = append(ch.Reminded, a)
		s.AddNotice(ctx, a.OwnerDept, "application.reminder", a.ID, fmt.Sprintf("application %s from %s for camera %s awaits your decision before %s", a.ID, a.DeptID, a.DeviceID, a.Deadline.Format(time.RFC3339)))
	}
	over, err := queryAll(ctx, s, `SELECT `+appCols+` FROM applications WHERE state=? AND ends_at<=?`, []any{AppApproved, ms(t)}, scanApp)
	if err != nil {
		return ch, err
	}
	for _, a := range over {
		if ok, err := s.transition(ctx, a.ID, AppApproved, AppEnded, `note=note`); err != nil || !ok {
			continue
		}
		a.State = AppEnded
		ch.Ended = append(ch.Ended, a)
		s.AddNotice(ctx, a.DeptID, "grant.ended", a.ID, fmt.Sprintf("your grant %s on camera %s ended at %s; tasks on it have stopped", a.ID, a.DeviceID, a.EndsAt.Format(time.RFC3339)))
	}
	return ch, nil
}

// ---- notices ----

// Notice is a message to a department: reminders, expiries, decisions.
type Notice struct {
	ID        int64     `json:"id"`
	DeptID    string    `json:"department"`
	Kind      string    `json:"kind"`
	Ref       string    `json:"ref"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// AddNotice stores a notice for a department.
func (s *DB) AddNotice(ctx context.Context, dept, kind, ref, msg string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO notices (dept_id, kind, ref, message, created_at) VALUES (?,?,?,?,?)`), dept, kind, ref, msg, ms(now()))
	return err
}

// ListNotices returns a department's notices, newest first.
func (s *DB) ListNotices(ctx context.Context, dept string, limit int) ([]Notice, error) {
	return queryAll(ctx, s, `SELECT id, dept_id, kind, ref, message, created_at FROM notices WHERE dept_id=? ORDER BY id DESC LIMIT ?`, []any{dept, limit},
		func(row interface{ Scan(...any) error }) (Notice, error) {
			var n Notice
			var c int64
			err := row.Scan(&n.ID, &n.DeptID, &n.Kind, &n.Ref, &n.Message, &c)
			n.CreatedAt = fromMS(c)
			return n, err
		})
}

// ---- scope predicates (filtering happens in SQL, never after the query) ----

// areaSQL matches col against areas by code prefix; no areas matches nothing.
func areaSQL(col string, areas []string) (string, []any) {
	if len(areas) == 0 {
		return "1=0", nil
	}
	var parts []string
	var args []any
	for _, a := range areas {
		parts, args = append(parts, col+" LIKE ?"), append(args, auth.AreaPrefix(a)+"%")
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// streamScope: the owner's cameras, shared cameras in the department's areas (so it
// can find and apply for them), and cameras it holds a current grant on.
func streamScope(sc auth.Scope, t time.Time) (string, []any) {
	if sc.All {
		return "1=1", nil
	}
	area, args := areaSQL("streams.admin_division", sc.Areas)
	return `(streams.owner_dept=? OR (streams.sharing IN (0,1) AND ` + area + `) OR EXISTS (SELECT 1 FROM applications g WHERE g.device_id=streams.id AND g.dept_id=? AND g.state='approved' AND g.ends_at>?))`,
		append(append([]any{sc.Dept}, args...), sc.Dept, ms(t))
}

// taskScope: the department's own tasks and tasks on cameras it owns.
func taskScope(sc auth.Scope) (string, []any) {
	if sc.All {
		return "1=1", nil
	}
	return `(tasks.dept_id=? OR EXISTS (SELECT 1 FROM streams s WHERE s.id=tasks.stream_id AND s.owner_dept=?))`, []any{sc.Dept, sc.Dept}
}

// recordScope: records of the department's own tasks, captured in its areas, or
// captured under a grant that carries the records right, before it was withdrawn.
func recordScope(sc auth.Scope) (string, []any) {
	if sc.All {
		return "1=1", nil
	}
	area, args := areaSQL("records.admin_division", sc.Areas)
	return `(records.dept_id=? AND ((records.grant_id='' AND ` + area + `) OR (records.grant_id<>'' AND EXISTS (SELECT 1 FROM applications g WHERE g.id=records.grant_id
		AND g.rights LIKE '%"records"%' AND records.shot_time>=g.starts_at AND records.shot_time < (CASE WHEN g.withdrawn_at>0 THEN g.withdrawn_at ELSE g.ends_at END)))))`,
		append([]any{sc.Dept}, args...)
}
