package tfjs

import (
	"testing"

	"github.com/cityeye/cityeye/models/engine"
)

// parityTolerance is the largest absolute difference allowed between an output of the
// original TF.js model (CPU backend) and the same output of the imported ONNX model
// in ONNX Runtime, on the same input tensor.
const parityTolerance = 1e-3

// checkParity runs every input through TF.js and ONNX Runtime and compares all outputs.
func checkParity(t *testing.T, model string, inputs map[string]engine.Tensor) {
	onnxPath, man := importedModel(t, model)
	if len(man.Inputs) != 1 {
		t.Fatalf("%s: %d inputs", model, len(man.Inputs))
	}
	inName := man.Inputs[0].Name
	var outNames []string
	for _, o := range man.Outputs {
		outNames = append(outNames, o.Name)
	}
	var labels []string
	var runs []tfjsRun
	for label, in := range inputs {
		labels = append(labels, label)
		runs = append(runs, tfjsRun{Inputs: map[string]engine.Tensor{inName: in}, Outputs: outNames})
	}
	want := runTFJS(t, humanModel(t, model), runs)

	sess := openORT(t, onnxPath)
	if got := sess.Inputs(); len(got) != 1 || got[0].Name != inName {
		t.Fatalf("ONNX inputs %+v, want one named %q", got, inName)
	}
	worst := make([]float64, len(outNames))
	for i, label := range labels {
		got, err := sess.Run([]engine.Tensor{runs[i].Inputs[inName]})
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if len(got) != len(outNames) {
			t.Fatalf("%s: ONNX gave %d outputs, TF.js %d", label, len(got), len(outNames))
		}
		for k, name := range outNames {
			if sess.Outputs()[k].Name != name {
				t.Fatalf("ONNX output %d is %q, want %q", k, sess.Outputs()[k].Name, name)
			}
			d := maxAbsDiff(t, label+"/"+name, want[i][k], got[k])
			worst[k] = max(worst[k], d)
			if d > parityTolerance {
				t.Errorf("%s %s on %s: max |tfjs - onnx| = %.3g > %g", model, name, label, d, parityTolerance)
			}
		}
	}
	for k, name := range outNames {
		t.Logf("%s %s %v: max abs diff over %d images = %.3g", model, name, man.Outputs[k].Shape, len(labels), worst[k])
	}
}

// The inputs are preprocessed as the model's manifest declares, so parity is checked
// on the value ranges the model sees in use.

func TestParityNanoDet(t *testing.T) {
	_, man := importedModel(t, "nanodet")
	inputs := map[string]engine.Tensor{}
	for _, name := range []string{"dog.jpg", "person.jpg", "kite.jpg", "car1.jpg"} {
		img := loadMedia(t, name)
		x0, y0, w, h := wholeImage(img)
		inputs[name] = modelInput(t, man, img, x0, y0, w, h)
	}
	checkParity(t, "nanodet", inputs)
}

func TestParityMobileFaceNet(t *testing.T) {
	_, man := importedModel(t, "mobilefacenet")
	inputs := map[string]engine.Tensor{}
	for _, f := range testFaces(t) {
		inputs[f.name] = modelInput(t, man, f.img, f.x, f.y, f.side, f.side)
	}
	for _, name := range []string{"dog.jpg", "person.jpg"} {
		img := loadMedia(t, name)
		b := img.Bounds()
		side := float64(min(b.Dx(), b.Dy()))
		inputs[name] = modelInput(t, man, img, 0, 0, side, side) // not faces, but real image statistics
	}
	checkParity(t, "mobilefacenet", inputs)
}

// faceres (face gender and age) on the same faces: its three outputs (age
// distribution, gender, descriptor) match TF.js.
func TestParityFaceRes(t *testing.T) {
	_, man := importedModel(t, "faceres")
	inputs := map[string]engine.Tensor{}
	for _, f := range testFaces(t) {
		inputs[f.name] = modelInput(t, man, f.img, f.x, f.y, f.side, f.side)
	}
	checkParity(t, "faceres", inputs)
}
