package store

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/cityeye/cityeye/auth"
)

// Camera is one entry of the city's camera catalogue (resource directory, seed 003
// appendix 5), every field of it, plus the CityEye department that owns the camera.
// The catalogue lists every camera of the city; a camera with a pull URL is also a
// stream (streams table, same device ID), whose shared fields the import keeps in step.
type Camera struct {
	DeviceID       string    `json:"device_id"`       // 设备编码: 20-digit GB/T 28181 code
	Name           string    `json:"name"`            // 设备名称
	AdminDivision  string    `json:"admin_division"`  // 行政区划: 6-digit GB/T 2260
	GrassrootsCode string    `json:"grassroots_code"` // 基层组织编码 (optional, up to 10 digits)
	Builder        string    `json:"builder"`         // 建设单位 (the asset owner)
	Manager        string    `json:"manager"`         // 管理单位
	ManagerPhone   string    `json:"manager_phone"`   // 管理单位联系方式
	Contractor     string    `json:"contractor"`      // 承建单位, "/"-separated
	Maintainer     string    `json:"maintainer"`      // 维护单位, "/"-separated
	PointType      int       `json:"point_type"`      // 监控点位类型: 1, 2, 3, 9
	PlatformCode   string    `json:"platform_code"`   // 平台编码 (GB/T 28181 code of the platform it is connected to)
	IndustryCode   string    `json:"industry_code"`   // 摄像机所属部门/行业: 01–32, 99
	CameraType     int       `json:"camera_type"`     // 摄像机类型: 1–5, 99
	OnlineState    int       `json:"online_state"`    // 联网状态 as declared: 1 online, 2 offline
	Address        string    `json:"address"`         // 安装地址
	PositionTypes  string    `json:"position_types"`  // 摄像机位置类型: codes such as A0101, comma-separated
	CoordSystem    string    `json:"coord_system"`    // 经纬度类型: WGS84 or CGCS2000
	Longitude      float64   `json:"longitude"`       // 经度, 6 decimals
	Latitude       float64   `json:"latitude"`        // 纬度, 6 decimals
	IPv4           string    `json:"ipv4"`            // IPV4地址 (optional)
	MAC            string    `json:"mac"`             // MAC地址 (optional)
	Indoor         int       `json:"indoor"`          // 室内外: 1 outdoor, 2 indoor, 0 not given
	Direction      int       `json:"direction"`       // 监控方位: 1–9, 0 not given
	PoleNumber     string    `json:"pole_number"`     // 立杆编号: 12 digits (optional)
	AccessNetwork  int       `json:"access_network"`  // 接入网络: 1–9, 99
	RetentionDays  int       `json:"retention_days"`  // 录像保存天数
	Sharing        int       `json:"sharing"`         // 共享属性: 0 conditional, 1 unconditional, 2 not shared
	Permissions    string    `json:"permissions"`     // 默认权限: values 1–5, comma-separated
	Vendor         int       `json:"vendor"`          // 设备厂商: 1–17, 99
	Codec          int       `json:"codec"`           // 摄像机编码格式: 1–5
	DeviceStatus   int       `json:"device_status"`   // 设备状态: 1 in use, 2 repair, 3 removed
	OwnerDept      string    `json:"owner_department"`
	URL            string    `json:"url,omitempty"` // pull URL: stored on the stream, never in this table
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

const cameraCols = `device_id, name, admin_division, grassroots_code, builder, manager, manager_phone, contractor, maintainer,
	point_type, platform_code, industry_code, camera_type, online_state, address, position_types, coord_system, longitude, latitude,
	ipv4, mac, indoor, direction, pole_number, access_network, retention_days, sharing, permissions, vendor, codec, device_status,
	owner_dept, created_at, updated_at`

const cameraColCount = 34

func (c *Camera) args() []any {
	return []any{c.DeviceID, c.Name, c.AdminDivision, c.GrassrootsCode, c.Builder, c.Manager, c.ManagerPhone, c.Contractor, c.Maintainer,
		c.PointType, c.PlatformCode, c.IndustryCode, c.CameraType, c.OnlineState, c.Address, c.PositionTypes, c.CoordSystem, c.Longitude, c.Latitude,
		c.IPv4, c.MAC, c.Indoor, c.Direction, c.PoleNumber, c.AccessNetwork, c.RetentionDays, c.Sharing, c.Permissions, c.Vendor, c.Codec, c.DeviceStatus,
		c.OwnerDept, ms(c.CreatedAt), ms(c.UpdatedAt)}
}

// cameraSelect reads a camera with its stream's pull URL (” when it has none).
const cameraSelect = `SELECT ` + cameraCols + `, COALESCE((SELECT url FROM streams WHERE streams.id=cameras.device_id), '') FROM cameras`

// scanCamera reads a cameraSelect row; the URL, decrypted, comes without its credentials.
func (s *DB) scanCamera(row interface{ Scan(...any) error }) (Camera, error) {
	var c Camera
	var cr, up int64
	err := row.Scan(&c.DeviceID, &c.Name, &c.AdminDivision, &c.GrassrootsCode, &c.Builder, &c.Manager, &c.ManagerPhone, &c.Contractor, &c.Maintainer,
		&c.PointType, &c.PlatformCode, &c.IndustryCode, &c.CameraType, &c.OnlineState, &c.Address, &c.PositionTypes, &c.CoordSystem, &c.Longitude, &c.Latitude,
		&c.IPv4, &c.MAC, &c.Indoor, &c.Direction, &c.PoleNumber, &c.AccessNetwork, &c.RetentionDays, &c.Sharing, &c.Permissions, &c.Vendor, &c.Codec, &c.DeviceStatus,
		&c.OwnerDept, &cr, &up, &c.URL)
	c.CreatedAt, c.UpdatedAt = fromMS(cr), fromMS(up)
	if err == nil {
		c.URL, err = s.openURL(c.DeviceID, c.URL)
		c.URL = StripCredentials(c.URL)
	}
	return c, err
}

// importBatch rows go in one multi-row statement: 34 parameters a row stays under
// both SQLite's (32,766) and PostgreSQL's (65,535) limits, and one round trip per
// batch is what makes 80,000 rows a few seconds rather than a minute.
const importBatch = 400

// ImportCameras upserts the cameras (by device ID) and brings their streams in step,
// all in one transaction: either every row is written or none is.
func (s *DB) ImportCameras(ctx context.Context, cams []Camera) error {
	t := now()
	for i := range cams {
		cams[i].CreatedAt, cams[i].UpdatedAt = t, t
	}
	cols := strings.Split(strings.Join(strings.Fields(cameraCols), ""), ",")
	set := make([]string, 0, len(cols))
	for _, c := range cols {
		if c != "device_id" && c != "created_at" {
			set = append(set, c+"=excluded."+c)
		}
	}
	upsert := func(n int) string {
		return `INSERT INTO cameras (` + cameraCols + `) VALUES ` + valueRows(n, cameraColCount) +
			` ON CONFLICT (device_id) DO UPDATE SET ` + strings.Join(set, ", ")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		// full batches share one prepared statement: SQLite parses a 13,600-parameter
		// statement in about as long as it takes to run it
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		for lo := 0; lo < len(cams); lo += importBatch {
			batch := cams[lo:min(lo+importBatch, len(cams))]
			args := make([]any, 0, len(batch)*cameraColCount)
			for i := range batch {
				args = append(args, batch[i].args()...)
			}
			var err error
			switch {
			case len(batch) < importBatch:
				_, err = tx.ExecContext(ctx, s.q(upsert(len(batch))), args...)
			case full == nil:
				if full, err = tx.PrepareContext(ctx, s.q(upsert(importBatch))); err != nil {
					return err
				}
				fallthrough
			default:
				_, err = full.ExecContext(ctx, args...)
			}
			if err != nil {
				return err
			}
		}
		return s.syncStreams(ctx, tx, cams, t)
	})
}

// valueRows is "(?,?,…),(?,?,…)…": rows groups of n.
func valueRows(rows, n int) string {
	return strings.TrimSuffix(strings.Repeat("("+placeholders(n)+"),", rows), ",")
}

// syncStreams is the one place the catalogue writes the streams table: a camera with
// a pull URL becomes (or updates) a stream; a stream without one in the file keeps
// its URL; every stream of an imported camera (those whose updated_at is t) gets the
// catalogue's name, division, coordinates, owner, point type and sharing, in one
// joined UPDATE. A URL given without credentials for the same address as the stored
// one keeps the stored credentials (an export, which never carries them, re-imported).
func (s *DB) syncStreams(ctx context.Context, tx *sql.Tx, cams []Camera, t time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE streams SET name=c.name, admin_division=c.admin_division, longitude=c.longitude,
		latitude=c.latitude, owner_dept=c.owner_dept, point_type=c.point_type, sharing=c.sharing, updated_at=?
		FROM cameras c WHERE c.device_id=streams.id AND c.updated_at=?`), ms(t), ms(t)); err != nil {
		return err
	}
	var withURL []Camera
	for _, c := range cams {
		if c.URL != "" {
			withURL = append(withURL, c)
		}
	}
	for lo := 0; lo < len(withURL); lo += importBatch {
		if err := s.streamURLs(ctx, tx, withURL[lo:min(lo+importBatch, len(withURL))], t); err != nil {
			return err
		}
	}
	return nil
}

// streamURLs makes or updates the streams of cameras that come with a pull URL.
func (s *DB) streamURLs(ctx context.Context, tx *sql.Tx, cams []Camera, t time.Time) error {
	ids := make([]string, len(cams))
	for i := range cams {
		ids[i] = cams[i].DeviceID
	}
	stored := map[string]string{}
	// planned with the values (an IN list of parameters in a cached generic plan is
	// compared row by row on PostgreSQL; with the values it is hashed or indexed)
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id, url FROM streams WHERE id IN (`+placeholders(len(ids))+`)`), s.dialect.freshPlan(anys(ids))...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, u string
		if err := rows.Scan(&id, &u); err != nil {
			rows.Close()
			return err
		}
		stored[id] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	args := make([]any, 0, len(cams)*11)
	for _, c := range cams {
		u := c.URL
		if old, ok := stored[c.DeviceID]; ok {
			plain, err := s.openURL(c.DeviceID, old)
			if err != nil {
				return err
			}
			u = KeepCredentials(u, plain)
		}
		args = append(args, c.DeviceID, c.Name, s.sealURL(c.DeviceID, u), c.AdminDivision, c.Longitude, c.Latitude,
			c.OwnerDept, c.PointType, c.Sharing, ms(t), ms(t))
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO streams (id, name, url, admin_division, longitude, latitude, owner_dept, point_type, sharing, created_at, updated_at)
		VALUES `+valueRows(len(cams), 11)+` ON CONFLICT (id) DO UPDATE SET url=excluded.url, updated_at=excluded.updated_at`), args...)
	return s.dialect.mapErr(err)
}

// KeepCredentials returns u, or stored when u is stored without its credentials
// (same scheme, host and path; u has no user info): what an export shows.
func KeepCredentials(u, stored string) string {
	a, err1 := url.Parse(u)
	b, err2 := url.Parse(stored)
	if err1 != nil || err2 != nil || a.User != nil || b.User == nil {
		return u
	}
	if a.Scheme == b.Scheme && a.Host == b.Host && a.Path == b.Path && a.RawQuery == b.RawQuery {
		return stored
	}
	return u
}

// StripCredentials removes the user info from a URL, for exports.
func StripCredentials(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}

// CameraOwners returns, for those of ids already in the catalogue or registered as
// streams, the department that owns each (the catalogue's owner first).
func (s *DB) CameraOwners(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for lo := 0; lo < len(ids); lo += 500 {
		part := ids[lo:min(lo+500, len(ids))]
		args, in := anys(part), placeholders(len(part))
		for _, q := range []string{`SELECT id, owner_dept FROM streams WHERE id IN (` + in + `)`, `SELECT device_id, owner_dept FROM cameras WHERE device_id IN (` + in + `)`} {
			rows, err := queryAll(ctx, s, q, s.dialect.freshPlan(args), func(r interface{ Scan(...any) error }) ([2]string, error) {
				var v [2]string
				return v, r.Scan(&v[0], &v[1])
			})
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				out[r[0]] = r[1]
			}
		}
	}
	return out, nil
}

// CameraFilter selects catalogue entries; zero fields match everything.
type CameraFilter struct {
	Scope        auth.Scope
	OwnerOnly    bool   // only the scope's department's own cameras (exports)
	Area         string // GB/T 2260 code: the division or any below it
	Dept         string
	PointType    int
	CameraType   int
	DeviceStatus int
	Name         string // substring of the name or address
	ID           string // one device ID
	Checkpoints  bool   // checkpoints (卡口) only: camera type 5 or device type 121
	Where        string // an extra condition on the cameras' columns (a GA/T 1400 query's SQL)
	WhereArgs    []any
	OrderBy      string // columns to sort by before device_id
	Offset       int
	Limit        int // 0: all
}

// ListCameras returns catalogue entries by device ID, with the total that match.
func (s *DB) ListCameras(ctx context.Context, f CameraFilter) ([]Camera, int, error) {
	where, args := []string{"1=1"}, []any{}
	switch {
	case f.Scope.All:
	case f.OwnerOnly:
		where, args = append(where, "owner_dept=?"), append(args, f.Scope.Dept)
	default:
		area, a := areaSQL("admin_division", f.Scope.Areas)
		where = append(where, "(owner_dept=? OR (sharing IN (0,1) AND "+area+"))")
		args = append(append(args, f.Scope.Dept), a...)
	}
	if f.Area != "" {
		where, args = append(where, "admin_division LIKE ?"), append(args, auth.AreaPrefix(f.Area)+"%")
	}
	if f.Dept != "" {
		where, args = append(where, "owner_dept=?"), append(args, f.Dept)
	}
	for _, v := range []struct {
		col string
		n   int
	}{{"point_type", f.PointType}, {"camera_type", f.CameraType}, {"device_status", f.DeviceStatus}} {
		if v.n != 0 {
			where, args = append(where, v.col+"=?"), append(args, v.n)
		}
	}
	if f.Name != "" {
		where, args = append(where, "(name LIKE ? OR address LIKE ?)"), append(args, "%"+f.Name+"%", "%"+f.Name+"%")
	}
	if f.ID != "" {
		where, args = append(where, "device_id=?"), append(args, f.ID)
	}
	if f.Checkpoints {
		where = append(where, "(camera_type=5 OR substr(device_id, 11, 3)='121')")
	}
	if f.Where != "" {
		where, args = append(where, "("+f.Where+")"), append(args, f.WhereArgs...)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM cameras WHERE `+cond), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := "device_id"
	if f.OrderBy != "" {
		order = f.OrderBy + ", device_id"
	}
	q := cameraSelect + ` WHERE ` + cond + ` ORDER BY ` + order
	if f.Limit > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, f.Offset)
	}
	cams, err := queryAll(ctx, s, q, args, s.scanCamera)
	return cams, total, err
}

// GetCamera returns one catalogue entry.
func (s *DB) GetCamera(ctx context.Context, id string) (Camera, error) {
	c, err := s.scanCamera(s.db.QueryRowContext(ctx, s.q(cameraSelect+` WHERE device_id=?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}
