package catalogue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/store"
)

// Admit checks the rows against the database and the importer's rights: each camera
// belongs to an existing department whose areas contain its division; a department
// admin imports cameras of their own department only, and cannot take over a camera
// another department owns. A row without an owner is the importer's department's.
// A pull URL must pass CheckURL and then openable, the platform's own rule (file://
// only under its import folders); nil admits what CheckURL does. It fills defaults
// into rows and returns the errors, if any.
func Admit(ctx context.Context, db *store.DB, p store.Principal, rows []Row, openable func(string) error) ([]RowError, error) {
	admin := p.User.Role == auth.PlatformAdmin
	depts, err := db.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.Department{}
	for _, d := range depts {
		byID[d.ID] = d
	}
	ids := make([]string, len(rows))
	for i := range rows {
		ids[i] = rows[i].Camera.DeviceID
	}
	owners, err := db.CameraOwners(ctx, ids)
	if err != nil {
		return nil, err
	}
	var errs []RowError
	add := func(line int, field, reason string) bool {
		errs = append(errs, RowError{line, field, reason})
		return len(errs) >= MaxErrors
	}
	for i := range rows {
		c, line := &rows[i].Camera, rows[i].Line
		if c.OwnerDept == "" && !admin {
			c.OwnerDept = p.Dept.ID
		}
		d, ok := byID[c.OwnerDept]
		stop := false
		switch {
		case c.OwnerDept == "":
			stop = add(line, "owner_department", "required for a platform import: the CityEye department (id) that owns the camera")
		case !admin && c.OwnerDept != p.Dept.ID:
			stop = add(line, "owner_department", "you import cameras of your own department ("+p.Dept.ID+") only")
		case !ok:
			stop = add(line, "owner_department", "no department "+quote(c.OwnerDept))
		case !auth.InAreas(c.AdminDivision, d.Areas):
			stop = add(line, "admin_division", fmt.Sprintf("%s is outside the areas of %s (%s)", c.AdminDivision, d.ID, strings.Join(d.Areas, ", ")))
		}
		if o, ok := owners[c.DeviceID]; ok && !admin && o != p.Dept.ID && !stop {
			stop = add(line, "device_id", c.DeviceID+" belongs to "+o+"; only its staff or the platform office change it")
		}
		if c.URL != "" && !stop {
			err := CheckURL(c.URL)
			if err == nil && openable != nil {
				err = openable(c.URL)
			}
			if err != nil {
				stop = add(line, "url", err.Error())
			}
		}
		if stop {
			break
		}
	}
	return errs, nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// CheckURL accepts a pull URL CityEye can open: rtsp, rtmp, http(s) with a host, or
// an absolute file:// path.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return errors.New("required: rtsp://, rtmp://, http(s):// or file:// URL")
	}
	switch u.Scheme {
	case "rtsp", "rtmp", "http", "https":
		if u.Host == "" {
			return fmt.Errorf("%s URL needs a host", u.Scheme)
		}
	case "file":
		if !strings.HasPrefix(u.Path, "/") {
			return errors.New("file URL needs an absolute path: file:///path/to/video")
		}
	default:
		return fmt.Errorf("scheme %q not supported (rtsp, rtmp, http, https, file)", u.Scheme)
	}
	return nil
}
