package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// The REST face of dispositions: /api/v1/dispositions.

type dispositionBody struct {
	Category    string   `json:"category"` // plate or face
	Title       string   `json:"title"`
	Reason      string   `json:"reason"`
	Priority    int      `json:"priority"` // 1 highest … 3 (default 2)
	Begin       string   `json:"begin"`    // RFC 3339 or YYYYMMDDhhmmss; default now
	End         string   `json:"end"`
	Devices     []string `json:"devices"`
	Areas       []string `json:"areas"`
	Plates      []string `json:"plates"`
	PlateMatch  string   `json:"plate_match"` // exact (default) or fuzzy
	Faces       []string `json:"faces"`       // base64 JPEG or PNG photos, one face each
	Threshold   float64  `json:"threshold"`   // default DefaultFaceThreshold
	ReceiveAddr string   `json:"receive_addr"`
}

func createDispositionREST(s *Server, c *gin.Context) {
	var b dispositionBody
	if !bindJSON(c, &b) {
		return
	}
	sp := &dispositionSpec{Category: b.Category, Title: b.Title, Reason: b.Reason, Priority: b.Priority, Devices: b.Devices, Areas: b.Areas,
		Plates: b.Plates, PlateMode: b.PlateMatch, Threshold: b.Threshold, ReceiveAddr: b.ReceiveAddr, Begin: s.now()}
	if sp.Priority == 0 {
		sp.Priority = 2
	}
	if sp.PlateMode == "" {
		sp.PlateMode = "exact"
	}
	if sp.Threshold == 0 {
		sp.Threshold = DefaultFaceThreshold
	}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"begin", b.Begin, &sp.Begin}, {"end", b.End, &sp.End}} {
		if t.v == "" {
			continue
		}
		v, err := parseTime(t.v)
		if err != nil {
			fail(c, http.StatusBadRequest, t.name, t.name+": RFC 3339 (2026-11-22T08:00:00+08:00) or YYYYMMDDhhmmss")
			return
		}
		*t.dst = v
	}
	for i, f := range b.Faces {
		photo, err := base64.StdEncoding.DecodeString(f)
		if err != nil {
			fail(c, http.StatusBadRequest, "faces", "faces["+strconv.Itoa(i)+"]: not base64")
			return
		}
		sp.Photos = append(sp.Photos, photo)
	}
	body := &gat1400.Disposition{Title: sp.Title, PriorityLevel: gat1400.FlexInt(sp.Priority), BeginTime: gat1400.FormatTime(sp.Begin.In(gat1400.Location)),
		EndTime: gat1400.FormatTime(sp.End.In(gat1400.Location)), ReceiveAddr: sp.ReceiveAddr, Reason: sp.Reason, ApplicantName: who(c).User.Name,
		ApplicantOrg: who(c).Dept.Name, TargetFeature: strings.Join(sp.Plates, ";"), TollgateList: strings.Join(sp.Devices, ";"), DispositionArea: strings.Join(sp.Areas, ";")}
	body.DispositionCategory, body.DispositionRange = gat1400.DispositionMotorVehicle, "1"
	if sp.Category == "face" {
		body.DispositionCategory, body.Similaritydegree = gat1400.DispositionFace, gat1400.FlexFloat(sp.Threshold)
	}
	if len(sp.Areas) > 0 {
		body.DispositionRange = "2"
	}
	if sp.PlateMode == "fuzzy" {
		body.PlateMatch = "fuzzy"
	}
	d, serr := s.createDisposition(c, sp, body)
	if serr != nil {
		fail(c, serr.status, serr.field, serr.msg)
		return
	}
	c.JSON(http.StatusCreated, dispositionView{Disposition: *d, InForce: inForce(*d, s.now())})
}

func listDispositionsREST(s *Server, c *gin.Context) {
	p := who(c)
	dept := p.Dept.ID
	if isAdmin(p) {
		dept = ""
	}
	offset, _ := strconv.Atoi(c.DefaultQuery("offset", "0"))
	limit, err := strconv.Atoi(c.DefaultQuery("limit", "50"))
	if err != nil || limit < 1 || limit > 1000 || offset < 0 {
		fail(c, http.StatusBadRequest, "limit", "limit: 1 to 1000; offset: 0 or more")
		return
	}
	ds, total, err := s.DB.ListDispositions(c, dept, offset, limit)
	if err != nil {
		storeErr(c, err, "dispositions")
		return
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	counts, err := s.DB.HitCounts(c, ids)
	if err != nil {
		storeErr(c, err, "hits")
		return
	}
	out := make([]dispositionView, len(ds))
	for i, d := range ds {
		out[i] = dispositionView{Disposition: d, InForce: inForce(d, s.now()), HitCount: counts[d.ID]}
		out[i].Targets = []store.DispositionTarget{}
	}
	c.JSON(http.StatusOK, gin.H{"dispositions": out, "total": total})
}

// visibleDisposition is a disposition of the caller's department (any for the
// platform admin); ErrNotFound otherwise.
func (s *Server) visibleDisposition(c *gin.Context, id string) (store.Disposition, error) {
	d, err := s.DB.GetDisposition(c, id)
	if err == nil && !isAdmin(who(c)) && d.DeptID != who(c).Dept.ID {
		err = store.ErrNotFound
	}
	return d, err
}

func getDispositionREST(s *Server, c *gin.Context) {
	d, err := s.visibleDisposition(c, c.Param("id"))
	if err != nil {
		storeErr(c, err, "disposition "+c.Param("id"))
		return
	}
	hits, err := s.DB.ListHits(c, d.ID, 100)
	if err != nil {
		storeErr(c, err, "hits")
		return
	}
	if _, ok := s.audit(c, "disposition.read", d.ID, "", http.StatusOK, fmt.Sprintf("%d hits", len(hits))); !ok {
		return
	}
	counts, err := s.DB.HitCounts(c, []string{d.ID})
	if err != nil {
		storeErr(c, err, "hits")
		return
	}
	c.JSON(http.StatusOK, dispositionView{Disposition: d, InForce: inForce(d, s.now()), HitCount: counts[d.ID], Hits: hits})
}

type withdrawBody struct {
	Reason string `json:"reason"`
}

func withdrawDispositionREST(s *Server, c *gin.Context) {
	var b withdrawBody
	if !bindJSON(c, &b) {
		return
	}
	if b.Reason == "" || len(b.Reason) > 1024 {
		fail(c, http.StatusBadRequest, "reason", "reason: why the disposition is withdrawn, 1 to 1024 characters")
		return
	}
	if err := s.withdrawDisposition(c, c.Param("id"), b.Reason, nil); err != nil {
		storeErr(c, err, "disposition "+c.Param("id"))
		return
	}
	getDispositionREST(s, c)
}

func init() {
	schemas["Disposition"] = gin.H{"type": "object", "required": []string{"category", "title", "reason", "end"}, "properties": gin.H{
		"category":     gin.H{"type": "string", "enum": []string{"plate", "face"}},
		"title":        gin.H{"type": "string", "maxLength": 256},
		"reason":       gin.H{"type": "string", "maxLength": 1024},
		"priority":     gin.H{"type": "integer", "enum": []int{1, 2, 3}, "description": "1 highest (alert level 3) … 3; default 2"},
		"begin":        gin.H{"type": "string", "description": "RFC 3339 or YYYYMMDDhhmmss; default now"},
		"end":          gin.H{"type": "string", "description": "at most 366 days after begin"},
		"devices":      gin.H{"type": "array", "items": gin.H{"type": "string", "pattern": "^[0-9]{20}$"}, "description": "cameras watched (with areas empty too: all your department may see)"},
		"areas":        gin.H{"type": "array", "items": gin.H{"type": "string", "pattern": "^[0-9]{6}$"}, "description": "areas watched, inside your department's"},
		"plates":       gin.H{"type": "array", "items": gin.H{"type": "string"}, "maxItems": MaxDispositionTargets, "description": "category plate: the watched plates"},
		"plate_match":  gin.H{"type": "string", "enum": []string{"exact", "fuzzy"}, "description": "fuzzy: * and ? wildcards, or one character misread, missing or extra"},
		"faces":        gin.H{"type": "array", "items": gin.H{"type": "string", "format": "byte"}, "description": "category face: base64 JPEG or PNG photos, the best face of each watched (the whole request at most 1 MiB)"},
		"threshold":    gin.H{"type": "number", "minimum": 0, "maximum": 1, "description": "least cosine similarity that alarms; default 0.75"},
		"receive_addr": gin.H{"type": "string", "description": "a GA/T 1400 peer's URL that receives a DispositionNotification per hit"},
	}}
	schemas["Withdraw"] = gin.H{"type": "object", "required": []string{"reason"}, "properties": gin.H{"reason": gin.H{"type": "string", "maxLength": 1024}}}
}
