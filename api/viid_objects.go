package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/query"
	"github.com/cityeye/cityeye/store"
)

// viidKind describes one GA/T 1400 data resource served under /VIID.
type viidKind struct {
	Object   string // Face, Person, MotorVehicle…
	Path     string // Faces, Persons…
	IDField  string // FaceID…
	Sub      gat1400.Subtype
	validate func(json.RawMessage) (id, device, shot string, err error)
}

func decodeAndValidate[T interface{ Validate() error }](raw json.RawMessage, id, device, shot func(T) string) (string, string, string, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", "", "", err
	}
	return id(v), device(v), shot(v), v.Validate()
}

var viidKinds = []viidKind{
	{"Face", "Faces", "FaceID", gat1400.SubtypeFace, func(r json.RawMessage) (string, string, string, error) {
		return decodeAndValidate(r, func(v gat1400.Face) string { return v.FaceID }, func(v gat1400.Face) string { return v.DeviceID }, func(v gat1400.Face) string { return v.ShotTime })
	}},
	{"Person", "Persons", "PersonID", gat1400.SubtypePerson, func(r json.RawMessage) (string, string, string, error) {
		return decodeAndValidate(r, func(v gat1400.Person) string { return v.PersonID }, func(v gat1400.Person) string { return v.DeviceID }, func(v gat1400.Person) string { return v.ShotTime })
	}},
	{"MotorVehicle", "MotorVehicles", "MotorVehicleID", gat1400.SubtypeMotorVehicle, func(r json.RawMessage) (string, string, string, error) {
		return decodeAndValidate(r, func(v gat1400.MotorVehicle) string { return v.MotorVehicleID }, func(v gat1400.MotorVehicle) string { return v.DeviceID }, func(v gat1400.MotorVehicle) string { return v.PassTime })
	}},
	{"NonMotorVehicle", "NonMotorVehicles", "NonMotorVehicleID", gat1400.SubtypeNonMotorVehicle, func(r json.RawMessage) (string, string, string, error) {
		return decodeAndValidate(r, func(v gat1400.NonMotorVehicle) string { return v.NonMotorVehicleID }, func(v gat1400.NonMotorVehicle) string { return v.DeviceID }, func(v gat1400.NonMotorVehicle) string { return v.MarkTime })
	}},
}

// genericObject validates objects CityEye stores without a typed model (Thing,
// Scene): the 48-digit ID with the right subtype, the device and the time.
func genericObject(idField, timeField string, sub gat1400.Subtype) func(json.RawMessage) (string, string, string, error) {
	return func(raw json.RawMessage) (string, string, string, error) {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return "", "", "", err
		}
		id, _ := m[idField].(string)
		p, err := gat1400.ParseContentID(id)
		if err != nil {
			return id, "", "", fmt.Errorf("%s: %v", idField, err)
		}
		if p.Subtype != sub {
			return id, "", "", fmt.Errorf("%s: subtype %s, want %s", idField, p.Subtype, sub)
		}
		dev, _ := m["DeviceID"].(string)
		if dev == "" {
			dev = p.Source.Device.String()
		}
		if _, err := gat1400.ParseDeviceID(dev); err != nil {
			return id, dev, "", fmt.Errorf("DeviceID: %v", err)
		}
		shot, _ := m[timeField].(string)
		if shot != "" {
			if _, err := gat1400.ParseTime(shot); err != nil {
				return id, dev, "", fmt.Errorf("%s: %v", timeField, err)
			}
		}
		return id, dev, shot, nil
	}
}

func init() {
	viidKinds = append(viidKinds,
		viidKind{"Thing", "Things", "ThingID", gat1400.SubtypeThing, genericObject("ThingID", "ShotTime", gat1400.SubtypeThing)},
		viidKind{"Scene", "Scenes", "SceneID", gat1400.SubtypeScene, genericObject("SceneID", "ShotTime", gat1400.SubtypeScene)},
	)
}

// schema maps the object's queryable attributes to records columns.
func (k viidKind) schema() query.Schema {
	f := map[string]query.Field{
		k.IDField:    {Column: "id", Kind: query.String},
		"DeviceID":   {Column: "device_id", Kind: query.String},
		"ShotTime":   {Column: "shot_time", Kind: query.Time},
		"CreateTime": {Column: "created_at", Kind: query.Time},
	}
	if k.Object == "MotorVehicle" || k.Object == "NonMotorVehicle" {
		f["PassTime"] = query.Field{Column: "shot_time", Kind: query.Time}
		f["MarkTime"] = query.Field{Column: "shot_time", Kind: query.Time}
	}
	for attr, col := range viidExtraColumns[k.Object] {
		f[attr] = col
	}
	return query.Schema{Object: k.Object, Aliases: []string{k.Path}, Fields: f, IDField: k.IDField, Location: gat1400.Location}
}

// viidRoutes are the data-resource routes, one set per object kind.
func viidRoutes() []route {
	var rs []route
	for _, k := range viidKinds {
		p := "/VIID/" + k.Path
		rs = append(rs,
			route{http.MethodGet, p, "GA/T 1400 query of " + k.Path + " (expression, plain or IDList style)", readers, []string{"RecordStartNo", "PageRecordNum", "IDList"}, "", viidList},
			route{http.MethodGet, p + "/:id", "One " + k.Object + " by its 48-character ID", readers, nil, "", viidGet},
			route{http.MethodPost, p, "Batch upload of " + k.Path + " (" + k.Object + "ListObject); one ResponseStatusObject each", staff, nil, "", viidPost},
			route{http.MethodDelete, p, "Delete ?IDList=… of your department's " + k.Path, staff, []string{"IDList"}, "", viidDelete},
			route{http.MethodDelete, p + "/:id", "Delete one of your department's " + k.Path + " (audited)", staff, nil, "", viidDeleteByID},
		)
	}
	rs = append(rs, deviceRoutes()...)
	rs = append(rs, unsupportedRoutes()...)
	return append(rs,
		route{http.MethodGet, "/VIID/Images", "GA/T 1400 query of Images (ImageListObject.Image[].ImageInfo)", readers, []string{"RecordStartNo", "PageRecordNum", "IDList"}, "", viidImagesList},
		route{http.MethodPost, "/VIID/Images", "Batch upload of Images with their Data and object lists", staff, nil, "", viidImagesPost},
		route{http.MethodGet, "/VIID/Images/:id/Data", "An image's bytes (watermarked, audited)", readers, nil, "", viidImageData},
	)
}

// viidExtraColumns are attributes served from extracted columns, per object.
var viidExtraColumns = map[string]map[string]query.Field{
	"MotorVehicle": {
		"PlateNo":      {Column: "plate_no", Kind: query.String},
		"PlateColor":   {Column: "plate_color", Kind: query.String},
		"VehicleColor": {Column: "vehicle_color", Kind: query.String},
		"VehicleClass": {Column: "vehicle_class", Kind: query.String},
	},
}

func (s *Server) viidKind(c *gin.Context) viidKind {
	p := strings.TrimPrefix(c.FullPath(), "/VIID/")
	p, _, _ = strings.Cut(p, "/")
	for _, k := range viidKinds {
		if k.Path == p {
			return k
		}
	}
	panic("no VIID kind for " + c.FullPath())
}

// envelope wraps bodies as {"<X>ListObject":{"<X>Object":[…]}} with paging counts.
func envelope(k viidKind, bodies []json.RawMessage, extra gin.H) gin.H {
	if bodies == nil {
		bodies = []json.RawMessage{}
	}
	inner := gin.H{k.Object + "Object": bodies}
	for key, v := range extra {
		inner[key] = v
	}
	return gin.H{k.Object + "ListObject": inner}
}

// viidPage is the paging a list answer carries beside its objects, as the
// platforms that page do (TotalNum, RecordStartNo counted from 1, PageRecordNum).
func viidPage(q *query.Query, total int) gin.H {
	return gin.H{"TotalNum": total, "RecordStartNo": q.Offset() + 1, "PageRecordNum": q.Limit()}
}

// viidList answers GET /VIID/<X>s with a query in any of the three styles.
func viidList(s *Server, c *gin.Context) {
	k := s.viidKind(c)
	q, ok := s.viidQuery(c, k.schema())
	if !ok {
		return
	}
	where, args, order := q.SQL()
	recs, total, err := s.DB.QueryRecords(c, who(c).Scope(), k.Object, where, args, order, q.Offset(), q.Limit())
	if err != nil {
		s.viidStoreErr(c, err, "records")
		return
	}
	if _, ok := s.audit(c, "record.search", "/VIID/"+k.Path+"?"+c.Request.URL.RawQuery, "", http.StatusOK, strconv.Itoa(len(recs))+" of "+strconv.Itoa(total)); !ok {
		return
	}
	bodies := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		bodies[i] = r.Body
	}
	c.Header("Content-Type", "application/VIID+JSON;charset=UTF-8")
	c.JSON(http.StatusOK, envelope(k, bodies, viidPage(q, total)))
}

// viidQuery parses a GA/T 1400 query in any of the three styles; a bad one is
// refused naming the parameter.
func (s *Server) viidQuery(c *gin.Context, schema query.Schema) (*query.Query, bool) {
	q, err := query.Parse(c.Request.URL.RawQuery, schema)
	if err != nil {
		var qe *query.Error
		field := "query"
		if errors.As(err, &qe) {
			field = qe.Param
		}
		s.viidFail(c, http.StatusBadRequest, gat1400.StatusInvalidOperation, field, err.Error())
		return nil, false
	}
	return q, true
}

// viidGet answers GET /VIID/<X>s/{ID} with {"<X>Object":{…}}.
func viidGet(s *Server, c *gin.Context) {
	k := s.viidKind(c)
	r, err := s.DB.GetRecord(c, who(c).Scope(), c.Param("id"))
	if err == nil && r.Type != k.Object {
		err = store.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.audit(c, "record.read", c.Param("id"), "", http.StatusNotFound, "not found or not visible")
		}
		s.viidStoreErr(c, err, k.Object+" "+c.Param("id"))
		return
	}
	if _, ok := s.audit(c, "record.read", r.ID, r.GrantID, http.StatusOK, "VIID"); !ok {
		return
	}
	c.Header("Content-Type", "application/VIID+JSON;charset=UTF-8")
	c.JSON(http.StatusOK, gin.H{k.Object + "Object": r.Body})
}

// viidPost takes a batch of objects pushed by a camera or a lower platform and
// answers one ResponseStatusObject per object. Objects are stored idempotently by
// their GA/T 1400 ID (a re-push updates, never duplicates); base64 images in
// SubImageList are stored as snapshots and replaced by StoragePath.
func viidPost(s *Server, c *gin.Context) {
	k := s.viidKind(c)
	var outer map[string]map[string]json.RawMessage
	if err := decodeLenient(c, &outer); err != nil {
		s.viidStatus(c, http.StatusBadRequest, gat1400.StatusInvalidJSONFormat, k.Object+"ListObject: "+err.Error())
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(outer[k.Object+"ListObject"][k.Object+"Object"], &items); err != nil || len(items) == 0 {
		s.viidStatus(c, http.StatusBadRequest, gat1400.StatusInvalidJSONContent, "want {\""+k.Object+"ListObject\":{\""+k.Object+"Object\":[…]}} with at least one object")
		return
	}
	p := who(c)
	var statuses []gat1400.ResponseStatus
	for i, raw := range items {
		id, err := s.viidStore(c, p, k, raw)
		code := gat1400.StatusOK
		st := gat1400.NewResponseStatus(c.Request.URL.Path, id, code, s.now())
		if err != nil {
			st.StatusCode, st.StatusString = viidStatusCode(err), fmt.Sprintf("%sObject[%d]: %v", k.Object, i, err)
		}
		statuses = append(statuses, st)
	}
	c.Header("Content-Type", "application/VIID+JSON;charset=UTF-8")
	c.JSON(http.StatusOK, gat1400.NewResponseStatusList(statuses...))
}

func (s *Server) viidStore(c *gin.Context, p store.Principal, k viidKind, raw json.RawMessage) (string, error) {
	id, device, shotStr, err := k.validate(raw)
	if err != nil {
		return id, err
	}
	idDevice := id[:20] // validate parsed the 48-character ID
	if device == "" {
		device = idDevice
	}
	shot := s.now()
	if shotStr != "" {
		t, err := gat1400.ParseTime(shotStr)
		if err != nil {
			return id, fmt.Errorf("%s: %v", k.timeField(), err)
		}
		if err := s.checkShotTime(k.timeField(), t); err != nil {
			return id, err
		}
		shot = t
	}
	division, err := s.viidTarget(c, p, k.Object, id, idDevice, device)
	if err != nil {
		return id, err
	}
	tag := snapshotTag()
	// base64 images become snapshots: the same crash-safe pair write as captures
	var obj map[string]any
	json.Unmarshal(raw, &obj)
	var keys []string
	var blobs [][]byte
	if list, ok := obj["SubImageList"].(map[string]any); ok {
		imgs, _ := list["SubImageInfoObject"].([]any)
		for n, x := range imgs {
			im, _ := x.(map[string]any)
			data, _ := im["Data"].(string)
			if data == "" {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(data)
			if err != nil {
				return id, fmt.Errorf("SubImageInfoObject[%d].Data: not base64: %v", n, err)
			}
			key := fmt.Sprintf("snapshots/%s/%s/%s-v%s-%d.jpg", device, shot.In(gat1400.Location).Format("20060102"), id, tag, n)
			keys, blobs = append(keys, key), append(blobs, b)
			delete(im, "Data")
			im["StoragePath"] = s.Objects.URI(key)
		}
	}
	body, _ := json.Marshal(obj)
	if err := s.DB.Intend(c, keys); err != nil {
		return id, err
	}
	for i, key := range keys {
		if err := s.Objects.Put(c, key, blobs[i], "image/jpeg"); err != nil {
			return id, err
		}
	}
	rec := &store.Record{ID: id, Type: k.Object, DeviceID: device, TaskID: "viid:" + p.User.ID, DeptID: p.Dept.ID, Division: division,
		TrackKey: "viid:" + id, ShotTime: shot, Body: body, Images: keys}
	if rec.Images == nil {
		rec.Images = []string{}
	}
	return id, s.savePushed(c, rec)
}
