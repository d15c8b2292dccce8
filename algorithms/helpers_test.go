package algorithms

import (
	"fmt"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/ocr"
	"github.com/cityeye/cityeye/testdata"
)

// testRunner is the second stage the worker gives algorithms, on the real models,
// counting its calls. text, when set, replaces OCR.
type testRunner struct {
	mu     sync.Mutex
	emb    *models.Model
	attr   *models.Model // face attributes (FaceAttributer); nil: none
	rd     *ocr.Reader
	text   func(call int, img gocv.Mat) []TextLine
	embeds int // Embed calls
	reads  int // ReadText calls
}

func (r *testRunner) Embed(name string, imgs []gocv.Mat) ([][]float32, error) {
	r.mu.Lock()
	r.embeds++
	r.mu.Unlock()
	if r.emb == nil || name != r.emb.Manifest.Name {
		return nil, fmt.Errorf("no model %s", name)
	}
	return r.emb.Embed(imgs)
}

func (r *testRunner) FaceAttributes(name string, imgs []gocv.Mat) ([]decode.FaceAttributes, error) {
	if r.attr == nil || name != r.attr.Manifest.Name {
		return nil, fmt.Errorf("no model %s", name)
	}
	return r.attr.FaceAttributes(imgs)
}

func (r *testRunner) ReadText(img gocv.Mat) ([]TextLine, error) {
	r.mu.Lock()
	r.reads++
	n := r.reads
	r.mu.Unlock()
	if r.text != nil {
		return r.text(n, img), nil
	}
	if r.rd == nil {
		return nil, fmt.Errorf("no OCR")
	}
	lines, err := r.rd.Read(img)
	out := make([]TextLine, len(lines))
	for i, l := range lines {
		out[i] = TextLine{Text: l.Text, Score: l.Score, Box: l.Box}
	}
	return out, err
}

func openOCR(t testing.TB) *ocr.Reader {
	t.Helper()
	rd, err := ocr.Open(testdata.Repository(), engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 2})
	if err != nil {
		t.Fatalf("OCR models: %v (run `make setup`)", err)
	}
	t.Cleanup(rd.Close)
	return rd
}

func readImage(t testing.TB, name string) gocv.Mat {
	t.Helper()
	m := gocv.IMRead(testdata.Media(t, name), gocv.IMReadColor)
	if m.Empty() {
		t.Fatalf("cannot decode %s", name)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// videoFrames decodes every every-th frame of a test video (closed at cleanup).
func videoFrames(t testing.TB, name string, every int) []gocv.Mat {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(testdata.Media(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	var out []gocv.Mat
	for i := 0; ; i++ {
		m := gocv.NewMat()
		if !vc.Read(&m) || m.Empty() {
			m.Close()
			break
		}
		if i%every == 0 {
			out = append(out, m)
		} else {
			m.Close()
		}
	}
	t.Cleanup(func() {
		for _, m := range out {
			m.Close()
		}
	})
	if len(out) == 0 {
		t.Fatalf("no frames in %s", name)
	}
	return out
}
