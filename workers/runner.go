package workers

import (
	"fmt"
	"sync"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/ocr"
)

// runner runs second-stage models (embeddings, OCR) on crops for the algorithms,
// loading each once per worker on first use; an embedding model follows publishes
// (models.Loader), so a task's features come from the version serving now.
type runner struct {
	w      *Worker
	embeds models.Loader
	mu     sync.Mutex
	reader *ocr.Reader
}

func (r *runner) Embed(model string, imgs []gocv.Mat) ([][]float32, error) {
	m, release, err := r.embeds.Get(model)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", model, err)
	}
	defer release()
	return m.Embed(imgs)
}

// FaceAttributes estimates gender and age (algorithms.FaceAttributer) with a model
// loaded and swapped like the embedding models.
func (r *runner) FaceAttributes(model string, imgs []gocv.Mat) ([]decode.FaceAttributes, error) {
	m, release, err := r.embeds.Get(model)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", model, err)
	}
	defer release()
	return m.FaceAttributes(imgs)
}

func (r *runner) ReadText(img gocv.Mat) ([]algorithms.TextLine, error) {
	r.mu.Lock()
	if r.reader == nil {
		rd, err := ocr.Open(r.w.cfg.Repo, r.w.cfg.Engine)
		if err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("load the OCR models: %w", err)
		}
		r.reader = rd
	}
	rd := r.reader
	r.mu.Unlock()
	lines, err := rd.Read(img)
	out := make([]algorithms.TextLine, len(lines))
	for i, l := range lines {
		out[i] = algorithms.TextLine{Text: l.Text, Score: l.Score, Box: l.Box}
	}
	return out, err
}

func (r *runner) close() {
	r.embeds.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reader != nil {
		r.reader.Close()
		r.reader = nil
	}
}
