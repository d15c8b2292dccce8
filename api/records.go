package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
)

var recordTypes = map[string]bool{"Face": true, "Person": true, "MotorVehicle": true, "NonMotorVehicle": true}

// parseTime accepts RFC 3339 and the GA/T 1400 YYYYMMDDhhmmss form.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return gat1400.ParseTime(s)
}

// recordFilter reads the search parameters shared by search and export.
func recordFilter(c *gin.Context) (store.RecordFilter, bool) {
	var f store.RecordFilter
	f.Type, f.DeviceID, f.TaskID = c.Query("type"), c.Query("device_id"), c.Query("task_id")
	f.Scope = who(c).Scope()
	if f.Type != "" && !recordTypes[f.Type] {
		fail(c, http.StatusBadRequest, "type", "type: one of Face, Person, MotorVehicle, NonMotorVehicle")
		return f, false
	}
	if !timeParams(c, map[string]*time.Time{"from": &f.From, "to": &f.To}) || !pageParams(c, &f.Offset, &f.Limit) {
		return f, false
	}
	return f, true
}

func listRecords(s *Server, c *gin.Context) {
	f, ok := recordFilter(c)
	if !ok {
		return
	}
	recs, total, err := s.DB.ListRecords(c, f)
	if err != nil {
		storeErr(c, err, "records")
		return
	}
	if _, ok := s.audit(c, "record.search", c.Request.URL.RawQuery, "", http.StatusOK, strconv.Itoa(len(recs))+" of "+strconv.Itoa(total)); !ok {
		return
	}
	c.JSON(http.StatusOK, gin.H{"records": orEmpty(recs), "total": total, "offset": f.Offset, "limit": max(len(recs), f.Limit)})
}

// MaxExport is the most records one export returns.
const MaxExport = 100_000

// exportRecords streams matching records as NDJSON, one GA/T 1400 record a line.
func exportRecords(s *Server, c *gin.Context) {
	f, ok := recordFilter(c)
	if !ok {
		return
	}
	f.Limit = 1000
	first, total, err := s.DB.ListRecords(c, f)
	if err != nil {
		storeErr(c, err, "records")
		return
	}
	n := min(total-f.Offset, MaxExport)
	if _, ok := s.audit(c, "record.export", c.Request.URL.RawQuery, "", http.StatusOK, strconv.Itoa(max(n, 0))+" records"); !ok {
		return
	}
	c.Header("Content-Type", "application/x-ndjson")
	c.Header("Content-Disposition", `attachment; filename="cityeye-records.ndjson"`)
	c.Status(http.StatusOK)
	enc := json.NewEncoder(c.Writer)
	sent, page := 0, first
	for len(page) > 0 && sent < MaxExport {
		for _, r := range page {
			if sent >= MaxExport {
				break
			}
			if enc.Encode(r) != nil {
				return
			}
			sent++
		}
		f.Offset += len(page)
		if page, _, err = s.DB.ListRecords(c, f); err != nil {
			return // the client sees a truncated stream; the audit entry stands
		}
	}
}

func getRecord(s *Server, c *gin.Context) {
	r, err := s.DB.GetRecord(c, who(c).Scope(), c.Param("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.audit(c, "record.read", c.Param("id"), "", http.StatusNotFound, "not found or not visible")
		}
		storeErr(c, err, "record "+c.Param("id"))
		return
	}
	if _, ok := s.audit(c, "record.read", r.ID, r.GrantID, http.StatusOK, ""); !ok {
		return
	}
	c.JSON(http.StatusOK, r)
}

// audit appends an audit entry for the caller; when that fails the read is refused
// (503), so no evidence is ever read without a trace.
func (s *Server) audit(c *gin.Context, action, target, grantID string, status int, detail string) (store.AuditEntry, bool) {
	p := who(c)
	e := store.AuditEntry{At: s.now(), UserID: p.User.ID, DeptID: p.Dept.ID, TokenID: p.TokenID, Action: action, Target: target,
		GrantID: grantID, Remote: c.ClientIP(), Status: status, Detail: detail}
	if err := s.DB.Audit(c, &e); err != nil {
		fail(c, http.StatusServiceUnavailable, "", "audit log unavailable, read refused: "+err.Error())
		return e, false
	}
	return e, true
}

// snapshotRecordID extracts the record ID from a snapshot key
// (snapshots/<device>/<day>/<record ID>-v<n>-<kind>.jpg).
func snapshotRecordID(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "snapshots/")
	if !ok {
		return "", false
	}
	base := path.Base(rest)
	if strings.HasSuffix(base, "-image.jpg") && len(base) > 41 && base[41] == '-' { // a pushed VIID image
		return base[:41], true
	}
	i := strings.Index(base, "-v")
	if i != 48 {
		return "", false
	}
	return base[:i], true
}

// snapshotOwner finds the record or alert a snapshot key belongs to, if the caller may
// see it (ErrNotFound otherwise), and the grant it was captured under.
func (s *Server) snapshotOwner(c *gin.Context, key string) (owner, grantID string, err error) {
	sc := who(c).Scope()
	if id, ok := snapshotRecordID(key); ok {
		r, err := s.DB.GetRecord(c, sc, id)
		if err == nil && !slices.Contains(r.Images, key) {
			err = store.ErrNotFound // an old version's image, already replaced
		}
		return "record " + r.ID, r.GrantID, err
	}
	if rest, ok := strings.CutPrefix(key, "alerts/"); ok {
		id := strings.TrimSuffix(path.Base(rest), ".jpg")
		a, err := s.DB.GetAlert(c, sc, id)
		if err == nil && a.Image != key {
			err = store.ErrNotFound
		}
		return "alert " + a.ID, a.GrantID, err
	}
	if rest, ok := strings.CutPrefix(key, "dispositions/"); ok { // a watched photo: its department's
		id, _, _ := strings.Cut(rest, "/")
		d, err := s.visibleDisposition(c, id)
		if err == nil && !slices.ContainsFunc(d.Targets, func(t store.DispositionTarget) bool { return t.Image == key }) {
			err = store.ErrNotFound
		}
		return "disposition " + id, "", err
	}
	return "", "", store.ErrNotFound
}

// getObject serves a snapshot of a record the caller may see, watermarked with the
// caller's department, user and time (visible) and the audit entry ID (invisible).
// The stored original stays unmarked.
func getObject(s *Server, c *gin.Context) {
	key := strings.TrimPrefix(c.Param("key"), "/")
	if err := objects.CheckKey(key); err != nil {
		fail(c, http.StatusBadRequest, "key", err.Error())
		return
	}
	p := who(c)
	owner, grantID, err := s.snapshotOwner(c, key)
	if errors.Is(err, store.ErrNotFound) {
		s.audit(c, "snapshot.read", key, "", http.StatusNotFound, "not found or not visible")
		fail(c, http.StatusNotFound, "", "no snapshot "+key)
		return
	}
	if err != nil {
		storeErr(c, err, "snapshot")
		return
	}
	if grantID != "" && !isAdmin(p) {
		g, err := s.DB.GetApplication(c, grantID)
		if err != nil || !g.Has(auth.RightSnapshots) {
			s.audit(c, "snapshot.read", key, grantID, http.StatusForbidden, "grant lacks the snapshots right")
			fail(c, http.StatusForbidden, "", "grant "+grantID+" does not include the snapshots right")
			return
		}
	}
	b, err := s.Objects.Get(c, key)
	if errors.Is(err, objects.ErrNotFound) {
		fail(c, http.StatusNotFound, "", "no object "+key)
		return
	}
	if err != nil {
		fail(c, http.StatusBadGateway, "", "object store: "+err.Error())
		return
	}
	e, ok := s.audit(c, "snapshot.read", key, grantID, http.StatusOK, owner)
	if !ok {
		return
	}
	s.serveMarked(c, e, b)
}
