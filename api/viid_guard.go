package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// What a VIID push may write, checked before anything is written: the devices it
// names are the caller's, a record already stored under its ID is the caller's own
// push, and it is not dated in the future.

var (
	errForbiddenDevice = errors.New("device outside your department's areas")
	// errTakenID: the ID holds a record the caller may not replace (another
	// department's, or a capture of a task).
	errTakenID = errors.New("ID is taken by a record this push may not replace")
)

// DefaultMaxClockSkew is how far ahead of the server's clock a pushed record may
// be dated unless Server.MaxClockSkew says otherwise.
const DefaultMaxClockSkew = 5 * time.Minute

func (s *Server) maxClockSkew() time.Duration {
	if s.MaxClockSkew > 0 {
		return s.MaxClockSkew
	}
	return DefaultMaxClockSkew
}

// checkShotTime refuses a time further ahead of the server's clock than the allowed
// skew: retention counts from it, so a record dated years ahead would never expire.
func (s *Server) checkShotTime(field string, t time.Time) error {
	if skew := s.maxClockSkew(); t.After(s.now().Add(skew)) {
		return fmt.Errorf("%s: %s is more than %v ahead of the server's clock", field, gat1400.FormatTime(t.In(gat1400.Location)), skew)
	}
	return nil
}

// viidDevice checks that the caller may push records of device and returns the
// device's area: a camera registered here must be its department's own; any other
// device must lie in its department's areas. The platform admin may push any.
func (s *Server) viidDevice(c *gin.Context, p store.Principal, device string) (string, error) {
	division := device[:6]
	st, err := s.DB.GetStream(c, device)
	if err == nil {
		division = st.AdminDivision
	}
	if p.User.Role == auth.PlatformAdmin {
		return division, nil
	}
	if err == nil && st.OwnerDept != p.Dept.ID {
		return division, fmt.Errorf("%w: %s is another department's camera", errForbiddenDevice, device)
	}
	if !auth.InAreas(division, p.Dept.Areas) {
		return division, fmt.Errorf("%w: %s (area %s)", errForbiddenDevice, device, division)
	}
	return division, nil
}

// viidTarget checks the devices an object names (its DeviceID and the device inside
// its ID; they may differ when a platform numbers objects itself) and that id holds
// no record but the caller's department's own earlier push of it. It returns the
// area of device.
func (s *Server) viidTarget(c *gin.Context, p store.Principal, typ, id, idDevice, device string) (string, error) {
	if idDevice != device {
		if _, err := s.viidDevice(c, p, idDevice); err != nil {
			return "", err
		}
	}
	division, err := s.viidDevice(c, p, device)
	if err != nil {
		return "", err
	}
	old, err := s.DB.GetRecord(c, auth.Scope{All: true}, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return division, nil
	case err != nil:
		return "", err
	case old.DeptID != p.Dept.ID || old.TrackKey != "viid:"+id || old.Type != typ:
		return "", fmt.Errorf("%w: %s", errTakenID, id)
	}
	return division, nil
}

// viidStatusCode is the per-object status for a refused object: 4 (invalid
// operation) when the caller may not write it, 8 (invalid content) otherwise.
func viidStatusCode(err error) gat1400.StatusCode {
	if errors.Is(err, errForbiddenDevice) || errors.Is(err, errTakenID) {
		return gat1400.StatusInvalidOperation
	}
	return gat1400.StatusInvalidJSONContent
}

// snapshotTag makes every pushed snapshot key new, so a push never overwrites a
// stored object, not even when two pushes of one ID race.
func snapshotTag() string { return newID() }

// timeField is the object's attribute its shot time comes from.
func (k viidKind) timeField() string {
	switch k.Object {
	case "MotorVehicle":
		return "PassTime"
	case "NonMotorVehicle":
		return "MarkTime"
	}
	return "ShotTime"
}

// savePushed saves a pushed record whose snapshots are written; when the save is
// refused (a concurrent push of the ID by someone else won), the snapshots go.
func (s *Server) savePushed(c *gin.Context, rec *store.Record) error {
	replaced, err := s.DB.SaveRecord(c, rec)
	if err != nil {
		for _, key := range rec.Images {
			s.Objects.Delete(c, key)
		}
		s.DB.Forget(c, rec.Images)
		if errors.Is(err, store.ErrConflict) {
			err = fmt.Errorf("%w: %s", errTakenID, rec.ID)
		}
		return err
	}
	for _, key := range replaced {
		s.Objects.Delete(c, key)
	}
	s.DB.Forget(c, replaced)
	return nil
}
