package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/query"
	"github.com/cityeye/cityeye/store"
)

// /VIID/Dispositions: a peer sets (POST DispositionListObject), lists and withdraws
// (PUT /VIID/Dispositions/{ID} with OperateType 1) dispositions, as the department
// its account acts for. Category 3 (motor vehicle) watches the plates in
// TargetFeature; category 2 (face) the photos in SubImageList (Data). Other
// categories, and photos by TargetImageURI (CityEye fetches nothing a peer names),
// are refused with the reason.

// viidDispositionNames are the VIID fields the spec's errors name.
var viidDispositionNames = map[string]string{"id": "DispositionID", "category": "DispositionCategory", "title": "Title", "reason": "Reason",
	"priority": "PriorityLevel", "end": "EndTime", "plate_match": "PlateMatch", "threshold": "Similaritydegree", "receive_addr": "ReceiveAddr",
	"areas": "DispositionArea", "devices": "TollgateList", "plates": "TargetFeature", "faces": "SubImageList"}

var businessIDRE = regexp.MustCompile(`^[0-9]{33}$`)

func splitIDs(v string) []string {
	var out []string
	for _, x := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// viidSpec reads a DispositionObject into a spec; a field it cannot read is an error.
func (s *Server) viidSpec(o *gat1400.Disposition) (*dispositionSpec, *specError) {
	sp := &dispositionSpec{ID: o.DispositionID, Title: o.Title, Reason: o.Reason, Priority: int(o.PriorityLevel), ReceiveAddr: o.ReceiveAddr,
		PlateMode: o.PlateMatch, Threshold: float64(o.Similaritydegree), Begin: s.now(), names: viidDispositionNames}
	if sp.PlateMode == "" {
		sp.PlateMode = "exact"
	}
	if sp.Threshold == 0 {
		sp.Threshold = DefaultFaceThreshold
	}
	if sp.Priority == 0 {
		sp.Priority = 2
	}
	if sp.ID != "" && !businessIDRE.MatchString(sp.ID) {
		return nil, sp.bad("id", "33 digits (BusinessObjectIdType), or none to have CityEye number it")
	}
	switch string(o.DispositionCategory) {
	case gat1400.DispositionMotorVehicle:
		sp.Category, sp.Plates = "plate", splitIDs(o.TargetFeature)
	case gat1400.DispositionFace:
		sp.Category = "face"
	default:
		return nil, sp.bad("category", "%q: CityEye watches 2 (face) and 3 (motor vehicle: plates in TargetFeature)", string(o.DispositionCategory))
	}
	if o.TargetImageURI != "" {
		return nil, sp.bad("faces", "send the photos as SubImageList Data: CityEye fetches no TargetImageURI")
	}
	for i, im := range o.SubImageList.SubImageInfoObject {
		photo, err := base64.StdEncoding.DecodeString(im.Data)
		if err != nil || len(photo) == 0 {
			return nil, sp.bad("faces", "SubImageInfoObject[%d].Data: a base64 JPEG or PNG photo", i)
		}
		sp.Photos = append(sp.Photos, photo)
	}
	for _, f := range []struct {
		name, v string
		dst     *[]string
	}{{"TollgateList", o.TollgateList, &sp.Devices}, {"DispositionArea", o.DispositionArea, &sp.Areas}} {
		*f.dst = splitIDs(f.v)
	}
	for _, t := range []struct{ name, v string }{{"begin", o.BeginTime}, {"end", o.EndTime}} {
		if t.v == "" {
			continue
		}
		v, err := gat1400.ParseTime(t.v)
		if err != nil {
			return nil, sp.bad(t.name, "YYYYMMDDhhmmss")
		}
		if t.name == "begin" {
			sp.Begin = v
		} else {
			sp.End = v
		}
	}
	return sp, nil
}

// viidSetDispositions: POST /VIID/Dispositions, one status per object.
func viidSetDispositions(s *Server, c *gin.Context) {
	var env struct {
		DispositionListObject struct {
			DispositionObject []json.RawMessage
		}
	}
	if err := decodeLenient(c, &env); err != nil || len(env.DispositionListObject.DispositionObject) == 0 {
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidJSONFormat, "DispositionListObject", `want {"DispositionListObject":{"DispositionObject":[…]}}`)
		return
	}
	var sts []gat1400.ResponseStatus
	for i, raw := range env.DispositionListObject.DispositionObject {
		var o gat1400.Disposition
		err := json.Unmarshal(raw, &o)
		var d *store.Disposition
		var serr *specError
		if err == nil {
			var sp *dispositionSpec
			if sp, serr = s.viidSpec(&o); serr == nil {
				d, serr = s.createDisposition(c, sp, &o)
			}
		}
		if serr != nil {
			err = serr
		}
		id := o.DispositionID
		if d != nil {
			id = d.ID
		}
		st := gat1400.NewResponseStatus(c.Request.URL.Path, id, gat1400.StatusOK, s.now())
		if err != nil {
			st.StatusCode, st.StatusString = gat1400.StatusInvalidJSONContent, fmt.Sprintf("DispositionObject[%d]: %v", i, err)
		}
		sts = append(sts, st)
	}
	c.JSON(http.StatusOK, gat1400.NewResponseStatusList(sts...))
}

// dispositionObject is the stored DispositionObject with its status now.
func (s *Server) dispositionObject(d store.Disposition) map[string]any {
	m := map[string]any{}
	json.Unmarshal(d.Body, &m)
	m["DispositionID"] = d.ID
	status := d.Status
	if status == store.DispositionActive && s.now().After(d.End) {
		status = 2 // expired
	}
	m["DispositionStatus"] = status
	return m
}

// viidDispositions: GET /VIID/Dispositions (paged) or /VIID/Dispositions/{ID}.
func viidDispositions(s *Server, c *gin.Context) {
	if id := c.Param("id"); id != "" {
		d, err := s.visibleDisposition(c, id)
		if err != nil {
			s.viidStoreErr(c, err, "disposition "+id)
			return
		}
		c.JSON(http.StatusOK, gin.H{"DispositionObject": s.dispositionObject(d)})
		return
	}
	q, ok := s.viidQuery(c, query.Schema{Object: "Disposition", Aliases: []string{"Dispositions"}, IDField: "DispositionID",
		Fields: map[string]query.Field{"DispositionID": {Column: "id", Kind: query.String}}})
	if !ok {
		return
	}
	if q.Where != nil || len(q.IDs) > 0 || len(q.Sort) > 0 {
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidOperation, "query", "Dispositions are listed newest first and paged (RecordStartNo, PageRecordNum); fetch one by /VIID/Dispositions/{ID}")
		return
	}
	p := who(c)
	dept := p.Dept.ID
	if isAdmin(p) {
		dept = ""
	}
	ds, total, err := s.DB.ListDispositions(c, dept, q.Offset(), q.Limit())
	if err != nil {
		s.viidStoreErr(c, err, "dispositions")
		return
	}
	items := make([]map[string]any, len(ds))
	for i, d := range ds {
		items[i] = s.dispositionObject(d)
	}
	page := viidPage(q, total)
	page["DispositionObject"] = items
	c.JSON(http.StatusOK, gin.H{"DispositionListObject": page})
}

// viidWithdrawDisposition: PUT /VIID/Dispositions/{ID} withdraws (撤控); the body's
// DispositionObject may carry OperateType 1 and the DispositionRemove* fields.
func viidWithdrawDisposition(s *Server, c *gin.Context) {
	var upd struct {
		DispositionObject *gat1400.Disposition
	}
	var o gat1400.Disposition
	if decodeLenient(c, &upd) == nil && upd.DispositionObject != nil {
		o = *upd.DispositionObject
	}
	if o.OperateType != 0 && o.OperateType != 1 {
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidJSONContent, "OperateType", "OperateType: 1 withdraws; a disposition is changed by withdrawing it and setting another")
		return
	}
	reason := o.RemoveReason
	if reason == "" {
		reason = "withdrawn over GA/T 1400"
	}
	err := s.withdrawDisposition(c, c.Param("id"), reason, func(b *gat1400.Disposition) {
		if o.RemoveOrg != "" {
			b.RemoveOrg = o.RemoveOrg
		}
		if o.RemovePerson != "" {
			b.RemovePerson = o.RemovePerson
		}
	})
	switch {
	case errors.Is(err, store.ErrState):
		s.viidFail(c, http.StatusConflict, gat1400.StatusInvalidOperation, "", err.Error())
	case err != nil:
		s.viidStoreErr(c, err, "disposition "+c.Param("id"))
	default:
		s.viidStatus(c, http.StatusOK, gat1400.StatusOK, "")
	}
}
