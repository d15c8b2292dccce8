// Package models is CityEye's model repository: a model is a folder holding a
// versioned manifest and its ONNX file, in the manner of Triton's model repository.
// Loading (this package and models/engine) is separate from serving (scheduler and
// workers): a manifest says everything needed to run a model, so vendors' models run
// without per-vendor code.
package models

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/cityeye/cityeye/models/preprocess"
)

// Tasks a model can declare.
const (
	TaskDetection       = "detection"
	TaskFaceDetection   = "face_detection"
	TaskTextDetection   = "text_detection"
	TaskTextRecognition = "text_recognition"
	TaskTextDirection   = "text_direction"
	TaskClassification  = "classification"
	TaskEmbedding       = "embedding"
	TaskFaceAttributes  = "face_attributes" // gender and age of a face crop (FaceAttrConfig)
	TaskAttributes      = "attributes"      // named groups of values of a crop (decode.AttributesConfig)
)

var tasks = map[string]bool{TaskDetection: true, TaskFaceDetection: true, TaskTextDetection: true,
	TaskTextRecognition: true, TaskTextDirection: true, TaskClassification: true, TaskEmbedding: true, TaskFaceAttributes: true, TaskAttributes: true}

// Decoder families; Params is the family's config (decode.SSDConfig, decode.YOLOConfig,
// decode.NanoDetConfig, decode.CenterNetConfig, decode.SuppressedConfig (NMS inside the graph), decode.SetConfig
// (DETR-style set prediction), decode.ScrfdConfig (anchor-free face heads with
// keypoints), decode.DBNetConfig, decode.CTCConfig, ClassifyConfig, EmbedConfig,
// FaceAttrConfig, decode.AttributesConfig).
var decoders = map[string]bool{"ssd": true, "yolo": true, "nanodet": true, "centernet": true, "suppressed": true, "set": true, "scrfd": true,
	"dbnet": true, "ctc": true, "classification": true, "embedding": true, "face_attributes": true, "attributes": true}

// Manifest describes one model version.
type Manifest struct {
	Vendor      string          `json:"vendor,omitempty"` // the warehouse namespace: who supplies and maintains it
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Task        string          `json:"task"`
	Description string          `json:"description,omitempty"`
	File        string          `json:"file"`   // ONNX file inside the version folder
	SHA256      string          `json:"sha256"` // of File
	License     string          `json:"license"`
	Source      Source          `json:"source"`
	Input       preprocess.Spec `json:"input"`
	// Feeds says how each graph input is fed when it has several (or to have a name
	// and type checked): the image, preprocessed by Input, and tensors derived from
	// it. Empty: the graph has one input, the image. (Not "inputs": imported models'
	// manifests record the graph's signature under that name.)
	Feeds    []Input  `json:"feeds,omitempty"`
	MaxBatch int      `json:"max_batch"` // 1 for fixed-batch graphs
	Decoder  Decoder  `json:"decoder"`
	Labels   []string `json:"labels,omitempty"`
	Files    []File   `json:"files,omitempty"`   // extra files such as an OCR dictionary
	Samples  []Sample `json:"samples,omitempty"` // vendor sample images with the outputs they must produce
}

// Sample is a vendor's sample image (one of Files) and what the model must output on
// it; the warehouse checks it before a version can be published.
type Sample struct {
	File   string     `json:"file"`
	Expect []Expected `json:"expect"`
}

// Expected is one output a sample must produce: for detectors a box of Label with at
// least MinScore (and, when Box is given, IoU ≥ MinIoU with it, in image pixels); for
// classifiers the top label; for text recognisers the text.
type Expected struct {
	Label    string    `json:"label,omitempty"`
	MinScore float32   `json:"min_score,omitempty"`
	Box      []float32 `json:"box,omitempty"` // x1, y1, x2, y2
	MinIoU   float32   `json:"min_iou,omitempty"`
	Text     string    `json:"text,omitempty"`
}

// Source says where the model came from, so anyone can re-derive and check it.
type Source struct {
	Package string `json:"package,omitempty"` // registry package, e.g. npm:name@version
	Path    string `json:"path,omitempty"`    // file inside the package
	URL     string `json:"url,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
}

// File is an extra file shipped with a model.
type File struct {
	Name       string `json:"name"`
	SHA256     string `json:"sha256"`
	SourcePath string `json:"source_path,omitempty"`
}

// Decoder names an output family and its parameters.
type Decoder struct {
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params"`
}

// ClassifyConfig is the "classification" decoder's config.
type ClassifyConfig struct {
	Output  string `json:"output"`
	Softmax bool   `json:"softmax"` // outputs are logits
	TopK    int    `json:"top_k"`
}

// FaceAttrConfig is the "face_attributes" decoder's config: the outputs holding the
// probability of male and the distribution over ages in years (decode.DecodeFaceAttributes),
// and the age of the distribution's first class (faceres: 1 year).
type FaceAttrConfig struct {
	GenderOutput string  `json:"gender_output"`
	AgeOutput    string  `json:"age_output"`
	MinAge       float32 `json:"min_age"`
}

// EmbedConfig is the "embedding" decoder's config.
type EmbedConfig struct {
	Output    string `json:"output"`
	Normalize bool   `json:"normalize"` // L2-normalise so embeddings compare by dot product
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	versionRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}([-+][0-9A-Za-z.-]+)?$`)
	shaRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	fileRE    = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// Validate reports the first invalid field by its JSON name.
func (m Manifest) Validate() error {
	switch {
	case m.Vendor != "" && !vendorRE.MatchString(m.Vendor):
		return fieldErr("vendor", "2-32 characters of a-z, 0-9, _ and -")
	case !nameRE.MatchString(m.Name):
		return fieldErr("name", "must be 1-64 lowercase letters, digits, '.', '_' or '-'")
	case !versionRE.MatchString(m.Version):
		return fieldErr("version", "must look like 1, 1.2 or 1.2.3 (optionally -suffix)")
	case !tasks[m.Task]:
		return fieldErr("task", fmt.Sprintf("unknown task %q", m.Task))
	case !shaRE.MatchString(m.SHA256):
		return fieldErr("sha256", "must be 64 lowercase hex digits")
	case m.License == "":
		return fieldErr("license", "is required")
	case m.MaxBatch < 0:
		return fieldErr("max_batch", "must not be negative")
	case !decoders[m.Decoder.Type]:
		return fieldErr("decoder.type", fmt.Sprintf("unknown decoder %q", m.Decoder.Type))
	}
	if err := m.Input.Validate(); err != nil {
		return &FieldError{Field: "input", Msg: err.Error()}
	}
	if err := validateInputs(m.Feeds); err != nil {
		return err
	}
	if err := m.checkPaths(); err != nil {
		return err
	}
	files := map[string]bool{}
	for i, f := range m.Files {
		if !shaRE.MatchString(f.SHA256) {
			return fieldErr(fmt.Sprintf("files[%d].sha256", i), "must be 64 lowercase hex digits")
		}
		files[f.Name] = true
	}
	for i, s := range m.Samples {
		f := fmt.Sprintf("samples[%d]", i)
		switch {
		case !files[s.File]:
			return fieldErr(f+".file", fmt.Sprintf("%q is not one of files[]", s.File))
		case len(s.Expect) == 0:
			return fieldErr(f+".expect", "at least one expected output")
		}
		for j, e := range s.Expect {
			if len(e.Box) != 0 && len(e.Box) != 4 {
				return fieldErr(fmt.Sprintf("%s.expect[%d].box", f, j), "x1, y1, x2, y2")
			}
			if e.MinScore < 0 || e.MinScore > 1 || e.MinIoU < 0 || e.MinIoU > 1 {
				return fieldErr(fmt.Sprintf("%s.expect[%d]", f, j), "min_score and min_iou are in [0, 1]")
			}
		}
	}
	return nil
}

// FieldError names the manifest field that is wrong, for API error bodies.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(f, msg string) error { return &FieldError{Field: f, Msg: msg} }
