package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// Dispositions (布控) as a department sets them, over REST (/api/v1/dispositions) or
// GA/T 1400 (/VIID/Dispositions): plates (exact or fuzzy) or faces (photos, a
// similarity threshold) watched over the department's cameras or areas for a
// period, with a reason; set and withdrawn in the audit trail. The matcher
// (disposition_match.go) raises the alarms.

// Disposition limits.
const (
	MaxDispositionTargets = 1000
	MaxDispositionDays    = 366
)

// dispositionSpec is a disposition as asked, whichever API it came over; names
// holds the request's own field names for the errors.
type dispositionSpec struct {
	ID, Category, Title, Reason string
	Priority                    int
	Begin, End                  time.Time
	Devices, Areas, Plates      []string
	PlateMode                   string
	Photos                      [][]byte
	Threshold                   float64
	ReceiveAddr                 string
	names                       map[string]string
}

// specError is a refused disposition: the field (in the request's own names) and why.
type specError struct {
	status     int
	field, msg string
}

func (e *specError) Error() string { return e.msg }

func (sp *dispositionSpec) bad(field, format string, args ...any) *specError {
	name := field
	if n, ok := sp.names[field]; ok {
		name = n
	}
	return &specError{status: http.StatusBadRequest, field: name, msg: name + ": " + fmt.Sprintf(format, args...)}
}

// check validates the spec against what the caller p may watch.
func (s *Server) checkSpec(ctx context.Context, p store.Principal, sp *dispositionSpec) *specError {
	now := s.now()
	switch {
	case sp.Category != "plate" && sp.Category != "face":
		return sp.bad("category", "plate or face")
	case strings.TrimSpace(sp.Title) == "" || len(sp.Title) > 256:
		return sp.bad("title", "1 to 256 characters")
	case strings.TrimSpace(sp.Reason) == "" || len(sp.Reason) > 1024:
		return sp.bad("reason", "why the plate or face is watched, 1 to 1024 characters")
	case sp.Priority < 1 || sp.Priority > 3:
		return sp.bad("priority", "1 (highest), 2 or 3")
	case sp.End.IsZero() || !sp.End.After(sp.Begin) || !sp.End.After(now):
		return sp.bad("end", "after the beginning and in the future")
	case sp.End.Sub(sp.Begin) > MaxDispositionDays*24*time.Hour:
		return sp.bad("end", "at most %d days after the beginning", MaxDispositionDays)
	case sp.PlateMode != "exact" && sp.PlateMode != "fuzzy":
		return sp.bad("plate_match", "exact or fuzzy")
	case sp.Threshold <= 0 || sp.Threshold > 1:
		return sp.bad("threshold", "a cosine similarity in (0, 1]")
	}
	if sp.ReceiveAddr != "" {
		if err := s.checkReceiveAddr(sp.ReceiveAddr); err != nil {
			return sp.bad("receive_addr", "%v", err)
		}
	}
	for _, a := range sp.Areas {
		if !divisionRE.MatchString(a) {
			return sp.bad("areas", "%s is not a 6-digit GB/T 2260 code", quote(a))
		}
		if p.User.Role != auth.PlatformAdmin && !auth.InAreas(a, p.Dept.Areas) {
			return sp.bad("areas", "%s is outside your department's areas", a)
		}
	}
	for _, d := range sp.Devices {
		if _, err := gat1400.ParseDeviceID(d); err != nil {
			return sp.bad("devices", "%s is not a 20-digit device ID", quote(d))
		}
		_, serr := s.DB.VisibleStream(ctx, p.Scope(), d, now)
		cams, _, cerr := s.DB.ListCameras(ctx, store.CameraFilter{Scope: p.Scope(), ID: d})
		if serr != nil && (cerr != nil || len(cams) == 0) {
			return sp.bad("devices", "%s is no camera you may see", d)
		}
	}
	n := len(sp.Plates) + len(sp.Photos)
	switch {
	case sp.Category == "plate" && (len(sp.Plates) == 0 || len(sp.Photos) > 0):
		return sp.bad("plates", "a plate disposition watches 1 to %d plates and no photos", MaxDispositionTargets)
	case sp.Category == "face" && (len(sp.Photos) == 0 || len(sp.Plates) > 0):
		return sp.bad("faces", "a face disposition watches 1 to %d photos and no plates", MaxDispositionTargets)
	case n > MaxDispositionTargets:
		return sp.bad(map[bool]string{true: "plates", false: "faces"}[sp.Category == "plate"], "at most %d", MaxDispositionTargets)
	}
	for i, pl := range sp.Plates {
		pl = store.NormalizePlate(pl)
		switch {
		case pl == "" || len([]rune(pl)) > 15:
			return sp.bad("plates", "[%d] %s: 1 to 15 characters", i, quote(pl))
		case sp.PlateMode == "exact" && strings.ContainsAny(pl, "*?"):
			return sp.bad("plates", "[%d] %s: wildcards need plate_match fuzzy", i, pl)
		case strings.Trim(pl, "*?") == "":
			return sp.bad("plates", "[%d] %s: watches every plate", i, pl)
		}
		sp.Plates[i] = pl
	}
	return nil
}

// createDisposition embeds the photos, stores them and the disposition, and
// audits it. body is the GA/T 1400 object to keep (photos as StoragePath).
func (s *Server) createDisposition(c *gin.Context, sp *dispositionSpec, body *gat1400.Disposition) (*store.Disposition, *specError) {
	p := who(c)
	if err := s.checkSpec(c, p, sp); err != nil {
		return nil, err
	}
	now := s.now()
	if sp.ID == "" {
		serial, err := s.DB.NextSerial(c, s.serverID(), now)
		if err != nil {
			return nil, &specError{status: http.StatusServiceUnavailable, msg: "cannot number the disposition: " + err.Error()}
		}
		sp.ID = gat1400.BusinessID(s.serverID()[:12], gat1400.BusinessDisposition, now.In(gat1400.Location), serial)
	}
	d := &store.Disposition{ID: sp.ID, DeptID: p.Dept.ID, UserID: p.User.ID, Category: sp.Category, Title: sp.Title, Reason: sp.Reason,
		Priority: sp.Priority, Begin: sp.Begin, End: sp.End, Devices: sp.Devices, Areas: sp.Areas, PlateMode: sp.PlateMode,
		Threshold: sp.Threshold, ReceiveAddr: sp.ReceiveAddr}
	for i, pl := range sp.Plates {
		d.Targets = append(d.Targets, store.DispositionTarget{N: i, Plate: pl})
	}
	var keys []string
	var images []gat1400.SubImageInfo
	tag := newID() // a set that fails on a taken ID never overwrites that disposition's photos
	for i, photo := range sp.Photos {
		vec, _, _, code, msg := s.embedPhoto(c, photo)
		if code != 0 {
			e := sp.bad("faces", "[%d] %s", i, msg)
			e.status = code
			return nil, e
		}
		key := fmt.Sprintf("dispositions/%s/%s-%d.jpg", d.ID, tag, i)
		keys = append(keys, key)
		d.Targets = append(d.Targets, store.DispositionTarget{N: i, Model: algorithms.FaceEmbedModel, Vector: vec, Image: key})
		images = append(images, gat1400.SubImageInfo{ImageID: fmt.Sprintf("%s%02d", d.ID, i), DeviceID: s.serverID(), StoragePath: s.Objects.URI(key),
			Type: gat1400.ImageFace, FileFormat: gat1400.FormatJpeg})
	}
	body.DispositionID, body.OperateType, body.CreateTime = d.ID, 0, gat1400.FormatTime(now.In(gat1400.Location))
	body.SubImageList = gat1400.NewSubImageList(images...)
	if len(images) == 0 {
		body.SubImageList = gat1400.SubImageList{}
	}
	d.Body, _ = json.Marshal(body)
	// the trail first: no disposition watches without its entry
	detail := fmt.Sprintf("%s disposition %q: %d targets, devices %v, areas %v, %s to %s, receiver %q; reason: %s", d.Category, d.Title, len(d.Targets),
		d.Devices, d.Areas, d.Begin.Format(time.RFC3339), d.End.Format(time.RFC3339), d.ReceiveAddr, d.Reason)
	if err := s.auditDisposition(c, "disposition.create", d.ID, http.StatusCreated, detail); err != nil {
		return nil, &specError{status: http.StatusServiceUnavailable, msg: "audit log unavailable, disposition not set: " + err.Error()}
	}
	err := s.DB.Intend(c, keys)
	for i := 0; err == nil && i < len(keys); i++ {
		err = s.Objects.Put(c, keys[i], sp.Photos[i], "image/jpeg")
	}
	if err == nil {
		err = s.DB.CreateDisposition(c, d)
	}
	if err != nil {
		for _, k := range keys {
			s.Objects.Delete(c, k)
		}
		s.DB.Forget(c, keys)
		status, msg := http.StatusServiceUnavailable, "disposition not stored: "+err.Error()
		if errors.Is(err, store.ErrConflict) {
			status, msg = http.StatusConflict, "disposition "+d.ID+" exists already"
		}
		s.auditDisposition(c, "disposition.create", d.ID, status, msg) // the set above did not happen
		return nil, &specError{status: status, field: sp.names["id"], msg: msg}
	}
	if ferr := s.DB.Forget(c, keys); ferr != nil { // the next start's sweep would take the photos
		slog.Error("disposition photos stay pending", "disposition", d.ID, "err", ferr)
	}
	s.watchChanged()
	return d, nil
}

// withdrawDisposition ends the caller's department's disposition (撤控) and audits it.
func (s *Server) withdrawDisposition(c *gin.Context, id, reason string, update func(*gat1400.Disposition)) error {
	p := who(c)
	d, err := s.DB.GetDisposition(c, id)
	if err == nil && !isAdmin(p) && d.DeptID != p.Dept.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		return err
	}
	var body gat1400.Disposition
	json.Unmarshal(d.Body, &body)
	now := s.now()
	body.OperateType, body.RemoveTime, body.RemoveReason = 1, gat1400.FormatTime(now.In(gat1400.Location)), reason
	if body.RemovePerson == "" {
		body.RemovePerson = p.User.ID
	}
	if update != nil {
		update(&body)
	}
	b, _ := json.Marshal(body)
	if err := s.DB.WithdrawDisposition(c, id, p.User.ID, reason, b, now); err != nil {
		return err
	}
	s.watchChanged()
	if err := s.auditDisposition(c, "disposition.withdraw", id, http.StatusOK, "reason: "+reason); err != nil {
		slog.Error("disposition withdrawn without its audit entry", "disposition", id, "err", err)
	}
	return nil
}

// auditDisposition records who set or withdrew a disposition; unlike s.audit it
// answers nothing itself, so a VIID batch keeps its per-object answers.
func (s *Server) auditDisposition(c *gin.Context, action, id string, status int, detail string) error {
	p := who(c)
	return s.DB.Audit(c, &store.AuditEntry{At: s.now(), UserID: p.User.ID, DeptID: p.Dept.ID, TokenID: p.TokenID, Action: action, Target: id,
		Remote: c.ClientIP(), Status: status, Detail: detail})
}

// dispositionView is a disposition as the API shows it: in force or not, with the
// hits when asked for one.
type dispositionView struct {
	store.Disposition
	InForce  bool                   `json:"in_force"`
	HitCount int                    `json:"hit_count"` // in lists: how many records it caught
	Hits     []store.DispositionHit `json:"hits,omitempty"`
}
