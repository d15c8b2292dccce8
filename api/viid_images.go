package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/gat1400/digest"
	"github.com/cityeye/cityeye/gat1400/query"
	"github.com/cityeye/cityeye/store"
)

// /VIID/Images uses the standard's exception envelope (GAT1400.md §2):
// {"ImageListObject":{"Image":[{"ImageInfo":{…},"FaceList":{…},…,"Data":"<base64>"}]}}.
// An image is stored as a record of type Image (its ImageInfo, with StoragePath
// instead of Data) and the object lists inside it as their own records.

func imageSchema() query.Schema {
	return query.Schema{Object: "Image", Aliases: []string{"Images"}, IDField: "ImageID", Location: gat1400.Location, Fields: map[string]query.Field{
		"ImageID": {Column: "id", Kind: query.String}, "DeviceID": {Column: "device_id", Kind: query.String},
		"ShotTime": {Column: "shot_time", Kind: query.Time}, "CreateTime": {Column: "created_at", Kind: query.Time}}}
}

func viidImagesPost(s *Server, c *gin.Context) {
	var env struct {
		ImageListObject struct {
			Image []map[string]json.RawMessage
		}
	}
	if err := decodeLenient(c, &env); err != nil || len(env.ImageListObject.Image) == 0 {
		s.viidStatus(c, http.StatusBadRequest, gat1400.StatusInvalidJSONFormat, `want {"ImageListObject":{"Image":[{"ImageInfo":{…},"Data":"…"}]}}`)
		return
	}
	p := who(c)
	var sts []gat1400.ResponseStatus
	for i, im := range env.ImageListObject.Image {
		id, err := s.viidStoreImage(c, p, im)
		st := gat1400.NewResponseStatus(c.Request.URL.Path, id, gat1400.StatusOK, s.now())
		if err != nil {
			st.StatusCode, st.StatusString = viidStatusCode(err), fmt.Sprintf("Image[%d]: %v", i, err)
		}
		sts = append(sts, st)
	}
	c.JSON(http.StatusOK, gat1400.NewResponseStatusList(sts...))
}

func (s *Server) viidStoreImage(c *gin.Context, p store.Principal, im map[string]json.RawMessage) (string, error) {
	var info map[string]any
	if err := json.Unmarshal(im["ImageInfo"], &info); err != nil {
		return "", fmt.Errorf("ImageInfo: %v", err)
	}
	id, _ := info["ImageID"].(string)
	src, err := gat1400.ParseSourceID(id)
	if err != nil {
		return id, fmt.Errorf("ImageInfo.ImageID: %v", err)
	}
	device := src.Device.String()
	if err := s.checkShotTime("ImageInfo.ImageID", src.Time); err != nil { // the record's shot time
		return id, err
	}
	named, _ := info["DeviceID"].(string) // the device the image says it is from
	if !digest.ValidDeviceID(named) {
		named = device
	}
	division, err := s.viidTarget(c, p, "Image", id, named, device)
	if err != nil {
		return id, err
	}
	var data string
	json.Unmarshal(im["Data"], &data)
	var keys []string
	var blob []byte
	if data != "" {
		if blob, err = base64.StdEncoding.DecodeString(data); err != nil {
			return id, fmt.Errorf("Data: not base64: %v", err)
		}
		key := fmt.Sprintf("snapshots/%s/%s/%s-v%s-image.jpg", device, src.Time.Format("20060102"), id, snapshotTag())
		keys = []string{key}
		info["StoragePath"] = s.Objects.URI(key)
	}
	body, _ := json.Marshal(info)
	if err := s.DB.Intend(c, keys); err != nil {
		return id, err
	}
	if blob != nil {
		if err := s.Objects.Put(c, keys[0], blob, "image/jpeg"); err != nil {
			return id, err
		}
	}
	rec := &store.Record{ID: id, Type: "Image", DeviceID: device, TaskID: "viid:" + p.User.ID, DeptID: p.Dept.ID, Division: division,
		TrackKey: "viid:" + id, ShotTime: src.Time, Body: body, Images: orEmpty(keys)}
	if err := s.savePushed(c, rec); err != nil {
		return id, err
	}
	// the objects found in the image are records of their own
	for _, k := range viidKinds {
		var list map[string][]json.RawMessage
		if raw, ok := im[k.Object+"List"]; ok && json.Unmarshal(raw, &list) == nil {
			for j, obj := range list[k.Object+"Object"] {
				if _, err := s.viidStore(c, p, k, obj); err != nil {
					return id, fmt.Errorf("%sList.%sObject[%d]: %v", k.Object, k.Object, j, err)
				}
			}
		}
	}
	return id, nil
}

func viidImagesList(s *Server, c *gin.Context) {
	q, ok := s.viidQuery(c, imageSchema())
	if !ok {
		return
	}
	where, args, order := q.SQL()
	recs, total, err := s.DB.QueryRecords(c, who(c).Scope(), "Image", where, args, order, q.Offset(), q.Limit())
	if err != nil {
		s.viidStoreErr(c, err, "images")
		return
	}
	if _, ok := s.audit(c, "record.search", "/VIID/Images?"+c.Request.URL.RawQuery, "", http.StatusOK, strconv.Itoa(len(recs))+" of "+strconv.Itoa(total)); !ok {
		return
	}
	items := make([]gin.H, len(recs))
	for i, r := range recs {
		items[i] = gin.H{"ImageInfo": r.Body}
	}
	page := viidPage(q, total)
	page["Image"] = items
	c.JSON(http.StatusOK, gin.H{"ImageListObject": page})
}

// viidImageData serves an image's bytes, watermarked and audited like every
// snapshot download.
func viidImageData(s *Server, c *gin.Context) {
	r, err := s.DB.GetRecord(c, who(c).Scope(), c.Param("id"))
	if err == nil && (r.Type != "Image" || len(r.Images) == 0) {
		err = store.ErrNotFound
	}
	if err != nil {
		s.viidStoreErr(c, err, "image "+c.Param("id"))
		return
	}
	c.Params = append(c.Params, gin.Param{Key: "key", Value: "/" + r.Images[0]})
	getObject(s, c)
}
