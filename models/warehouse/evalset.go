package warehouse

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models"
)

// Evaluation sets are the platform's labelled images, one task each, in the
// formats documented in docs/evaluation-sets.md: COCO JSON for detectors,
// PaddleOCR's "image<TAB>text" list for text recognisers, "image<TAB>label" for
// classifiers, and "a<TAB>b<TAB>1|0" identity pairs for embeddings. Uploads are
// normalised into an EvalSpec, which is what scoring reads.

// EvalSpec is an evaluation set in normal form.
type EvalSpec struct {
	Task   string      `json:"task"`
	Labels []string    `json:"labels,omitempty"` // detection categories or classes in the set
	Images []EvalImage `json:"images"`
	Pairs  []EvalPair  `json:"pairs,omitempty"` // embeddings: which images show the same identity
}

// EvalImage is one image (stored by SHA256) and its ground truth.
type EvalImage struct {
	File   string    `json:"file"`
	SHA256 string    `json:"sha256"`
	Boxes  []EvalBox `json:"boxes,omitempty"` // detection: every object of the set's labels
	Text   string    `json:"text,omitempty"`  // text recognition
	Label  string    `json:"label,omitempty"` // classification
}

// EvalBox is a labelled box in image pixels (x1, y1, x2, y2).
type EvalBox struct {
	Label string     `json:"label"`
	Box   [4]float32 `json:"box"`
}

// EvalPair says whether two of the set's images show the same identity.
type EvalPair struct {
	A    string `json:"a"`
	B    string `json:"b"`
	Same bool   `json:"same"`
}

// evalTasks maps each task that can be scored to its annotation format.
var evalTasks = map[string]string{
	models.TaskDetection: "coco", models.TaskFaceDetection: "coco",
	models.TaskTextRecognition: "text", models.TaskClassification: "labels", models.TaskTextDirection: "labels",
	models.TaskEmbedding: "pairs",
}

var evalNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{1,63}$`)

// MaxEvalImages bounds one set: every image is decoded at upload and run at scoring.
const MaxEvalImages = 2000

// ParseEvalSet checks an upload and returns it in normal form. images maps each
// uploaded file name to its path; every annotated image must be uploaded, decodable,
// and every uploaded image annotated. Problems name the form field.
func ParseEvalSet(name, task string, annotations []byte, images map[string]string) (*EvalSpec, error) {
	if !evalNameRE.MatchString(name) {
		return nil, problem("name", "2-64 characters of a-z, 0-9, '.', '_' and '-'")
	}
	format, ok := evalTasks[task]
	if !ok {
		return nil, problem("task", "%q cannot be scored; one of detection, face_detection, text_recognition, classification, text_direction, embedding", task)
	}
	if len(images) == 0 || len(images) > MaxEvalImages {
		return nil, problem("images", "between 1 and %d images are required, got %d", MaxEvalImages, len(images))
	}
	spec := &EvalSpec{Task: task}
	var err error
	switch format {
	case "coco":
		err = spec.parseCOCO(annotations)
	case "pairs":
		err = spec.parsePairs(annotations)
	default:
		err = spec.parseLines(annotations, format)
	}
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for i := range spec.Images {
		im := &spec.Images[i]
		path, ok := images[im.File]
		if !ok {
			return nil, problem("images", "%q is annotated but was not uploaded", im.File)
		}
		used[im.File] = true
		mat := gocv.IMRead(path, gocv.IMReadColor)
		w, h := mat.Cols(), mat.Rows()
		mat.Close()
		if w == 0 {
			return nil, problem("images", "%q is not a readable image", im.File)
		}
		for _, b := range im.Boxes {
			if b.Box[0] < 0 || b.Box[1] < 0 || b.Box[2] > float32(w)+1 || b.Box[3] > float32(h)+1 || b.Box[2] <= b.Box[0] || b.Box[3] <= b.Box[1] {
				return nil, problem("annotations", "a %s box of %q, %v, is empty or outside the %dx%d image", b.Label, im.File, b.Box, w, h)
			}
		}
		if im.SHA256, _, err = fileSHA(path); err != nil {
			return nil, err
		}
	}
	for f := range images {
		if !used[f] {
			return nil, problem("images", "%q was uploaded but no annotation names it", f)
		}
	}
	return spec, nil
}

// SHA256 hashes the normal form: equal labels and image bytes give equal hashes.
func (s *EvalSpec) SHA256() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

var evalFileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func (s *EvalSpec) addImage(file string) (*EvalImage, error) {
	if !evalFileRE.MatchString(file) {
		return nil, problem("annotations", "%q is not an image file name (letters, digits, '.', '_', '-'; no folders)", file)
	}
	if slices.ContainsFunc(s.Images, func(im EvalImage) bool { return im.File == file }) {
		return nil, problem("annotations", "%q is annotated twice", file)
	}
	s.Images = append(s.Images, EvalImage{File: file})
	return &s.Images[len(s.Images)-1], nil
}

// parseCOCO reads the images, categories and annotations of a COCO detection file.
func (s *EvalSpec) parseCOCO(b []byte) error {
	var c struct {
		Images []struct {
			ID       int64  `json:"id"`
			FileName string `json:"file_name"`
		} `json:"images"`
		Categories []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"categories"`
		Annotations []struct {
			ImageID    int64     `json:"image_id"`
			CategoryID int64     `json:"category_id"`
			BBox       []float32 `json:"bbox"`
			IsCrowd    int       `json:"iscrowd"`
		} `json:"annotations"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return problem("annotations", "not COCO JSON: %v", err)
	}
	cats := map[int64]string{}
	for _, k := range c.Categories {
		if strings.TrimSpace(k.Name) == "" {
			return problem("annotations", "category %d has no name", k.ID)
		}
		cats[k.ID] = k.Name
		s.Labels = append(s.Labels, k.Name)
	}
	if len(cats) == 0 {
		return problem("annotations", "COCO categories are required (their names must be the model's labels)")
	}
	ims := map[int64]int{}
	for _, im := range c.Images {
		if _, err := s.addImage(im.FileName); err != nil {
			return err
		}
		ims[im.ID] = len(s.Images) - 1
	}
	for i, a := range c.Annotations {
		idx, ok := ims[a.ImageID]
		label, known := cats[a.CategoryID]
		switch {
		case !ok:
			return problem("annotations", "annotation %d names image_id %d, which is not among images", i, a.ImageID)
		case !known:
			return problem("annotations", "annotation %d names category_id %d, which is not among categories", i, a.CategoryID)
		case len(a.BBox) != 4:
			return problem("annotations", "annotation %d: bbox must be [x, y, width, height]", i)
		case a.IsCrowd != 0:
			return problem("annotations", "annotation %d: crowd regions are not supported; box each object", i)
		}
		x, y, w, h := a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]
		s.Images[idx].Boxes = append(s.Images[idx].Boxes, EvalBox{Label: label, Box: [4]float32{x, y, x + w, y + h}})
	}
	return nil
}

// lines splits a tab-separated annotation file, skipping blank lines and # comments.
func lines(b []byte, fields int, example string) ([][]string, error) {
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != fields {
			return nil, problem("annotations", "line %d: %d tab-separated fields, want %d (%s)", n, len(f), fields, example)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, problem("annotations", "no annotation lines (%s)", example)
	}
	return out, sc.Err()
}

// parseLines reads "image<TAB>text" (OCR) or "image<TAB>label" (classifiers).
func (s *EvalSpec) parseLines(b []byte, format string) error {
	ls, err := lines(b, 2, "image<TAB>"+format)
	if err != nil {
		return err
	}
	for _, l := range ls {
		im, err := s.addImage(l[0])
		if err != nil {
			return err
		}
		if l[1] == "" {
			return problem("annotations", "%q has an empty %s", l[0], format)
		}
		if format == "text" {
			im.Text = l[1]
		} else {
			im.Label = l[1]
			if !slices.Contains(s.Labels, l[1]) {
				s.Labels = append(s.Labels, l[1])
			}
		}
	}
	return nil
}

// parsePairs reads "a<TAB>b<TAB>1" (same identity) or 0 (different) lines.
func (s *EvalSpec) parsePairs(b []byte) error {
	ls, err := lines(b, 3, "image_a<TAB>image_b<TAB>1 or 0")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var same, diff int
	for _, l := range ls {
		if l[2] != "0" && l[2] != "1" || l[0] == l[1] {
			return problem("annotations", "pair %s %s %s: two different images and 1 (same identity) or 0", l[0], l[1], l[2])
		}
		for _, f := range l[:2] {
			if !seen[f] {
				seen[f] = true
				if _, err := s.addImage(f); err != nil {
					return err
				}
			}
		}
		s.Pairs = append(s.Pairs, EvalPair{A: l[0], B: l[1], Same: l[2] == "1"})
		if l[2] == "1" {
			same++
		} else {
			diff++
		}
	}
	if same == 0 || diff == 0 {
		return problem("annotations", "%d same-identity and %d different pairs: both kinds are needed", same, diff)
	}
	return nil
}

// applies says whether a version of task with labels can be scored on the set, and
// why not: detectors need a label in common, classifiers every class of the set.
func (s *EvalSpec) applies(task string, labels []string) (bool, string) {
	if s.Task != task {
		return false, fmt.Sprintf("the set is for %s", s.Task)
	}
	switch evalTasks[task] {
	case "coco":
		for _, l := range s.Labels {
			if slices.Contains(labels, l) {
				return true, ""
			}
		}
		return false, "no label in common with the set's categories"
	case "labels":
		for _, l := range s.Labels {
			if !slices.Contains(labels, l) {
				return false, fmt.Sprintf("the set's class %q is not among the model's labels", l)
			}
		}
	}
	return true, ""
}
