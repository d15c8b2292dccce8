package warehouse

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
)

// The sandboxed side of scoring: the child loads the version and runs it on each
// set's images (laid out by the parent under the set's folder by file name).

// evalJob is one set to score: its normal form and the folder of its images.
type evalJob struct {
	Name string   `json:"name"`
	Spec EvalSpec `json:"spec"`
	Dir  string   `json:"dir"`
}

// setScore is the outcome of one set: a score or why there is none.
type setScore struct {
	Set   string `json:"set"`
	Score *Score `json:"score,omitempty"`
	Error string `json:"error,omitempty"`
}

// evaluateDir scores the version in dir on each job, reporting progress (percent of
// all images) with the set being scored as the stage.
func evaluateDir(dir string, opts engine.Options, jobs []evalJob, progress func(stage string, percent int)) []setScore {
	out := make([]setScore, len(jobs))
	for i, j := range jobs {
		out[i].Set = j.Name
	}
	m, err := models.Load(dir, opts)
	if err != nil {
		for i := range out {
			out[i].Error = "the model does not load: " + scrub(err, dir)
		}
		return out
	}
	defer m.Close()
	total, done := 0, 0
	for _, j := range jobs {
		total += len(j.Spec.Images)
	}
	for i, j := range jobs {
		s, err := scoreSet(m, j, func() {
			done++
			progress(j.Name, 100*done/max(total, 1))
		})
		if err != nil {
			out[i].Error = scrub(fmt.Errorf("%s", scrub(err, j.Dir)), dir)
			continue
		}
		out[i].Score = s
	}
	return out
}

// scoreSet runs m on every image of a set, one at a time (the batch-1 latency is
// part of the score), and computes the task's measures.
func scoreSet(m *models.Model, j evalJob, step func()) (*Score, error) {
	spec := j.Spec
	var det *detEval
	if evalTasks[spec.Task] == "coco" {
		var shared []string
		for _, l := range spec.Labels {
			if slices.Contains(m.Manifest.Labels, l) {
				shared = append(shared, l)
			}
		}
		det = newDetEval(shared)
	}
	var truth, got []string
	vecs := map[string][]float32{}
	var spent time.Duration
	for _, im := range spec.Images {
		img := gocv.IMRead(filepath.Join(j.Dir, im.File), gocv.IMReadColor)
		if img.Empty() {
			return nil, fmt.Errorf("%s is not a readable image", im.File)
		}
		t := time.Now()
		out, err := Infer(m, []gocv.Mat{img})
		spent += time.Since(t)
		img.Close()
		if err != nil {
			return nil, fmt.Errorf("inference on %s: %w", im.File, err)
		}
		if err := collect(spec.Task, im, out, det, &truth, &got, vecs); err != nil {
			return nil, err
		}
		step()
	}
	var s Score
	switch evalTasks[spec.Task] {
	case "coco":
		s = det.score()
	case "text":
		s = charAccuracy(truth, got)
	case "labels":
		s = accuracy(truth, got)
	case "pairs":
		sims, same := make([]float64, len(spec.Pairs)), make([]bool, len(spec.Pairs))
		for i, p := range spec.Pairs {
			sims[i], same[i] = float64(decode.Cosine(vecs[p.A], vecs[p.B])), p.Same
		}
		s = verification(sims, same)
	}
	s.Images = len(spec.Images)
	s.MSPerImage = float64(spent.Microseconds()) / 1000 / float64(max(len(spec.Images), 1))
	return &s, nil
}

// collect files one image's output under its task's measure.
func collect(task string, im EvalImage, out any, det *detEval, truth, got *[]string, vecs map[string][]float32) error {
	var ok bool
	switch evalTasks[task] {
	case "coco":
		var o [][]decode.Detection
		if o, ok = out.([][]decode.Detection); ok {
			det.add(im.Boxes, o[0])
		}
	case "text":
		var t []decode.Text
		if t, ok = out.([]decode.Text); ok {
			*truth, *got = append(*truth, im.Text), append(*got, t[0].Text)
		}
	case "labels":
		var c [][]decode.Class
		if c, ok = out.([][]decode.Class); ok {
			top := ""
			if len(c[0]) > 0 {
				top = c[0][0].Label
			}
			*truth, *got = append(*truth, im.Label), append(*got, top)
		}
	case "pairs":
		var v [][]float32
		if v, ok = out.([][]float32); ok {
			vecs[im.File] = v[0]
		}
	}
	if !ok {
		return fmt.Errorf("a %s model gave %T, which cannot be scored", task, out)
	}
	return nil
}
