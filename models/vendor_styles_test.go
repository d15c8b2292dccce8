package models_test

import (
	"image"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/testdata/vendorgraphs"
)

// loadStyle installs a vendor export style in a fresh repository and loads it.
func loadStyle(t *testing.T, s vendorgraphs.Style) *models.Model {
	t.Helper()
	repo := models.Repository{Root: t.TempDir()}
	m, err := s.Install(repo)
	if err != nil {
		t.Fatalf("%s: install: %v", s.Name, err)
	}
	mod, err := models.LoadFromRepository(repo, m.QualifiedName(), "", testdataOptions())
	if err != nil {
		t.Fatalf("%s: load: %v", s.Name, err)
	}
	t.Cleanup(func() { mod.Close() })
	return mod
}

// clipFrame is a real frame of vtest.avi (768×576), and the same frame shrunk to
// 384×240 (another aspect ratio: a wrong scale factor shows).
func clipFrames(t *testing.T) []gocv.Mat {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(testdata.Media(t, "vtest.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	big := gocv.NewMat()
	if !vc.Read(&big) || big.Empty() {
		t.Fatal("no frame")
	}
	small := gocv.NewMat()
	gocv.Resize(big, &small, image.Pt(384, 240), 0, 0, gocv.InterpolationArea)
	t.Cleanup(func() { big.Close(); small.Close() })
	return []gocv.Mat{big, small}
}

func mean(m gocv.Mat) float32 {
	s := m.Mean()
	return float32((s.Val1 + s.Val2 + s.Val3) / 3 / 255)
}

func near(a, b, tol float32) bool { return a-b <= tol && b-a <= tol }

// Issue 23 items 1 and 2: every detector export style (several named inputs derived
// from the preprocessing, uint8 and float16 images, NMS inside the graph as rows or
// tensors with counts, set prediction) runs from its manifest alone, batched, and
// gives the box the graph placed in source pixels with the frame's brightness as
// score; a scale factor or image shape fed wrong would move the box.
func TestVendorDetectorStyles(t *testing.T) {
	frames := clipFrames(t)
	for _, name := range []string{"paddle-garbage", "e2e-garbage", "effnms-garbage", "detr-garbage"} {
		s := vendorgraphs.Find(name)
		m := loadStyle(t, s)
		res, err := m.Detect(frames)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		for i, f := range frames {
			w, h := float32(f.Cols()), float32(f.Rows())
			b := vendorgraphs.Box
			want := decode.Box{X1: b[0] * w, Y1: b[1] * h, X2: b[2] * w, Y2: b[3] * h}
			if len(res[i]) != 1 {
				t.Errorf("%s frame %d: %d detections %+v, want 1 (padding rows dropped)", s.Name, i, len(res[i]), res[i])
				continue
			}
			d := res[i][0]
			if d.Label != vendorgraphs.Label || decode.IoU(d.Box, want) < 0.97 {
				t.Errorf("%s frame %d (%dx%d): %s %+v, want %s at %+v", s.Name, i, f.Cols(), f.Rows(), d.Label, d.Box, vendorgraphs.Label, want)
			}
			if name != "detr-garbage" && !near(d.Score, mean(f), 0.01) {
				t.Errorf("%s frame %d: score %.3f, want the brightness %.3f", s.Name, i, d.Score, mean(f))
			}
		}
	}
}

// SCRFD heads: one face at the planted cell with its box one stride each way and its
// five keypoints at the centre, in source pixels.
func TestVendorSCRFDHead(t *testing.T) {
	frames := clipFrames(t)
	m := loadStyle(t, vendorgraphs.SCRFD())
	res, err := m.Detect(frames)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		sx, sy := float32(f.Cols())/64, float32(f.Rows())/64
		cx, cy := float32(vendorgraphs.FaceCell[0]*16), float32(vendorgraphs.FaceCell[1]*16)
		want := decode.Box{X1: (cx - 16) * sx, Y1: max(cy-16, 0) * sy, X2: (cx + 16) * sx, Y2: (cy + 16) * sy}
		if len(res[i]) != 1 || decode.IoU(res[i][0].Box, want) < 0.97 || len(res[i][0].Keypoints) != 5 {
			t.Fatalf("frame %d: %+v, want one face at %+v with 5 keypoints", i, res[i], want)
		}
		if kp := res[i][0].Keypoints[4]; !near(kp[0], cx*sx, 1) || !near(kp[1], cy*sy, 1) {
			t.Errorf("frame %d: keypoint %v, want the centre (%.0f, %.0f)", i, kp, cx*sx, cy*sy)
		}
	}
}

// Crop classifiers and multi-head attribute models: a dark and a bright crop.
func TestVendorCropModels(t *testing.T) {
	dark := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(30, 30, 30, 0), 40, 30, gocv.MatTypeCV8UC3)
	bright := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(240, 240, 240, 0), 20, 20, gocv.MatTypeCV8UC3)
	defer dark.Close()
	defer bright.Close()
	cls, err := loadStyle(t, vendorgraphs.HatClassifier()).Classify([]gocv.Mat{dark, bright})
	if err != nil {
		t.Fatal(err)
	}
	if cls[0][0].Label != vendorgraphs.NoHat || cls[1][0].Label != vendorgraphs.Hat || cls[1][0].Score < 0.99 {
		t.Errorf("hat classifier: %v", cls)
	}
	attrs, err := loadStyle(t, vendorgraphs.Attributes()).Attributes([]gocv.Mat{dark, bright})
	if err != nil {
		t.Fatal(err)
	}
	if a := attrs[0]; a["tone"][0].Label != "dark" || len(a["flags"]) != 1 || a["flags"][0].Label != "always" {
		t.Errorf("dark crop: %v", a)
	}
	if a := attrs[1]; a["tone"][0].Label != "light" || len(a["flags"]) != 2 || a["flags"][1].Label != "bright" { // best first: always (10) over bright (8.8)
		t.Errorf("bright crop: %v", a)
	}
}

// A multi-input graph must have each input declared, with the graph's types.
func TestVendorInputsMustMatchTheGraph(t *testing.T) {
	for _, c := range []struct {
		name, field string
		edit        func(m *models.Manifest)
	}{
		{"undeclared inputs", "feeds", func(m *models.Manifest) { m.Feeds = nil }},
		{"wrong type", "feeds[0].type", func(m *models.Manifest) { m.Feeds[0].Type = "uint8" }},
		{"unknown input", "feeds[3].name", func(m *models.Manifest) {
			m.Feeds = append(m.Feeds, models.Input{Name: "extra", Kind: models.InputConstant, Value: []float32{1}})
		}},
	} {
		s := vendorgraphs.Paddle()
		c.edit(&s.Manifest)
		repo := models.Repository{Root: t.TempDir()}
		m, err := s.Install(repo)
		if err == nil {
			_, err = models.LoadFromRepository(repo, m.QualifiedName(), "", testdataOptions())
		}
		if err == nil || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.field)
		}
	}
}

// The real crop models of the registry packages run as second stages through the one
// crop path (Model.Crop, what the batcher calls): PP-OCR's recogniser reads word
// crops and the importer's MobileFaceNet embeds a face crop, as their own runners do.
func TestRealModelsAsCropStages(t *testing.T) {
	rec := testdata.Model(t, "ppocr-rec")
	words := []gocv.Mat{read(t, "scenetext_word01.jpg"), read(t, "scenetext_word02.jpg")}
	got, err := rec.Crop(words)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Text != "CHINA" || got[1].Text != "HERE" || got[0].Score <= 0 {
		t.Fatalf("OCR stage read %+v", got)
	}
	emb := testdata.Model(t, "mobilefacenet")
	face := read(t, "grace_hopper_512x512.jpg")
	dog := read(t, "dog.jpg")
	crops := []gocv.Mat{face.Region(image.Rect(163, 125, 366, 328)), face.Region(image.Rect(167, 129, 370, 332)), dog.Region(image.Rect(100, 100, 300, 300))}
	defer func() {
		for _, c := range crops {
			c.Close()
		}
	}()
	v, err := emb.Crop(crops)
	if err != nil {
		t.Fatal(err)
	}
	same, other := decode.Cosine(v[0].Embedding, v[1].Embedding), decode.Cosine(v[0].Embedding, v[2].Embedding)
	if len(v[0].Embedding) < 64 || same < 0.8 || same <= other {
		t.Fatalf("embedding stage: %d values, same face %.3f, a dog %.3f", len(v[0].Embedding), same, other)
	}
}
