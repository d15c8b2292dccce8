package models_test

import (
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/ocr"
	"github.com/cityeye/cityeye/testdata"
)

func read(t *testing.T, name string) gocv.Mat {
	t.Helper()
	img := gocv.IMRead(testdata.Media(t, name), gocv.IMReadColor)
	if img.Empty() {
		t.Fatalf("cannot decode %s", name)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

// Grace Hopper's face spans roughly x 165-365, y 125-330 of the 512×512 portrait
// (checked by eye on the drawn boxes); both BlazeFace variants must find exactly it.
func TestBlazeFaceFindsGraceHopper(t *testing.T) {
	img := read(t, "grace_hopper_512x512.jpg")
	neg := read(t, "640px-IceBlockNearJoekullsarlon.jpg")
	for _, name := range []string{"blazeface-front", "blazeface-back"} {
		t.Run(name, func(t *testing.T) {
			m := testdata.Model(t, name)
			dets, err := m.Detect([]gocv.Mat{img, neg})
			if err != nil {
				t.Fatal(err)
			}
			if len(dets[0]) != 1 {
				t.Fatalf("found %d faces in the portrait, want 1: %+v", len(dets[0]), dets[0])
			}
			d := dets[0][0]
			cx, cy := (d.Box.X1+d.Box.X2)/2, (d.Box.Y1+d.Box.Y2)/2
			if cx < 235 || cx > 295 || cy < 195 || cy > 260 || d.Box.W() < 150 || d.Box.W() > 250 {
				t.Fatalf("face box %+v is not on the face (centre %.0f,%.0f)", d.Box, cx, cy)
			}
			if d.Score < 0.8 || d.Label != "face" || len(d.Keypoints) != 6 {
				t.Fatalf("detection %+v", d)
			}
			// right eye (keypoint 0, subject's right = image left) is left of the left eye and above the mouth
			if !(d.Keypoints[0][0] < d.Keypoints[1][0] && d.Keypoints[0][1] < d.Keypoints[3][1]) {
				t.Fatalf("keypoints out of place: %v", d.Keypoints)
			}
			if len(dets[1]) != 0 {
				t.Fatalf("found %d faces in the ice-block photo, want 0: %+v", len(dets[1]), dets[1])
			}
		})
	}
}

func TestOCRReadsSceneText(t *testing.T) {
	r, err := ocr.Open(testdata.Repository(), testdataOptions())
	if err != nil {
		t.Fatalf("%v (run `make setup`)", err)
	}
	defer r.Close()
	cases := []struct {
		image string
		want  []string // lines that must be read exactly
	}{
		{"scenetext01.jpg", []string{"NOTICE", "DOUBLE", "PARKING", "PROHIBITED"}},
		{"scenetext05.jpg", []string{"NO PARKING", "NO PARKING"}},
		{"scenetext03.jpg", []string{"Copycentre"}},
		{"scenetext04.jpg", []string{"GM125"}},
		{"scenetext_word01.jpg", []string{"CHINA"}},
		{"scenetext_word02.jpg", []string{"HERE"}},
	}
	for _, c := range cases {
		lines, err := r.Read(read(t, c.image))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range lines {
			got = append(got, l.Text)
		}
		for _, w := range c.want {
			i := slices.Index(got, w)
			if i < 0 {
				t.Errorf("%s: did not read %q; read %q", c.image, w, got)
				continue
			}
			got = slices.Delete(got, i, i+1)
		}
	}
	// lines come top to bottom
	lines, _ := r.Read(read(t, "scenetext01.jpg"))
	var order []string
	for _, l := range lines[:4] {
		order = append(order, l.Text)
	}
	if strings.Join(order, " ") != "NOTICE DOUBLE PARKING PROHIBITED" {
		t.Errorf("reading order %q", order)
	}
}

// A batch must decode exactly as the same images one by one: the batcher relies on it.
func TestRecognizerBatchEqualsSingles(t *testing.T) {
	rec := testdata.Model(t, "ppocr-rec")
	imgs := []gocv.Mat{read(t, "scenetext_word01.jpg"), read(t, "scenetext_word02.jpg"), read(t, "scenetext_word03.jpg")}
	batch, err := rec.Recognize(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		one, err := rec.Recognize([]gocv.Mat{img})
		if err != nil {
			t.Fatal(err)
		}
		if one[0].Text != batch[i].Text || abs(one[0].Score-batch[i].Score) > 1e-4 {
			t.Fatalf("image %d: single %+v, batched %+v", i, one[0], batch[i])
		}
	}
	if batch[0].Text != "CHINA" || batch[1].Text != "HERE" {
		t.Fatalf("batch read %+v", batch)
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
