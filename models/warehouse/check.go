package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gocv.io/x/gocv"
	"google.golang.org/protobuf/proto"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/onnxpb"
)

// Problem is an upload the warehouse refuses: Field names the part of the package
// (manifest.<field>, model, files) and Msg says what to fix. The API answers 4xx.
type Problem struct{ Field, Msg string }

func (p *Problem) Error() string { return p.Field + ": " + p.Msg }

func problem(field, format string, args ...any) *Problem {
	return &Problem{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var (
	semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)
	vendorRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)
)

// Package is one upload: the manifest, the ONNX bytes and the extra files the
// manifest lists (dictionaries, sample images).
type Package struct {
	Manifest models.Manifest
	Model    []byte
	Files    map[string][]byte
}

// prepare fills and checks everything that needs no model run: manifest fields,
// digests, the extra files, and that the bytes really are an ONNX model.
func (p *Package) prepare() error {
	m := &p.Manifest
	if !vendorRE.MatchString(m.Vendor) {
		return problem("manifest.vendor", "required: 2-32 characters of a-z, 0-9, _ and - (your vendor ID)")
	}
	if !semverRE.MatchString(m.Version) {
		return problem("manifest.version", "%q is not a semantic version such as 1.4.2", m.Version)
	}
	if len(p.Model) == 0 {
		return problem("model", "the ONNX file is missing or empty")
	}
	sum := sha256.Sum256(p.Model)
	got := hex.EncodeToString(sum[:])
	if m.SHA256 != "" && m.SHA256 != got {
		return problem("manifest.sha256", "%s does not match the uploaded model (its sha256 is %s): the file is truncated or not the one described", m.SHA256, got)
	}
	m.SHA256 = got
	if m.File == "" {
		m.File = "model.onnx"
	}
	for name, b := range p.Files {
		i := slices.IndexFunc(m.Files, func(f models.File) bool { return f.Name == name })
		if i < 0 {
			return problem("files", "%q was uploaded but is not listed in manifest.files", name)
		}
		sum := sha256.Sum256(b)
		if h := hex.EncodeToString(sum[:]); m.Files[i].SHA256 == "" {
			m.Files[i].SHA256 = h
		} else if m.Files[i].SHA256 != h {
			return problem(fmt.Sprintf("manifest.files[%d].sha256", i), "does not match the uploaded %s (%s)", name, h)
		}
	}
	for i, f := range m.Files {
		if _, ok := p.Files[f.Name]; !ok {
			return problem(fmt.Sprintf("manifest.files[%d]", i), "%q is listed but was not uploaded", f.Name)
		}
	}
	if err := m.Validate(); err != nil {
		var fe *models.FieldError
		if errors.As(err, &fe) {
			return problem("manifest."+fe.Field, "%s", fe.Msg)
		}
		return problem("manifest", "%v", err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(p.Model, &mp); err != nil {
		return problem("model", "not an ONNX model (protobuf: %v); a truncated upload looks like this too", err)
	}
	if mp.Graph == nil || len(mp.Graph.Node) == 0 || len(mp.OpsetImport) == 0 {
		return problem("model", "not an ONNX model: no graph, nodes or opset import")
	}
	return nil
}

// writeTo lays the package out as a repository version folder.
func (p *Package) writeTo(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(p.Manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, p.Manifest.File), p.Model, 0o644); err != nil {
		return err
	}
	for name, data := range p.Files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check runs every check that is quick enough to answer the upload with: the
// package, loading in ONNX Runtime, the declared input against the graph's, and the
// decoder on the model's real output. It returns the loaded model (close it).
func Check(p *Package, dir string, opts engine.Options) (*models.Model, error) {
	if err := p.prepare(); err != nil {
		return nil, err
	}
	if err := p.writeTo(dir); err != nil {
		return nil, err
	}
	m, err := models.Load(dir, opts)
	if err != nil {
		return nil, problem("model", "ONNX Runtime cannot load it: %s", scrub(err, dir))
	}
	if err := checkInput(p.Manifest, m.Inputs()[0]); err != nil {
		m.Close()
		return nil, err
	}
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(127, 127, 127, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	if _, err := Infer(m, []gocv.Mat{blank}); err != nil {
		m.Close()
		return nil, problem("manifest.decoder", "decoder %q cannot read the model's real output: %s (outputs: %s)", p.Manifest.Decoder.Type, scrub(err, dir), describe(m.Outputs()))
	}
	return m, nil
}

// checkInput compares the declared preprocessing with the graph's image input.
func checkInput(m models.Manifest, in engine.TensorInfo) error {
	if in.Type != "" && in.Type != "float32" && in.Type != "FLOAT" {
		return problem("manifest.input", "the graph's input %s is %s; CityEye feeds float32 images", in.Name, in.Type)
	}
	if len(in.Shape) != 4 {
		return problem("manifest.input", "the graph's input %s has shape %v; image models take 4 dimensions", in.Name, in.Shape)
	}
	s := m.Input
	c, h, w := in.Shape[1], in.Shape[2], in.Shape[3]
	if s.Layout == "nhwc" {
		h, w, c = in.Shape[1], in.Shape[2], in.Shape[3]
	}
	if c > 0 && c != 3 {
		return problem("manifest.input.layout", "declared %s but the graph's input %s %v has %d channels there", s.Layout, in.Name, in.Shape, c)
	}
	if s.Width > 0 && w > 0 && int64(s.Width) != w || s.Height > 0 && h > 0 && int64(s.Height) != h {
		return problem("manifest.input", "declares %dx%d (%s) but the graph's input %s is %v", s.Width, s.Height, s.Layout, in.Name, in.Shape)
	}
	return nil
}

// scrub drops the scratch folder from an error text: answers and reports name
// package files, never where they lie on the server.
func scrub(err error, dir string) string {
	return strings.ReplaceAll(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), dir, ".")
}

func describe(ts []engine.TensorInfo) string {
	b, _ := json.Marshal(ts)
	return string(b)
}

// Infer runs the model's task on images and returns what its decoder produced, in a
// form the sample checks and the benchmark share.
func Infer(m *models.Model, imgs []gocv.Mat) (any, error) {
	switch m.Manifest.Task {
	case models.TaskDetection, models.TaskFaceDetection:
		return m.Detect(imgs)
	case models.TaskTextDetection:
		return m.DetectText(imgs)
	case models.TaskTextRecognition:
		return m.Recognize(imgs)
	case models.TaskTextDirection, models.TaskClassification:
		return m.Classify(imgs)
	case models.TaskEmbedding:
		return m.Embed(imgs)
	}
	return nil, fmt.Errorf("task %q has no runner", m.Manifest.Task)
}
