package warehouse

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models/decode"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func box(x1, y1, x2, y2 float32) decode.Box { return decode.Box{X1: x1, Y1: y1, X2: x2, Y2: y2} }

// AP@0.5 by hand: two people and a dog; detections ranked hit, miss, hit for the
// people gives precision 1, ½, ⅔ at recall ½, ½, 1: the envelope is 1 up to recall
// ½ (51 of COCO's 101 points) and ⅔ above (50 points); the dog is found once.
// A duplicate of a matched box is a false positive; a class the set does not label
// is ignored.
func TestDetectionAP(t *testing.T) {
	e := newDetEval([]string{"person", "dog"})
	gt := []EvalBox{{"person", [4]float32{0, 0, 10, 20}}, {"person", [4]float32{50, 0, 60, 20}}, {"dog", [4]float32{100, 100, 140, 130}}}
	e.add(gt, []decode.Detection{
		{Label: "person", Score: 0.9, Box: box(0, 0, 10, 19)},
		{Label: "person", Score: 0.8, Box: box(200, 0, 210, 20)}, // nothing there
		{Label: "person", Score: 0.7, Box: box(51, 1, 60, 20)},
		{Label: "dog", Score: 0.6, Box: box(100, 100, 140, 130)},
		{Label: "kite", Score: 0.99, Box: box(0, 0, 5, 5)},
	})
	s := e.score()
	wantPerson := (51*1.0 + 50*2.0/3) / 101
	if !near(s.PerClass["person"], wantPerson) || !near(s.PerClass["dog"], 1) || !near(s.Value, (wantPerson+1)/2) {
		t.Fatalf("per class %v, mAP %v; want person %v, dog 1", s.PerClass, s.Value, wantPerson)
	}
	if !near(s.Measures["precision"], 3.0/4) || !near(s.Measures["recall"], 1) {
		t.Fatalf("precision/recall %v", s.Measures)
	}
	e = newDetEval([]string{"person"})
	e.add(gt[:1], []decode.Detection{{Label: "person", Score: 0.9, Box: box(0, 0, 10, 20)}, {Label: "person", Score: 0.8, Box: box(0, 0, 10, 20)}})
	if s := e.score(); !near(s.Measures["precision"], 0.5) || !near(s.Value, 1) {
		t.Fatalf("duplicate: %v %v", s.Measures, s.Value)
	}
	e = newDetEval([]string{"person"})
	e.add(gt[:1], []decode.Detection{{Label: "person", Score: 0.9, Box: box(5, 10, 15, 30)}}) // IoU 0.14
	if s := e.score(); s.Value != 0 || s.Measures["recall"] != 0 {
		t.Fatalf("a poor overlap counted: %v", s)
	}
}

func TestCharAccuracyAccuracyVerification(t *testing.T) {
	s := charAccuracy([]string{"HERE", "CHINA"}, []string{"HERF", "CHINA"}) // 1 edit in 9 characters
	if !near(s.Value, 1-1.0/9) || !near(s.Measures["exact_match"], 0.5) {
		t.Fatalf("%v", s)
	}
	if s := charAccuracy([]string{"ab"}, []string{"xyzw"}); s.Value != 0 {
		t.Fatalf("floored at 0: %v", s)
	}
	if s := accuracy([]string{"0", "180", "0"}, []string{"0", "0", "0"}); !near(s.Value, 2.0/3) {
		t.Fatalf("%v", s)
	}
	// separable at 0.5 except one different pair at 0.9: 5 of 6 at the best threshold
	s = verification([]float64{0.95, 0.8, 0.7, 0.2, 0.1, 0.9}, []bool{true, true, true, false, false, false})
	if !near(s.Value, 5.0/6) {
		t.Fatalf("%v", s)
	}
	if s := verification([]float64{0.9, 0.8, 0.3}, []bool{true, true, false}); s.Value != 1 || s.Measures["threshold"] <= 0.3 || s.Measures["threshold"] >= 0.8 {
		t.Fatalf("%v", s)
	}
}

// The seed sets parse (every annotated image present and readable, boxes inside
// their images) and the formats' mistakes are refused naming the field.
func TestParseEvalSets(t *testing.T) {
	sets, err := SeedSets()
	if err != nil || len(sets) != 5 {
		t.Fatalf("%v %v", sets, err)
	}
	for _, s := range sets {
		ann, imgs, cleanup, err := s.Files(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ParseEvalSet(s.Name, s.Task, ann, imgs)
		cleanup()
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		t.Logf("%s: %d images, labels %v, %d pairs", s.Name, len(spec.Images), spec.Labels, len(spec.Pairs))
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "a.jpg")
	b, _ := os.ReadFile("seed/face-detection/hopper.jpg")
	os.WriteFile(img, b, 0o644)
	one := map[string]string{"a.jpg": img}
	for _, c := range []struct {
		name, task, ann string
		images          map[string]string
		field, msg      string
	}{
		{"x", "detection", `{}`, one, "name", "2-64"},
		{"set", "face_attributes", `{}`, one, "task", "cannot be scored"},
		{"set", "detection", `{"images":[{"id":1,"file_name":"a.jpg"}],"annotations":[]}`, one, "annotations", "categories are required"},
		{"set", "detection", `{"images":[{"id":1,"file_name":"a.jpg"}],"categories":[{"id":1,"name":"face"}],"annotations":[{"image_id":1,"category_id":1,"bbox":[200,200,100,100]}]}`, one, "annotations", "outside the 256x256 image"},
		{"set", "detection", `{"images":[{"id":1,"file_name":"a.jpg"}],"categories":[{"id":1,"name":"face"}],"annotations":[{"image_id":2,"category_id":1,"bbox":[1,1,2,2]}]}`, one, "annotations", "image_id 2"},
		{"set", "detection", `{"images":[{"id":1,"file_name":"../a.jpg"}],"categories":[{"id":1,"name":"face"}]}`, one, "annotations", "no folders"},
		{"set", "text_recognition", "b.jpg\tHELLO\n", one, "images", "was not uploaded"},
		{"set", "text_recognition", "a.jpg HELLO\n", one, "annotations", "tab-separated"},
		{"set", "embedding", "a.jpg\tb.jpg\t1\n", map[string]string{"a.jpg": img, "b.jpg": img}, "annotations", "both kinds"},
		{"set", "classification", "a.jpg\tcat\n", map[string]string{"a.jpg": img, "b.jpg": img}, "images", "no annotation names it"},
	} {
		_, err := ParseEvalSet(c.name, c.task, []byte(c.ann), c.images)
		p, ok := err.(*Problem)
		if !ok || p.Field != c.field || !strings.Contains(p.Msg, c.msg) {
			t.Errorf("%s %s: %v, want %s: …%s…", c.task, c.ann, err, c.field, c.msg)
		}
	}
}
