package warehouse

import (
	"path/filepath"
	"testing"

	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/testdata"
)

// Every seed set scores its starter model, run as the sandbox child runs it: each
// image is one progress step, and the measures (logged; docs/evaluation-sets.md
// quotes them) come from the model's real output on the hand labels.
func TestSeedSetsScoreStarterModels(t *testing.T) {
	sets, err := SeedSets()
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]string{"street-objects": "nanodet", "faces": "blazeface-back", "scene-words": "ppocr-rec",
		"text-direction": "ppocr-cls", "face-pairs": "mobilefacenet"}
	for _, s := range sets {
		ann, imgs, cleanup, err := s.Files(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer cleanup()
		spec, err := ParseEvalSet(s.Name, s.Task, ann, imgs)
		if err != nil {
			t.Fatal(err)
		}
		m, dir, err := testdata.Repository().Resolve(model[s.Name], "")
		if err != nil {
			t.Fatal(err)
		}
		if ok, why := spec.applies(m.Task, m.Labels); !ok {
			t.Fatalf("%s does not apply to %s: %s", s.Name, m.Name, why)
		}
		steps := 0
		out := evaluateDir(dir, engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1}, []evalJob{{Name: s.Name, Spec: *spec, Dir: imageDir(imgs)}},
			func(string, int) { steps++ })
		sc := out[0].Score
		if sc == nil || steps != len(spec.Images) {
			t.Fatalf("%s on %s: %+v after %d progress steps", m.Name, s.Name, out[0], steps)
		}
		t.Logf("%s on %s: %s %.3f %v %v, %.1f ms/image", m.Name, s.Name, sc.Metric, sc.Value, sc.Measures, sc.PerClass, sc.MSPerImage)
		if sc.Value <= 0 || sc.Images != len(spec.Images) || sc.MSPerImage <= 0 {
			t.Errorf("%s on %s: %+v", m.Name, s.Name, sc)
		}
	}
}

// imageDir is the folder SeedSet.Files wrote the images into.
func imageDir(images map[string]string) string {
	for _, p := range images {
		return filepath.Dir(p)
	}
	return ""
}
