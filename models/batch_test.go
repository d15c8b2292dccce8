package models_test

import (
	"fmt"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/testdata"
)

// TestImportedModelsBatch: the imported frame and crop models take batches (a dynamic
// batch dimension, max_batch above 1), and an image's result in a batch of several
// different images is its result alone.
func TestImportedModelsBatch(t *testing.T) {
	var imgs []gocv.Mat
	for _, name := range []string{"dog.jpg", "car1.jpg", "horses.jpg"} {
		img := gocv.IMRead(testdata.Media(t, name), gocv.IMReadColor)
		defer img.Close()
		imgs = append(imgs, img)
	}
	for _, name := range []string{"nanodet", "mobilefacenet"} {
		m := testdata.Model(t, name)
		if b := m.Inputs()[0].Shape[0]; b != -1 || m.MaxBatch() < 4 {
			t.Fatalf("%s: batch dimension %d, max batch %d (run make setup to import again)", name, b, m.MaxBatch())
		}
		run := func(batch []gocv.Mat) []string {
			var out []string
			if name == "nanodet" {
				res, err := m.Detect(batch)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range res {
					out = append(out, fmt.Sprintf("%.3v", r))
				}
				return out
			}
			res, err := m.Embed(batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				out = append(out, fmt.Sprintf("%.3v", r))
			}
			return out
		}
		all := run(imgs)
		for i := range imgs {
			if one := run(imgs[i : i+1]); one[0] != all[i] {
				t.Fatalf("%s image %d: alone %s, in a batch %s", name, i, one[0], all[i])
			}
		}
	}
}
