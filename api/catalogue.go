package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/catalogue"
	"github.com/cityeye/cityeye/workers"
	"github.com/cityeye/cityeye/workers/source"
)

// importRefused is the answer to a refused catalogue file: every row's errors, and
// the promise that nothing was written.
type importRefused struct {
	Error  string               `json:"error"`
	Field  string               `json:"field"`
	Errors []catalogue.RowError `json:"errors"`
}

func refuse(c *gin.Context, errs []catalogue.RowError) {
	msg := fmt.Sprintf("the catalogue was refused, nothing was written: %d error(s)", len(errs))
	if len(errs) >= catalogue.MaxErrors {
		msg += fmt.Sprintf(" (the first %d shown)", catalogue.MaxErrors)
	}
	c.AbortWithStatusJSON(http.StatusBadRequest, importRefused{Error: msg, Field: "file", Errors: errs})
}

// importCatalogue takes a whole catalogue file (multipart field "file", CSV or XLSX
// by its name or ?format) and upserts it in one transaction, or refuses it with
// each row's errors.
func importCatalogue(s *Server, c *gin.Context) {
	fh, err := c.FormFile("file")
	if err != nil {
		fail(c, http.StatusBadRequest, "file", "file: send the catalogue as the multipart field \"file\" (.csv or .xlsx)")
		return
	}
	format := catalogue.Format(strings.ToLower(c.DefaultQuery("format", strings.TrimPrefix(path.Ext(fh.Filename), "."))))
	if format != catalogue.CSV && format != catalogue.XLSX {
		fail(c, http.StatusBadRequest, "format", "format: the file must be .csv or .xlsx (or say ?format=csv|xlsx)")
		return
	}
	f, err := fh.Open()
	if err != nil {
		fail(c, http.StatusBadRequest, "file", "file: cannot read the upload")
		return
	}
	defer f.Close()
	rows, errs, err := catalogue.Read(f, format)
	if err != nil {
		fail(c, http.StatusBadRequest, "file", "file: "+err.Error())
		return
	}
	if len(errs) > 0 {
		refuse(c, errs)
		return
	}
	if errs, err = catalogue.Admit(c, s.DB, who(c), rows, s.openable); err != nil {
		storeErr(c, err, "catalogue")
		return
	} else if len(errs) > 0 {
		refuse(c, errs)
		return
	}
	cams := make([]store.Camera, len(rows))
	urls := 0
	for i, r := range rows {
		cams[i] = r.Camera
		if r.Camera.URL != "" {
			urls++
		}
	}
	if err := s.DB.ImportCameras(c, cams); err != nil {
		storeErr(c, err, "catalogue")
		return
	}
	s.Scheduler.Notify() // sharing, owners or URLs of running streams may have changed
	c.JSON(http.StatusOK, gin.H{"imported": len(cams), "with_url": urls})
}

// openable is the rule a pull URL's scheme alone does not say: a file:// stream must
// lie under the platform's import folders, as for POST /api/v1/streams.
func (s *Server) openable(raw string) error {
	if u, _ := url.Parse(raw); u != nil && u.Scheme == "file" {
		if _, err := source.ImportPath(raw, s.ImportDirs); err != nil {
			return err
		}
	}
	return nil
}

// exportCatalogue writes the caller's catalogue (the platform office: all of it; a
// department admin: their department's cameras) in the import's format. Pull URLs
// go without their credentials.
func exportCatalogue(s *Server, c *gin.Context) {
	format := catalogue.Format(c.DefaultQuery("format", "csv"))
	lang := catalogue.Lang(c.DefaultQuery("lang", "zh"))
	if format != catalogue.CSV && format != catalogue.XLSX {
		fail(c, http.StatusBadRequest, "format", "format: csv or xlsx")
		return
	}
	if lang != catalogue.Chinese && lang != catalogue.English {
		fail(c, http.StatusBadRequest, "lang", "lang: zh (appendix 5 headers, the default) or en")
		return
	}
	cams, _, err := s.DB.ListCameras(c, store.CameraFilter{Scope: who(c).Scope(), OwnerOnly: true})
	if err != nil {
		storeErr(c, err, "catalogue")
		return
	}
	var buf bytes.Buffer
	if err := catalogue.Write(&buf, format, lang, cams); err != nil {
		storeErr(c, err, "catalogue")
		return
	}
	ctype := "text/csv; charset=utf-8"
	if format == catalogue.XLSX {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	c.Header("Content-Disposition", `attachment; filename="catalogue.`+string(format)+`"`)
	c.Data(http.StatusOK, ctype, buf.Bytes())
}

// cameraView is a catalogue entry with the picture diagnosis' last visit.
type cameraView struct {
	store.Camera
	Diagnosis *store.Diagnosis `json:"diagnosis,omitempty"`
}

// listCameras lists the catalogue entries the caller may see: the platform office
// all, a department its own and the shared cameras in its areas.
func listCameras(s *Server, c *gin.Context) {
	p := who(c)
	f := store.CameraFilter{Scope: p.Scope(), Area: c.Query("area"), Dept: c.Query("department"), Name: c.Query("q")}
	ints := []struct {
		name string
		dst  *int
		max  int
	}{{"point_type", &f.PointType, 99}, {"camera_type", &f.CameraType, 99}, {"device_status", &f.DeviceStatus, 3},
		{"offset", &f.Offset, 1 << 30}, {"limit", &f.Limit, 1000}}
	f.Limit = 100
	for _, q := range ints {
		if v := c.Query(q.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > q.max {
				fail(c, http.StatusBadRequest, q.name, fmt.Sprintf("%s: an integer in [0, %d]", q.name, q.max))
				return
			}
			*q.dst = n
		}
	}
	if f.Area != "" && !divisionRE.MatchString(f.Area) {
		fail(c, http.StatusBadRequest, "area", "area: a 6-digit GB/T 2260 code")
		return
	}
	cams, total, err := s.DB.ListCameras(c, f)
	if err != nil {
		storeErr(c, err, "cameras")
		return
	}
	diag, err := s.diagnosesOf(c, cams)
	if err != nil {
		storeErr(c, err, "diagnosis")
		return
	}
	out := make([]cameraView, len(cams))
	for i, cam := range cams {
		if !isAdmin(p) && cam.OwnerDept != p.Dept.ID {
			cam.URL = ""
		}
		out[i] = cameraView{Camera: cam}
		if d, ok := diag[cam.DeviceID]; ok {
			out[i].Diagnosis = &d
		}
	}
	c.JSON(http.StatusOK, gin.H{"cameras": out, "total": total})
}

// cameraDiagnosis answers GET /api/v1/cameras/:id/diagnosis for a camera the caller
// may see: the rotation's last visit and the measures it stored per key frame.
func cameraDiagnosis(s *Server, c *gin.Context) {
	p := who(c)
	cams, _, err := s.DB.ListCameras(c, store.CameraFilter{Scope: p.Scope(), ID: c.Param("id")})
	if err != nil {
		storeErr(c, err, "cameras")
		return
	}
	if len(cams) == 0 {
		fail(c, http.StatusNotFound, "id", "camera "+c.Param("id")+" is not in the catalogue, or not one your department may see")
		return
	}
	var from, to time.Time
	if !timeParams(c, map[string]*time.Time{"from": &from, "to": &to}) {
		return
	}
	id := cams[0].DeviceID
	ms, err := s.DB.ListMeasures(c, workers.DiagnosisTask(id), c.Query("name"), from, to, 0)
	if err != nil {
		storeErr(c, err, "measures")
		return
	}
	ds, err := s.DB.Diagnoses(c, []string{id})
	if err != nil {
		storeErr(c, err, "diagnosis")
		return
	}
	var last any
	if d, ok := ds[id]; ok {
		last = d
	}
	c.JSON(http.StatusOK, gin.H{"device_id": id, "last": last, "measures": orEmpty(ms), "total": len(ms)})
}
