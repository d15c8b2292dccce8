package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Department is a unit of the city (police, urban management, market supervision…)
// with the administrative areas it is responsible for and its resource quotas.
type Department struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Areas     []string  `json:"areas"`
	Quota     Quota     `json:"quota"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Quota bounds what a department's tasks may use; zero means unlimited.
type Quota struct {
	Streams  int     `json:"streams"`   // cameras with at least one enabled task
	Tasks    int     `json:"tasks"`     // enabled tasks
	FPSShare float64 `json:"fps_share"` // at most this fraction (0–1) of the inference capacity
}

// Admit is the quota rule, the one the API applies when a task is enabled and the
// scheduler when it admits tasks: a department running tasks enabled tasks on
// streams cameras may run one more unless that passes a limit (a task on a camera
// it already analyses, onCamera, adds no camera). It returns the JSON field the
// refusal concerns ("enabled" or "device_id") and why, or "", "" when admitted.
func (q Quota) Admit(dept string, tasks, streams int, onCamera bool) (field, reason string) {
	if q.Tasks > 0 && tasks >= q.Tasks {
		return "enabled", fmt.Sprintf("department %s is at its quota of %d tasks (it runs %d)", dept, q.Tasks, tasks)
	}
	if q.Streams > 0 && !onCamera && streams >= q.Streams {
		return "device_id", fmt.Sprintf("department %s is at its quota of %d streams (it analyses %d)", dept, q.Streams, streams)
	}
	return "", ""
}

// User is a person or machine acting for one department with one role.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	DeptID    string    `json:"department"`
	Role      auth.Role `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token's metadata; the secret itself is never stored.
type Token struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Revoked   bool      `json:"revoked"`
	// WorkerID binds a worker user's token to the one worker it may heartbeat as.
	WorkerID string `json:"worker_id,omitempty"`
}

// Principal is who is calling: the user, their department and the token used.
type Principal struct {
	User     User
	Dept     Department
	TokenID  string
	WorkerID string // the worker ID the token is bound to ("" for other users)
}

// Scope is the data this principal may see.
func (p Principal) Scope() auth.Scope {
	if p.User.Role == auth.PlatformAdmin {
		return auth.Scope{All: true}
	}
	return auth.Scope{Dept: p.Dept.ID, Areas: p.Dept.Areas}
}

// ---- departments ----

// CreateDepartment inserts a department; ErrConflict if the ID exists.
func (s *DB) CreateDepartment(ctx context.Context, d *Department) error {
	d.CreatedAt, d.UpdatedAt = now(), now()
	areas, _ := json.Marshal(d.Areas)
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO departments (id, name, areas, quota_streams, quota_tasks, quota_fps_share, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)`),
		d.ID, d.Name, string(areas), d.Quota.Streams, d.Quota.Tasks, d.Quota.FPSShare, ms(d.CreatedAt), ms(d.UpdatedAt))
	return s.dialect.mapErr(err)
}

// UpdateDepartment replaces a department's name, areas and quota.
func (s *DB) UpdateDepartment(ctx context.Context, d *Department) error {
	d.UpdatedAt = now()
	areas, _ := json.Marshal(d.Areas)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE departments SET name=?, areas=?, quota_streams=?, quota_tasks=?, quota_fps_share=?, updated_at=? WHERE id=?`),
		d.Name, string(areas), d.Quota.Streams, d.Quota.Tasks, d.Quota.FPSShare, ms(d.UpdatedAt), d.ID)
	return affected(res, err)
}

const deptCols = `id, name, areas, quota_streams, quota_tasks, quota_fps_share, created_at, updated_at`

func scanDept(row interface{ Scan(...any) error }) (Department, error) {
	var d Department
	var areas string
	var c, u int64
	err := row.Scan(&d.ID, &d.Name, &areas, &d.Quota.Streams, &d.Quota.Tasks, &d.Quota.FPSShare, &c, &u)
	_ = json.Unmarshal([]byte(areas), &d.Areas)
	d.CreatedAt, d.UpdatedAt = fromMS(c), fromMS(u)
	return d, err
}

// GetDepartment returns one department.
func (s *DB) GetDepartment(ctx context.Context, id string) (Department, error) {
	d, err := scanDept(s.db.QueryRowContext(ctx, s.q(`SELECT `+deptCols+` FROM departments WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	return d, err
}

// ListDepartments returns all departments by ID.
func (s *DB) ListDepartments(ctx context.Context) ([]Department, error) {
	return queryAll(ctx, s, `SELECT `+deptCols+` FROM departments ORDER BY id`, nil, scanDept)
}

// ---- users and tokens ----

// CreateUser inserts a user of an existing department.
func (s *DB) CreateUser(ctx context.Context, u *User) error {
	u.CreatedAt = now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO users (id, name, dept_id, role, disabled, created_at) VALUES (?,?,?,?,?,?)`),
		u.ID, u.Name, u.DeptID, string(u.Role), u.Disabled, ms(u.CreatedAt))
	return s.dialect.mapErr(err)
}

// SetUserDisabled disables (or re-enables) a user; their tokens stop working at once.
func (s *DB) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET disabled=? WHERE id=?`), disabled, id)
	return affected(res, err)
}

const userCols = `id, name, dept_id, role, disabled, created_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var c int64
	err := row.Scan(&u.ID, &u.Name, &u.DeptID, &u.Role, &u.Disabled, &c)
	u.CreatedAt = fromMS(c)
	return u, err
}

// GetUser returns one user.
func (s *DB) GetUser(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	return u, err
}

// ListUsers returns all users, or one department's.
func (s *DB) ListUsers(ctx context.Context, dept string) ([]User, error) {
	q, args := `SELECT `+userCols+` FROM users`, []any{}
	if dept != "" {
		q, args = q+` WHERE dept_id=?`, append(args, dept)
	}
	return queryAll(ctx, s, q+` ORDER BY id`, args, scanUser)
}

// CountUsers counts users (bootstrap creates the first admin when there are none).
func (s *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// CreateToken stores a token's hash and returns its metadata.
func (s *DB) CreateToken(ctx context.Context, t *Token, secret string) error {
	t.CreatedAt = now()
	var exp int64
	if !t.ExpiresAt.IsZero() {
		exp = ms(t.ExpiresAt)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tokens (id, hash, user_id, name, created_at, expires_at, revoked, worker_id) VALUES (?,?,?,?,?,?,?,?)`),
		t.ID, auth.HashToken(secret), t.UserID, t.Name, ms(t.CreatedAt), exp, false, t.WorkerID)
	return s.dialect.mapErr(err)
}

// RevokeToken revokes a token for good.
func (s *DB) RevokeToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tokens SET revoked=? WHERE id=?`), true, id)
	return affected(res, err)
}

const tokenCols = `id, user_id, name, created_at, expires_at, revoked, worker_id`

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var c, e int64
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &c, &e, &t.Revoked, &t.WorkerID)
	t.CreatedAt = fromMS(c)
	if e != 0 {
		t.ExpiresAt = fromMS(e)
	}
	return t, err
}

// GetToken returns a token's metadata.
func (s *DB) GetToken(ctx context.Context, id string) (Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM tokens WHERE id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// ListTokens returns a user's tokens (metadata only).
func (s *DB) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	return queryAll(ctx, s, `SELECT `+tokenCols+` FROM tokens WHERE user_id=? ORDER BY created_at, id`, []any{userID}, scanToken)
}

// ErrBadToken is returned for an unknown, revoked or expired token or a disabled user.
var ErrBadToken = errors.New("invalid token")

// Authenticate resolves a presented token to its principal.
func (s *DB) Authenticate(ctx context.Context, secret string, at time.Time) (Principal, error) {
	var p Principal
	var exp int64
	var revoked bool
	row := s.db.QueryRowContext(ctx, s.q(`SELECT t.id, t.worker_id, t.expires_at, t.revoked, u.id, u.name, u.dept_id, u.role, u.disabled, u.created_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash=?`), auth.HashToken(secret))
	var uc int64
	err := row.Scan(&p.TokenID, &p.WorkerID, &exp, &revoked, &p.User.ID, &p.User.Name, &p.User.DeptID, &p.User.Role, &p.User.Disabled, &uc)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrBadToken
	}
	if err != nil {
		return p, err
	}
	p.User.CreatedAt = fromMS(uc)
	switch {
	case revoked:
		return p, errors.Join(ErrBadToken, errors.New("token revoked"))
	case exp != 0 && at.After(fromMS(exp)):
		return p, errors.Join(ErrBadToken, errors.New("token expired"))
	case p.User.Disabled:
		return p, errors.Join(ErrBadToken, errors.New("user disabled"))
	}
	p.Dept, err = s.GetDepartment(ctx, p.User.DeptID)
	return p, err
}

// queryOne runs a query for one row; no row is ErrNotFound wrapped with what.
func queryOne[T any](ctx context.Context, s *DB, q string, args []any, scan func(interface{ Scan(...any) error }) (T, error), what string) (T, error) {
	v, err := scan(s.db.QueryRowContext(ctx, s.q(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return v, err
}

// queryAll runs a query and scans every row.
func queryAll[T any](ctx context.Context, s *DB, q string, args []any, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
