package api

import (
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/models/warehouse"
	"github.com/cityeye/cityeye/store"
)

// DefaultMaxConcurrentUploads is how many model uploads are checked at once by
// default; more get 429 (each holds a sandboxed check and its files on disk).
const DefaultMaxConcurrentUploads = 2

// uploadSlot takes one of the concurrent upload slots; release it when done. It
// answers 429 and returns false when all are taken.
func (s *Server) uploadSlot(c *gin.Context) (release func(), ok bool) {
	s.uploadsOnce.Do(func() {
		n := s.MaxConcurrentUploads
		if n <= 0 {
			n = DefaultMaxConcurrentUploads
		}
		s.uploads = make(chan struct{}, n)
	})
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, true
	default:
		c.Header("Retry-After", "30")
		fail(c, http.StatusTooManyRequests, "", "too many model uploads are being checked; retry later")
		return nil, false
	}
}

// uploadModel streams the multipart package to disk part by part (never a whole
// part in memory; the body is capped at MaxUpload), then hands it to the warehouse.
func uploadModel(s *Server, c *gin.Context) {
	stage, mr, done, ok := s.stageUpload(c, "parts-", "manifest, model and files")
	if !ok {
		return
	}
	defer done()
	var manifests []string
	pkg := &warehouse.Package{Files: map[string]string{}}
	modelParts := 0
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			uploadErr(s, c, "body", err)
			return
		}
		switch name := part.FormName(); {
		case name == "manifest" && part.FileName() == "":
			b, err := io.ReadAll(io.LimitReader(part, MaxBody+1))
			if err != nil {
				uploadErr(s, c, "manifest", err)
				return
			}
			if len(b) > MaxBody {
				fail(c, http.StatusRequestEntityTooLarge, "manifest", "manifest: over 1 MiB")
				return
			}
			manifests = append(manifests, string(b))
		case name == "model":
			modelParts++
			if pkg.Model, err = savePart(stage, n, part); err != nil {
				uploadErr(s, c, "model", err)
				return
			}
		case name == "files":
			fn := filepath.Base(part.FileName())
			if _, dup := pkg.Files[fn]; dup {
				fail(c, http.StatusBadRequest, "files", "files: "+quote(fn)+" uploaded twice")
				return
			}
			if pkg.Files[fn], err = savePart(stage, n, part); err != nil {
				uploadErr(s, c, "files", err)
				return
			}
		}
		part.Close()
	}
	if len(manifests) != 1 {
		fail(c, http.StatusBadRequest, "manifest", "manifest: exactly one manifest part (JSON) is required")
		return
	}
	if err := decodeStrict(strings.NewReader(manifests[0]), &pkg.Manifest); err != nil {
		field, msg := describeJSONError(err)
		fail(c, http.StatusBadRequest, "manifest."+field, "manifest: "+msg)
		return
	}
	p := who(c)
	m := &pkg.Manifest
	if m.Vendor == "" && !isAdmin(p) {
		m.Vendor = p.Dept.ID
	}
	if m.Vendor != "" && !ownVendor(c, m.Vendor) {
		return
	}
	if modelParts != 1 {
		fail(c, http.StatusBadRequest, "model", "model: exactly one ONNX file part named model is required")
		return
	}
	v, created, err := s.Warehouse.Upload(c, p.User.ID, pkg)
	var pr *warehouse.Problem
	switch {
	case errors.As(err, &pr):
		fail(c, http.StatusUnprocessableEntity, pr.Field, pr.Error())
	case errors.Is(err, warehouse.ErrExists):
		fail(c, http.StatusConflict, "manifest.version", err.Error())
	case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrState):
		storeErr(c, err, "model version")
	case err != nil: // the server's own trouble (disk, object store, sandbox): no paths in the answer
		slog.Error("model upload", "vendor", pkg.Manifest.Vendor, "name", pkg.Manifest.Name, "err", err)
		fail(c, http.StatusInternalServerError, "", "the upload could not be checked or stored; see the server log")
	case created:
		c.Header("Location", "/api/v1/warehouse/models/"+v.Vendor+"/"+v.Name+"/"+v.Version)
		c.JSON(http.StatusAccepted, v)
	default:
		c.JSON(http.StatusOK, v) // the same bytes again: nothing new stored
	}
}

// stageUpload begins a warehouse upload: it takes an upload slot, makes a staging
// folder for the parts and opens the multipart body (parts names what it must
// hold, for the error). done releases both; !ok means it has answered.
func (s *Server) stageUpload(c *gin.Context, prefix, parts string) (stage string, mr *multipart.Reader, done func(), ok bool) {
	if !s.warehouseOn(c) {
		return "", nil, nil, false
	}
	release, ok := s.uploadSlot(c)
	if !ok {
		return "", nil, nil, false
	}
	stage, err := os.MkdirTemp(s.Warehouse.Scratch, prefix)
	if err != nil {
		release()
		slog.Error("upload: staging folder", "err", err)
		fail(c, http.StatusInternalServerError, "", "no room for the upload; see the server log")
		return "", nil, nil, false
	}
	done = func() { os.RemoveAll(stage); release() }
	if mr, err = c.Request.MultipartReader(); err != nil {
		done()
		fail(c, http.StatusBadRequest, "body", "a multipart/form-data body with "+parts+" is required: "+err.Error())
		return "", nil, nil, false
	}
	return stage, mr, done, true
}

// savePart streams one part into the staging folder.
func savePart(stage string, n int, r io.Reader) (string, error) {
	path := filepath.Join(stage, "part-"+strconv.Itoa(n))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// uploadErr answers a failed read of the body: 413 over the limit, else 400.
func uploadErr(s *Server, c *gin.Context, field string, err error) {
	var mbe *http.MaxBytesError
	var pe *os.PathError
	switch {
	case errors.As(err, &mbe):
		fail(c, http.StatusRequestEntityTooLarge, "model", "upload over the limit of "+strconv.FormatInt(s.maxUpload()>>20, 10)+" MiB")
	case errors.As(err, &pe): // writing the part to disk failed: the server's trouble
		slog.Error("model upload: saving a part", "err", err)
		fail(c, http.StatusInternalServerError, "", "the upload could not be saved; see the server log")
	default:
		fail(c, http.StatusBadRequest, field, field+": the multipart body cannot be read: "+err.Error())
	}
}
