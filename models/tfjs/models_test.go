package tfjs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
)

// The imported models on real images, decoded as their manifests declare.

// refBox is an object seen by eye in a test image (boxes drawn over the images were
// inspected when these references were recorded), in source-image pixels.
type refBox struct {
	class int
	box   decode.Box
}

func nanodetDetect(t *testing.T, sess *engine.Session, man *Manifest, img image.Image) []decode.Detection {
	t.Helper()
	var dec struct {
		Type   string
		Params decode.NanoDetConfig
	}
	if err := json.Unmarshal(man.Decoder, &dec); err != nil || dec.Type != "nanodet" {
		t.Fatalf("manifest decoder %s: %v", man.Decoder, err)
	}
	x0, y0, w, h := wholeImage(img)
	in := modelInput(t, man, img, x0, y0, w, h)
	outs, err := sess.Run([]engine.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	var do []decode.Output
	for i, o := range outs {
		do = append(do, decode.Output{Name: sess.Outputs()[i].Name, Shape: o.Shape, Data: o.Data})
	}
	inW, inH := int(in.Shape[3]), int(in.Shape[2])
	dets, err := decode.DecodeNanoDet(dec.Params, do, 0, inW, inH, man.Labels)
	if err != nil {
		t.Fatal(err)
	}
	sx, sy := float32(w)/float32(inW), float32(h)/float32(inH)
	for i := range dets {
		b := &dets[i].Box
		b.X1, b.X2, b.Y1, b.Y2 = b.X1*sx, b.X2*sx, b.Y1*sy, b.Y2*sy
	}
	return dets
}

func TestNanoDetDetections(t *testing.T) {
	path, man := importedModel(t, "nanodet")
	sess := openORT(t, path)

	// The strides and reg_max the manifest states are the ones the outputs imply.
	var outs []decode.Output
	for _, o := range man.Outputs {
		outs = append(outs, decode.Output{Name: o.Name, Shape: o.Shape})
	}
	levels, err := decode.ResolveNanoDet(decode.NanoDetConfig{NumClasses: 80}, outs, 416, 416, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(levels); got != "[{Identity Identity_3 8 52 52 10 80} {Identity_1 Identity_4 16 26 26 10 80} {Identity_2 Identity_5 32 13 13 10 80}]" {
		t.Fatalf("levels from the outputs: %s", got)
	}

	cases := []struct {
		image string
		want  []refBox
		count map[int][2]int // class -> [min, max] detections
	}{
		{"person.jpg", []refBox{{0, decode.Box{X1: 187, Y1: 101, X2: 280, Y2: 376}}, {16, decode.Box{X1: 71, Y1: 265, X2: 202, Y2: 346}},
			{17, decode.Box{X1: 405, Y1: 139, X2: 603, Y2: 348}}},
			map[int][2]int{0: {1, 1}, 16: {1, 1}}},
		{"dog.jpg", []refBox{{1, decode.Box{X1: 117, Y1: 130, X2: 570, Y2: 424}}, {16, decode.Box{X1: 131, Y1: 222, X2: 360, Y2: 542}},
			{7, decode.Box{X1: 465, Y1: 86, X2: 693, Y2: 166}}},
			map[int][2]int{0: {0, 0}, 16: {1, 1}, 7: {1, 1}}},
		// A beach with people walking, like vtest.avi's pedestrians: the two in the
		// foreground, four small ones up the beach, one in the water; kites above.
		{"kite.jpg", []refBox{{0, decode.Box{X1: 212, Y1: 700, X2: 273, Y2: 853}}, {0, decode.Box{X1: 111, Y1: 614, X2: 168, Y2: 760}},
			{0, decode.Box{X1: 78, Y1: 509, X2: 107, Y2: 568}}, {0, decode.Box{X1: 27, Y1: 512, X2: 56, Y2: 559}},
			{0, decode.Box{X1: 518, Y1: 504, X2: 555, Y2: 534}}, {33, decode.Box{X1: 594, Y1: 79, X2: 673, Y2: 155}}},
			map[int][2]int{0: {6, 8}, 33: {3, 6}}},
		{"car1.jpg", []refBox{{2, decode.Box{X1: 43, Y1: 197, X2: 956, Y2: 476}}}, map[int][2]int{0: {0, 0}, 2: {1, 1}}},
		{"car2.jpg", []refBox{{2, decode.Box{X1: 139, Y1: 330, X2: 1401, Y2: 731}}}, map[int][2]int{0: {0, 0}, 2: {1, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.image, func(t *testing.T) {
			dets := nanodetDetect(t, sess, man, loadMedia(t, tc.image))
			var lines []string
			counts := map[int]int{}
			for _, d := range dets {
				counts[d.Class]++
				lines = append(lines, fmt.Sprintf("%s(%d) %.2f [%.0f %.0f %.0f %.0f]", d.Label, d.Class, d.Score, d.Box.X1, d.Box.Y1, d.Box.X2, d.Box.Y2))
			}
			t.Logf("%s: %d detections\n  %s", tc.image, len(dets), strings.Join(lines, "\n  "))
			for _, r := range tc.want {
				best := float32(0)
				for _, d := range dets {
					if d.Class == r.class {
						best = max(best, decode.IoU(d.Box, r.box))
					}
				}
				if best < 0.6 {
					t.Errorf("no %s near %v (best IoU %.2f)", man.Labels[r.class], r.box, best)
				}
			}
			for class, mm := range tc.count {
				if n := counts[class]; n < mm[0] || n > mm[1] {
					t.Errorf("%d %s detections, want %d..%d", n, man.Labels[class], mm[0], mm[1])
				}
			}
		})
	}
}

// face is a square face crop of a test image.
type face struct {
	name, who  string
	img        image.Image
	x, y, side float64
}

// testFaces: three crops of Grace Hopper's face (reference, shifted, zoomed out) and
// faces of two other people, from Megamind.avi (an animated trailer: the only other
// frontal faces in the test media). Crops were written to PNG and inspected.
func testFaces(t testing.TB) []face {
	gh := loadMedia(t, "grace_hopper_512x512.jpg")
	f1, f8, f9 := megamindFrame(t, 1), megamindFrame(t, 8), megamindFrame(t, 9)
	faces := []face{
		{"hopper", "hopper", gh, 165, 110, 200},
		{"hopper shifted", "hopper", gh, 180, 125, 190},
		{"hopper zoomed out", "hopper", gh, 150, 95, 230},
		{"roxanne 1s", "roxanne", f1, 240, 185, 170},
		{"roxanne 8s", "roxanne", f8, 255, 145, 190},
		{"man 9s", "man", f9, 240, 80, 330},
	}
	if dir := os.Getenv("CITYEYE_TEST_OUT"); dir != "" { // for looking at the crops
		for _, f := range faces {
			hwc := resample(f.img, f.x, f.y, f.side, f.side, 112, 112)
			im := image.NewRGBA(image.Rect(0, 0, 112, 112))
			for i := 0; i < 112*112; i++ {
				for c := 0; c < 3; c++ {
					im.Pix[4*i+c] = uint8(min(255, max(0, math.Round(float64(hwc[3*i+c])))))
				}
				im.Pix[4*i+3] = 255
			}
			if fh, err := os.Create(filepath.Join(dir, strings.ReplaceAll(f.name, " ", "_")+".png")); err == nil {
				png.Encode(fh, im)
				fh.Close()
			}
		}
	}
	return faces
}

func TestMobileFaceNetEmbeddings(t *testing.T) {
	path, man := importedModel(t, "mobilefacenet")
	var dec struct {
		Type   string
		Params struct {
			Output    string
			Normalize bool
		}
	}
	if err := json.Unmarshal(man.Decoder, &dec); err != nil || dec.Type != "embedding" || dec.Params.Output != "embeddings" {
		t.Fatalf("manifest decoder %s: %v", man.Decoder, err)
	}
	sess := openORT(t, path)
	faces := testFaces(t)
	embs := make([][]float32, len(faces))
	for i, f := range faces {
		out, err := sess.Run([]engine.Tensor{modelInput(t, man, f.img, f.x, f.y, f.side, f.side)})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out[0].Shape) != "[1 192]" {
			t.Fatalf("embedding shape %v", out[0].Shape)
		}
		norm := 0.0
		for _, v := range out[0].Data {
			norm += float64(v) * float64(v)
		}
		if math.Abs(math.Sqrt(norm)-1) > 1e-4 { // the graph ends in an L2 normalisation
			t.Errorf("%s: |embedding| = %.6f", f.name, math.Sqrt(norm))
		}
		embs[i] = decode.L2Normalize(out[0].Data)
	}
	// Every same-person pair must be closer than every pair of different people.
	minSame, maxDiff := float32(2), float32(-2)
	for i := range faces {
		for j := i + 1; j < len(faces); j++ {
			c := decode.Cosine(embs[i], embs[j])
			same := faces[i].who == faces[j].who
			t.Logf("cos(%s, %s) = %.6f same=%v", faces[i].name, faces[j].name, c, same)
			if same {
				minSame = min(minSame, c)
			} else {
				maxDiff = max(maxDiff, c)
			}
		}
	}
	t.Logf("closest different people %.6f, farthest same person %.6f", maxDiff, minSame)
	if minSame <= maxDiff {
		t.Errorf("a same-person pair (cos %.6f) is not closer than every different-person pair (max cos %.6f)", minSame, maxDiff)
	}
}

func TestImportManifest(t *testing.T) {
	path, man := importedModel(t, "nanodet")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	// Decoded as the model repository's manifest fields (models.Manifest; importing
	// that package here would pull in gocv).
	var onDisk struct {
		Name, Version, Task, File, SHA256, License string
		Source                                     struct{ Package, Path string }
		Input                                      struct {
			Width, Height         int
			Resize, Color, Layout string
		}
		MaxBatch int `json:"max_batch"`
		Decoder  struct {
			Type   string
			Params json.RawMessage
		}
		Labels []string
	}
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.SHA256 != sum || man.SHA256 != sum {
		t.Errorf("manifest sha256 %s / %s, file %s", onDisk.SHA256, man.SHA256, sum)
	}
	// With the overlay, the draft is a complete model-repository manifest.
	if onDisk.Name != "nanodet" || onDisk.Version != "1" || onDisk.Task != "detection" || onDisk.License != "MIT" ||
		onDisk.File != ModelFile || onDisk.Source.Package != humanModelsPkg || onDisk.Source.Path != "models/nanodet.json" ||
		len(onDisk.Labels) != 80 || onDisk.MaxBatch != 8 || onDisk.Decoder.Type != "nanodet" ||
		onDisk.Input.Width != 416 || onDisk.Input.Height != 416 || onDisk.Input.Layout != "nchw" ||
		onDisk.Input.Resize != "stretch" || onDisk.Input.Color != "bgr" {
		t.Errorf("manifest fields: %+v", onDisk)
	}
	if fmt.Sprint(man.Inputs) != "[{input_1 float32 [-1 3 416 416]}]" { // dynamic batch
		t.Errorf("inputs %v", man.Inputs)
	}
	if len(man.Outputs) != 6 || man.Import.Opset != Opset || man.Import.From != "tfjs" {
		t.Errorf("outputs %v, import %+v", man.Outputs, man.Import)
	}

	// The same model through the model repository's loader path: names and shapes as
	// ONNX Runtime reports them equal the TF.js signature's, but for the batch (N).
	sess := openORT(t, path)
	got := sess.Outputs()
	for i, o := range man.Outputs {
		if got[i].Name != o.Name || fmt.Sprint(got[i].Shape) != fmt.Sprint(o.Shape) {
			t.Errorf("ONNX output %d: %+v, manifest %+v", i, got[i], o)
		}
	}
	m, err := Load(humanModel(t, "nanodet"))
	if err != nil {
		t.Fatal(err)
	}
	sig := map[string]string{}
	for _, o := range m.Signature.Outputs {
		sig[outputName(o.Name)] = fmt.Sprint(append([]int64{-1}, o.Shape[1:]...))
	}
	for _, o := range man.Outputs {
		if sig[o.Name] != fmt.Sprint(o.Shape) {
			t.Errorf("output %s: shape %v, TF.js signature %s", o.Name, o.Shape, sig[o.Name])
		}
	}
}
