package workers

import (
	"fmt"
	"sync"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/ocr"
)

// runner runs second-stage models (embeddings, OCR) on crops for the algorithms,
// loading each once per worker on first use. Sessions are safe for concurrent runs.
type runner struct {
	w      *Worker
	mu     sync.Mutex
	embeds map[string]*models.Model
	reader *ocr.Reader
}

func (r *runner) Embed(model string, imgs []gocv.Mat) ([][]float32, error) {
	r.mu.Lock()
	m, ok := r.embeds[model]
	if !ok {
		var err error
		if m, err = models.LoadFromRepository(r.w.cfg.Repo, model, "", r.w.cfg.Engine); err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("load %s: %w", model, err)
		}
		r.embeds[model] = m
	}
	r.mu.Unlock()
	return m.Embed(imgs)
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
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.embeds {
		m.Close()
	}
	r.embeds = map[string]*models.Model{}
	if r.reader != nil {
		r.reader.Close()
		r.reader = nil
	}
}
