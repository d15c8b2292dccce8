package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the formats image.DecodeConfig reads the size of
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/store"
)

// Search by face photo: POST /api/v1/faces/search (multipart).
//
// The photo's face is found with BlazeFace (the short-range front model first, made
// for close-up portraits; the full-range back model if it finds none), the best face
// by algorithms.FaceQuality is embedded exactly as face capture embeds its best shots
// (algorithms.EmbedFace), and the most similar Face records the caller may see are
// returned by cosine similarity (store.SearchFeatures: brute force over the window,
// the caller's record scope applied in the SQL). Every search is audited
// ("face.search"), with a hash of the photo so the trail shows whose face was sought.

// Face search limits. A photo is decoded into width×height×3 bytes whatever its
// file size (a 10 MiB PNG of one colour can declare 30000×30000 pixels, 2.7 GB), so
// its dimensions are read from the header and checked before it is decoded.
const (
	MaxFaceSearchImage  = 10 << 20   // bytes of the uploaded photo
	MaxFaceSearchPixels = 40_000_000 // width × height (an 8000×5000 photo; 120 MB decoded)
	DefaultFaceTopK     = 10
	MaxFaceTopK         = 100
	// FaceSearchConcurrency searches run at once, each with its own detector and
	// embedder (a few tens of milliseconds on two CPU threads per model), so the
	// memory and cores searches take are bounded; more wait up to faceSearchWait.
	FaceSearchConcurrency = 2
)

// faceSearchWait is how long a search waits for a free slot before a 503.
var faceSearchWait = 10 * time.Second

// faceSearch holds the server's face search slots: FaceSearchConcurrency model
// loaders (detectors and embedder, loaded on first use and reloaded after a newer
// version is published, models.Loader). A search takes a slot for its decode,
// detect and embed and gives it back, so searches run in parallel up to the bound
// and never share a model session.
type faceSearch struct {
	once  sync.Once
	slots chan *models.Loader
}

// faces returns the server's face search slots.
func (s *Server) faces() *faceSearch {
	s.faceSearch.once.Do(func() {
		s.faceSearch.slots = make(chan *models.Loader, FaceSearchConcurrency)
		for range FaceSearchConcurrency {
			s.faceSearch.slots <- &models.Loader{Repo: s.Repo, Engine: engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 2}}
		}
	})
	return &s.faceSearch
}

// errBusy: every slot stayed taken for faceSearchWait.
var errBusy = errors.New("face search is busy")

// take waits for a free slot; give it back with give.
func (fs *faceSearch) take(ctx context.Context) (*models.Loader, error) {
	t := time.NewTimer(faceSearchWait)
	defer t.Stop()
	select {
	case l := <-fs.slots:
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errBusy
	}
}

func (fs *faceSearch) give(l *models.Loader) { fs.slots <- l }

// photoSize reads a photo's format and dimensions from its header without decoding
// it, and refuses what is not a JPEG or PNG or is over MaxFaceSearchPixels.
func photoSize(data []byte) (status int, msg string) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	switch {
	case err != nil || (format != "jpeg" && format != "png"):
		return http.StatusBadRequest, "image: not a JPEG or PNG photo"
	case cfg.Width <= 0 || cfg.Height <= 0:
		return http.StatusBadRequest, "image: the photo declares no size"
	case int64(cfg.Width)*int64(cfg.Height) > MaxFaceSearchPixels:
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("image: %d×%d pixels is over the limit of %d megapixels; downscale the photo",
			cfg.Width, cfg.Height, MaxFaceSearchPixels/1_000_000)
	}
	return 0, ""
}

// modelRunner runs the embedding model for algorithms.EmbedFace.
type modelRunner struct{ m *models.Model }

func (r modelRunner) Embed(name string, imgs []gocv.Mat) ([][]float32, error) {
	if name != r.m.Manifest.Name {
		return nil, fmt.Errorf("face search has no model %s", name)
	}
	return r.m.Embed(imgs)
}

func (r modelRunner) ReadText(gocv.Mat) ([]algorithms.TextLine, error) {
	return nil, errors.New("face search reads no text")
}

// probeFace is the face found in the uploaded photo.
type probeFace struct {
	Box      [4]float32 `json:"box"` // x1, y1, x2, y2 in photo pixels
	Score    float32    `json:"score"`
	Quality  float32    `json:"quality"`
	Detector string     `json:"detector"`
	Faces    int        `json:"faces"` // faces found in the photo; the best one is searched
}

// embedProbe finds the best face in img and embeds it. errNoFace when there is none.
func embedProbe(slot *models.Loader, img gocv.Mat) (vec []float32, probe probeFace, model string, err error) {
	var best decode.Detection
	bestQ := float32(-1)
	for _, name := range []string{"blazeface-front", "blazeface-back"} {
		det, release, err := slot.Get(name)
		if err != nil {
			return nil, probe, "", fmt.Errorf("%w: %s: %v", errModels, name, err)
		}
		defer release()
		found, err := det.Detect([]gocv.Mat{img})
		if err != nil {
			return nil, probe, "", err
		}
		for _, d := range found[0] {
			if d.Label != "face" {
				continue
			}
			probe.Faces++
			if q := algorithms.FaceQuality(img, d).Total; q > bestQ {
				best, bestQ, probe.Detector = d, q, name
			}
		}
		if probe.Faces > 0 {
			break
		}
	}
	if probe.Faces == 0 {
		return nil, probe, "", errNoFace
	}
	probe.Box = [4]float32{best.Box.X1, best.Box.Y1, best.Box.X2, best.Box.Y2}
	probe.Score, probe.Quality = best.Score, bestQ
	emb, release, err := slot.Get(algorithms.FaceEmbedModel)
	if err != nil {
		return nil, probe, "", fmt.Errorf("%w: %s: %v", errModels, algorithms.FaceEmbedModel, err)
	}
	defer release()
	vec, err = algorithms.EmbedFace(modelRunner{emb}, img, best)
	return vec, probe, emb.Manifest.Name + "@" + emb.Manifest.Version, err
}

var (
	errNoFace = errors.New("no face found in the image")
	errModels = errors.New("face search models unavailable")
)

// formValue reads a parameter from the multipart form, else from the query string.
func formValue(c *gin.Context, name string) string {
	if v, ok := c.GetPostForm(name); ok {
		return v
	}
	return c.Query(name)
}

// faceSearchMatch is one result: the record, its similarity and the face crop's key.
type faceSearchMatch struct {
	store.FeatureMatch
	Snapshot string `json:"snapshot"` // the face crop (Type 11); GET /api/v1/objects/<snapshot>
}

func searchFaces(s *Server, c *gin.Context) {
	// the route's upload limit is the model packages'; a photo gets far less
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxFaceSearchImage+1<<20)
	if err := c.Request.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(c, http.StatusRequestEntityTooLarge, "image", "image: upload too large")
			return
		}
		fail(c, http.StatusBadRequest, "image", "image: send multipart/form-data with the photo in field image ("+err.Error()+")")
		return
	}
	q := store.FeatureQuery{Scope: who(c).Scope(), Type: "Face", Model: algorithms.FaceEmbedModel, TopK: DefaultFaceTopK, MinScore: -1}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := formValue(c, p.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				fail(c, http.StatusBadRequest, p.name, p.name+": use RFC 3339 (2026-11-22T08:00:00+08:00) or YYYYMMDDhhmmss")
				return
			}
			*p.dst = t
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		fail(c, http.StatusBadRequest, "to", "to: must not be before from")
		return
	}
	var devices []string
	if c.Request.MultipartForm != nil {
		devices = append(devices, c.Request.MultipartForm.Value["device_id"]...)
	}
	devices = append(devices, c.QueryArray("device_id")...)
	for _, d := range devices {
		for _, id := range strings.Split(d, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if _, err := gat1400.ParseDeviceID(id); err != nil {
				fail(c, http.StatusBadRequest, "device_id", "device_id: "+quote(id)+" is not a 20-digit GB/T 28181 ID")
				return
			}
			q.DeviceIDs = append(q.DeviceIDs, id)
		}
	}
	if v := formValue(c, "top_k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxFaceTopK {
			fail(c, http.StatusBadRequest, "top_k", "top_k: integer in [1, "+strconv.Itoa(MaxFaceTopK)+"]")
			return
		}
		q.TopK = n
	}
	if v := formValue(c, "min_score"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < -1 || f > 1 {
			fail(c, http.StatusBadRequest, "min_score", "min_score: cosine similarity in [-1, 1]")
			return
		}
		q.MinScore = f
	}
	fh, err := c.FormFile("image")
	if err != nil {
		fail(c, http.StatusBadRequest, "image", "image: a photo is required in multipart field image")
		return
	}
	if fh.Size > MaxFaceSearchImage {
		fail(c, http.StatusRequestEntityTooLarge, "image", fmt.Sprintf("image: over %d MiB", MaxFaceSearchImage>>20))
		return
	}
	f, err := fh.Open()
	if err != nil {
		fail(c, http.StatusBadRequest, "image", "image: "+err.Error())
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFaceSearchImage+1))
	f.Close()
	if err != nil || len(data) > MaxFaceSearchImage {
		fail(c, http.StatusBadRequest, "image", "image: unreadable or over the size limit")
		return
	}
	vec, probe, model, code, msg := s.embedPhoto(c, data)
	if code != 0 {
		if code == http.StatusServiceUnavailable {
			c.Header("Retry-After", "5")
		}
		fail(c, code, "image", msg)
		return
	}
	sum := sha256.Sum256(data)
	photo := hex.EncodeToString(sum[:8])
	q.Vector = vec
	matches, scanned, truncated, err := s.DB.SearchFeatures(c, q)
	if err != nil {
		storeErr(c, err, "features")
		return
	}
	target := url.Values{}
	for k, v := range map[string]string{"from": formValue(c, "from"), "to": formValue(c, "to"), "top_k": formValue(c, "top_k"), "min_score": formValue(c, "min_score")} {
		if v != "" {
			target.Set(k, v)
		}
	}
	for _, d := range q.DeviceIDs {
		target.Add("device_id", d)
	}
	detail := fmt.Sprintf("photo sha256:%s face [%.0f %.0f %.0f %.0f]; %d matches of %d compared", photo,
		probe.Box[0], probe.Box[1], probe.Box[2], probe.Box[3], len(matches), scanned)
	if _, ok := s.audit(c, "face.search", target.Encode(), "", http.StatusOK, detail); !ok {
		return
	}
	out := make([]faceSearchMatch, len(matches))
	for i, m := range matches {
		out[i] = faceSearchMatch{FeatureMatch: m}
		for _, k := range m.Images {
			if strings.HasSuffix(k, "-crop.jpg") {
				out[i].Snapshot = k
			}
		}
		if out[i].Snapshot == "" && len(m.Images) > 0 {
			out[i].Snapshot = m.Images[len(m.Images)-1]
		}
		if out[i].Images == nil {
			out[i].Images = []string{}
		}
	}
	c.JSON(http.StatusOK, gin.H{"matches": out, "probe": probe, "model": model, "compared": scanned, "truncated": truncated,
		"top_k": q.TopK, "min_score": q.MinScore})
}

// embedPhoto finds the best face in a JPEG or PNG photo and embeds it as face
// capture does; a failure comes back as an HTTP status and a message about the
// photo (code 0: none). Face search and face dispositions share it.
func (s *Server) embedPhoto(ctx context.Context, data []byte) (vec []float32, probe probeFace, model string, code int, msg string) {
	if code, msg := photoSize(data); code != 0 {
		return nil, probe, "", code, msg
	}
	// the slot is taken before decoding: the bound covers the decoded photos too
	fs := s.faces()
	slot, err := fs.take(ctx)
	if err != nil {
		return nil, probe, "", http.StatusServiceUnavailable, "face search is busy: retry in a few seconds"
	}
	defer fs.give(slot)
	img, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil || img.Empty() {
		if err == nil {
			img.Close()
		}
		return nil, probe, "", http.StatusBadRequest, "image: not a decodable JPEG or PNG photo"
	}
	defer img.Close()
	vec, probe, model, err = embedProbe(slot, img)
	switch {
	case errors.Is(err, errNoFace):
		return nil, probe, "", http.StatusUnprocessableEntity, "image: no face found in the photo"
	case errors.Is(err, errModels):
		return nil, probe, "", http.StatusServiceUnavailable, err.Error() + " (install them in the model repository)"
	case err != nil:
		return nil, probe, "", http.StatusInternalServerError, "face embedding: " + err.Error()
	}
	return vec, probe, model, 0, ""
}

// FaceSearch is the multipart request schema of POST /api/v1/faces/search, added to
// the OpenAPI components here so the route line needs nothing else.
func init() {
	schemas["FaceSearch"] = gin.H{"type": "object", "required": []string{"image"}, "properties": gin.H{
		"image":     gin.H{"type": "string", "format": "binary", "description": "a JPEG or PNG photo with the face to find (at most 10 MiB and 40 megapixels); the best face in it is searched"},
		"from":      gin.H{"type": "string", "description": "shot time from (RFC 3339 or YYYYMMDDhhmmss)"},
		"to":        gin.H{"type": "string", "description": "shot time to"},
		"device_id": gin.H{"type": "array", "items": gin.H{"type": "string"}, "description": "cameras to search (repeatable or comma-separated); default all the caller may see"},
		"top_k":     gin.H{"type": "integer", "minimum": 1, "maximum": MaxFaceTopK, "default": DefaultFaceTopK},
		"min_score": gin.H{"type": "number", "minimum": -1, "maximum": 1, "description": "cosine similarity at least this (default: no floor)"},
	}}
}
