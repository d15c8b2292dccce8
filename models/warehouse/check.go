package warehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gocv.io/x/gocv"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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

// Package is one upload: the manifest, and the ONNX file and the extra files the
// manifest lists (dictionaries, sample images) as files on disk, where the upload
// streamed them: a package is never held in memory whole.
type Package struct {
	Manifest models.Manifest
	Model    string            // path of the ONNX file
	Files    map[string]string // extra file name → path of its bytes
}

// prepare fills and checks everything that needs neither the model's bytes parsed
// nor a model run: manifest fields, digests and the extra files.
func (p *Package) prepare() error {
	m := &p.Manifest
	if !vendorRE.MatchString(m.Vendor) {
		return problem("manifest.vendor", "required: 2-32 characters of a-z, 0-9, _ and - (your vendor ID)")
	}
	if !semverRE.MatchString(m.Version) {
		return problem("manifest.version", "%q is not a semantic version such as 1.4.2", m.Version)
	}
	got, size, err := fileSHA(p.Model)
	if err != nil || size == 0 {
		return problem("model", "the ONNX file is missing or empty")
	}
	if m.SHA256 != "" && m.SHA256 != got {
		return problem("manifest.sha256", "%s does not match the uploaded model (its sha256 is %s): the file is truncated or not the one described", m.SHA256, got)
	}
	m.SHA256 = got
	if m.File == "" {
		m.File = "model.onnx"
	}
	for name, path := range p.Files {
		i := slices.IndexFunc(m.Files, func(f models.File) bool { return f.Name == name })
		if i < 0 {
			return problem("files", "%q was uploaded but is not listed in manifest.files", name)
		}
		h, _, err := fileSHA(path)
		if err != nil {
			return err
		}
		if m.Files[i].SHA256 == "" {
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
	return nil
}

// fileSHA hashes a file as it streams from disk.
func fileSHA(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// layout moves the package's files into dir (on the same file system) as a
// repository version folder, with the manifest; p then points at them.
func (p *Package) layout(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(p.Manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), b, 0o644); err != nil {
		return err
	}
	move := func(from, name string) (string, error) {
		to := filepath.Join(dir, name)
		if from == to {
			return to, nil
		}
		return to, os.Rename(from, to)
	}
	var err error
	if p.Model, err = move(p.Model, p.Manifest.File); err != nil {
		return err
	}
	for name, path := range p.Files {
		if p.Files[name], err = move(path, name); err != nil {
			return err
		}
	}
	return nil
}

// check runs the checks quick enough to answer the upload with, the model's in the
// sandbox: the package, then (in the child) the bytes are ONNX without external
// data, load in ONNX Runtime, the declared input matches the graph's, and the
// decoder reads the model's real output. A *Problem is the vendor's to fix.
func (w *Warehouse) check(ctx context.Context, p *Package, dir string) error {
	if err := p.prepare(); err != nil {
		return err
	}
	if err := p.layout(dir); err != nil {
		return err
	}
	lim := w.Limits.withDefaults()
	res, err := w.sandbox(ctx, sandboxRequest{Op: "check", Dir: dir, Engine: engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1},
		Memory: lim.Memory, CPU: lim.CheckCPU}, lim.CheckWall, nil)
	var le *LimitError
	if errors.As(err, &le) {
		return problem("model", "the model check was stopped: %s", le.Msg)
	}
	if err != nil {
		return err
	}
	if res.Problem != nil {
		return res.Problem
	}
	return nil
}

// checkDir is the sandboxed side of check, on the version folder dir.
func checkDir(dir string, opts engine.Options, memory int64) *Problem {
	man, err := models.ReadManifest(dir)
	if err != nil {
		return problem("manifest", "%s", scrub(err, dir))
	}
	path, err := man.FilePath(dir, man.File)
	if err != nil {
		return problem("model", "%v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return problem("model", "%s", scrub(err, dir))
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		return problem("model", "not an ONNX model (protobuf: %v); a truncated upload looks like this too", err)
	}
	b = nil
	if mp.Graph == nil || len(mp.Graph.Node) == 0 || len(mp.OpsetImport) == 0 {
		return problem("model", "not an ONNX model: no graph, nodes or opset import")
	}
	if name, ok := externalTensor(mp.ProtoReflect()); ok {
		return problem("model", "tensor %q keeps its data in an external file; CityEye takes self-contained ONNX files only (save the model without external data)", name)
	}
	m, err := models.Load(dir, opts)
	var fe *models.FieldError
	if errors.As(err, &fe) {
		return problem("manifest."+fe.Field, "%s", fe.Msg)
	}
	if err != nil {
		return problem("model", "ONNX Runtime cannot load it: %s%s", scrub(err, dir), memoryHint(err, memory))
	}
	defer m.Close()
	if err := checkInput(man, m.ImageInput()); err != nil {
		var pr *Problem
		errors.As(err, &pr)
		return pr
	}
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(127, 127, 127, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	if _, err := Infer(m, []gocv.Mat{blank}); err != nil {
		if hint := memoryHint(err, memory); hint != "" {
			return problem("model", "running it on a blank frame failed: %s%s", scrub(err, dir), hint)
		}
		return problem("manifest.decoder", "decoder %q cannot read the model's real output: %s (outputs: %s)", man.Decoder.Type, scrub(err, dir), describe(m.Outputs()))
	}
	return nil
}

// memoryHint explains an allocation failure: the model wanted more than the
// sandbox's memory limit.
func memoryHint(err error, memory int64) string {
	if s := err.Error(); strings.Contains(s, "bad_alloc") || strings.Contains(s, "Failed to allocate") {
		return fmt.Sprintf(" (the model needs more than the %d MiB memory limit)", memory>>20)
	}
	return ""
}

// externalTensor finds a tensor anywhere in the model (initializers, attributes,
// subgraphs, functions, training info) whose data lives in an external file, which
// ONNX Runtime would read from a path the vendor chose.
func externalTensor(m protoreflect.Message) (string, bool) {
	if t, ok := m.Interface().(*onnxpb.TensorProto); ok && (t.DataLocation == onnxpb.TensorProto_EXTERNAL || len(t.ExternalData) > 0) {
		return t.Name, true
	}
	var name string
	var found bool
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len() && !found; i++ {
				name, found = externalTensor(v.List().Get(i).Message())
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					name, found = externalTensor(mv.Message())
				}
				return !found
			})
		default:
			name, found = externalTensor(v.Message())
		}
		return !found
	})
	return name, found
}

// checkInput compares the declared preprocessing with the graph's image input (its
// element type, float32, float16 or uint8, is converted to; the declared inputs were
// matched with the graph's by models.Load).
func checkInput(m models.Manifest, in engine.TensorInfo) error {
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
	case models.TaskFaceAttributes:
		return m.FaceAttributes(imgs)
	case models.TaskAttributes:
		return m.Attributes(imgs)
	}
	return nil, fmt.Errorf("task %q has no runner", m.Manifest.Task)
}
