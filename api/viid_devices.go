package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/query"
	"github.com/cityeye/cityeye/store"
)

// Devices under /VIID, from the camera catalogue: every camera the caller may see
// is an APE; a checkpoint camera (camera type 5, or device type 121) is also a
// Tollgate with one Lane (the catalogue records no lanes: the camera watches its
// checkpoint as one lane, LaneNo 1). Queries take the three styles the records take.

// deviceKind is one device resource: its object name, query attributes and how a
// catalogue camera becomes that object.
type deviceKind struct {
	Object, Path, IDField string
	checkpoints           bool
	fields                map[string]query.Field
	convert               func(cam store.Camera, diag *store.Diagnosis) any
}

var (
	placeFields = map[string]query.Field{
		"Name":      {Column: "name", Kind: query.String},
		"PlaceCode": {Column: "admin_division", Kind: query.String},
		"Longitude": {Column: "longitude", Kind: query.Float},
		"Latitude":  {Column: "latitude", Kind: query.Float},
	}
	deviceKinds = []deviceKind{
		{"APE", "APEs", "ApeID", false, map[string]query.Field{
			"ApeID": {Column: "device_id", Kind: query.String}, "IPAddr": {Column: "ipv4", Kind: query.String},
			"OwnerApsID": {Column: "platform_code", Kind: query.String}}, apeOf},
		{"Tollgate", "Tollgates", "TollgateID", true, map[string]query.Field{
			"TollgateID": {Column: "device_id", Kind: query.String}}, tollgateOf},
		{"Lane", "Lanes", "TollgateID", true, map[string]query.Field{
			"TollgateID": {Column: "device_id", Kind: query.String}, "ApeID": {Column: "device_id", Kind: query.String}}, laneOf},
	}
)

func (k deviceKind) schema() query.Schema {
	f := map[string]query.Field{}
	for n, v := range placeFields {
		f[n] = v
	}
	for n, v := range k.fields {
		f[n] = v
	}
	return query.Schema{Object: k.Object, Aliases: []string{k.Path}, Fields: f, IDField: k.IDField, Location: gat1400.Location}
}

func deviceRoutes() []route {
	var rs []route
	for _, k := range deviceKinds {
		rs = append(rs,
			route{http.MethodGet, "/VIID/" + k.Path, "GA/T 1400 " + k.Object + "ListObject of the catalogue cameras the caller may see (expression, plain or IDList style)", viewers, []string{"RecordStartNo", "PageRecordNum", "IDList"}, "", viidDevices},
			route{http.MethodGet, "/VIID/" + k.Path + "/:id", "One " + k.Object + "Object by its 20-digit ID", viewers, nil, "", viidDevices},
		)
	}
	return rs
}

func deviceKindOf(c *gin.Context) deviceKind {
	for _, k := range deviceKinds {
		if p := "/VIID/" + k.Path; c.FullPath() == p || c.FullPath() == p+"/:id" {
			return k
		}
	}
	panic("no VIID device kind for " + c.FullPath())
}

// viidDevices answers a device list, or one device when the path names it.
func viidDevices(s *Server, c *gin.Context) {
	k := deviceKindOf(c)
	f := store.CameraFilter{Scope: who(c).Scope(), Checkpoints: k.checkpoints, ID: c.Param("id")}
	var q *query.Query
	if f.ID == "" {
		var ok bool
		if q, ok = s.viidQuery(c, k.schema()); !ok {
			return
		}
		f.Where, f.WhereArgs, f.OrderBy = q.SQL()
		f.Offset, f.Limit = q.Offset(), q.Limit()
	}
	cams, total, err := s.DB.ListCameras(c, f)
	if err != nil {
		s.viidStoreErr(c, err, "devices")
		return
	}
	diag, err := s.diagnosesOf(c, cams)
	if err != nil {
		s.viidStoreErr(c, err, "diagnosis")
		return
	}
	items := make([]any, len(cams))
	for i, cam := range cams {
		var d *store.Diagnosis
		if x, ok := diag[cam.DeviceID]; ok {
			d = &x
		}
		items[i] = k.convert(cam, d)
	}
	c.Header("Content-Type", "application/VIID+JSON;charset=UTF-8")
	if q == nil {
		if len(items) == 0 {
			s.viidStoreErr(c, store.ErrNotFound, k.Object+" "+f.ID)
			return
		}
		c.JSON(http.StatusOK, gin.H{k.Object + "Object": items[0]})
		return
	}
	page := viidPage(q, total)
	page[k.Object+"Object"] = items
	c.JSON(http.StatusOK, gin.H{k.Object + "ListObject": page})
}

// diagnosesOf returns the picture diagnosis' last visit of each camera visited.
func (s *Server) diagnosesOf(ctx context.Context, cams []store.Camera) (map[string]store.Diagnosis, error) {
	ids := make([]string, len(cams))
	for i := range cams {
		ids[i] = cams[i].DeviceID
	}
	return s.DB.Diagnoses(ctx, ids)
}

// onlineCode is IsOnline/Status: the picture diagnosis' last visit when there was
// one, else the catalogue's declared state; "1" online, "2" offline.
func onlineCode(cam store.Camera, d *store.Diagnosis) string {
	switch {
	case d != nil && d.Online, d == nil && cam.OnlineState == 1:
		return "1"
	case d != nil, cam.OnlineState == 2:
		return "2"
	}
	return "9"
}

// isCheckpoint: camera type 5 (卡口) in the catalogue, or a checkpoint's device type.
func isCheckpoint(cam store.Camera) bool {
	return cam.CameraType == 5 || (len(cam.DeviceID) == 20 && cam.DeviceID[10:13] == "121")
}

func apeOf(cam store.Camera, d *store.Diagnosis) any {
	fn := "5" // ordinary surveillance
	if isCheckpoint(cam) {
		fn = "1" // vehicle checkpoint
	}
	return gat1400.APE{ApeID: cam.DeviceID, Name: cam.Name, IPAddr: cam.IPv4, Longitude: gat1400.FlexFloat(cam.Longitude), Latitude: gat1400.FlexFloat(cam.Latitude),
		PlaceCode: cam.AdminDivision, IsOnline: gat1400.FlexString(onlineCode(cam, d)), OwnerApsID: cam.PlatformCode, FunctionType: fn}
}

// tollgateUsage reads the industry digits of the ID: 00–03 public-security access
// (80), 04–07 traffic (81), anything else 82.
func tollgateUsage(id string) int {
	if n, err := strconv.Atoi(id[8:10]); err == nil && n <= 7 {
		if n <= 3 {
			return 80
		}
		return 81
	}
	return 82
}

func tollgateOf(cam store.Camera, d *store.Diagnosis) any {
	status := "1"
	if cam.DeviceStatus != 1 {
		status = "2"
	}
	return gat1400.Tollgate{TollgateID: cam.DeviceID, Name: cam.Name, Longitude: gat1400.FlexFloat(cam.Longitude), Latitude: gat1400.FlexFloat(cam.Latitude),
		PlaceCode: cam.AdminDivision, Status: status, TollgateCat: "99", TollgateUsage: gat1400.FlexInt(tollgateUsage(cam.DeviceID)), LaneNum: 1}
}

func laneOf(cam store.Camera, _ *store.Diagnosis) any {
	l := gat1400.Lane{TollgateID: cam.DeviceID, LaneNo: 1, Name: cam.Name, Desc: cam.Address, ApeID: cam.DeviceID}
	if cam.Direction != 0 {
		l.Direction = strconv.Itoa(cam.Direction)
	}
	return l
}
