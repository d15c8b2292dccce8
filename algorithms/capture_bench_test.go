package algorithms_test

import (
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/models/engine"
	"github.com/cityeye/cityeye/models/ocr"
	"github.com/cityeye/cityeye/testdata"
)

// one-thread sessions: the numbers are per core
func model1(b *testing.B, name string) *models.Model {
	m, err := models.LoadFromRepository(testdata.Repository(), name, "", engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		b.Fatalf("%v (run make setup)", err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func firstFrame(b *testing.B, clip string, skip int) gocv.Mat {
	vc, err := gocv.VideoCaptureFile(testdata.Media(b, clip))
	if err != nil {
		b.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	for range skip + 1 {
		vc.Read(&m)
	}
	return m
}

// benchCapture measures model inference + the capture algorithm per frame.
func benchCapture(b *testing.B, alg, model, clip string) {
	spec, _ := algorithms.Lookup(alg)
	a, err := spec.New("bench", algorithms.Params{SampleFPS: 5})
	if err != nil {
		b.Fatal(err)
	}
	m := model1(b, model)
	frame := firstFrame(b, clip, 30)
	defer frame.Close()
	t0 := time.Now()
	b.ResetTimer()
	for i := range b.N {
		dets, err := m.Detect([]gocv.Mat{frame})
		if err != nil {
			b.Fatal(err)
		}
		out := a.Process(algorithms.Frame{Mat: frame, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond)}, map[string][]decode.Detection{model: dets[0]})
		for _, c := range out.Captures {
			c.Frame.Close()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkFaceCapture(b *testing.B) {
	benchCapture(b, "face_capture", "blazeface-back", "faceclip.mp4")
}
func BenchmarkPersonVehicleCapture(b *testing.B) {
	benchCapture(b, "person_vehicle_capture", "nanodet", "vtest.avi")
}

// The second stages run on best shots only: their cost per call.
func BenchmarkFaceEmbedding(b *testing.B) {
	m := model1(b, "mobilefacenet")
	crop := gocv.NewMatWithSize(112, 112, gocv.MatTypeCV8UC3)
	defer crop.Close()
	for range b.N {
		if _, err := m.Embed([]gocv.Mat{crop}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "crops/s")
}

func BenchmarkPlateOCR(b *testing.B) {
	r, err := ocr.Open(testdata.Repository(), engine.Options{Provider: engine.ProviderCPU, IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	img := gocv.IMRead(testdata.Media(b, "car1.jpg"), gocv.IMReadColor)
	defer img.Close()
	for range b.N {
		if _, err := r.Read(img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "crops/s")
}

// BenchmarkAppearance is the tracker's appearance feature for one person-sized box
// (about 40×100 pixels) of a vtest.avi frame: capture computes it per detection.
func BenchmarkAppearance(b *testing.B) {
	frame := firstFrame(b, "vtest.avi", 30)
	defer frame.Close()
	box := decode.Box{X1: 400, Y1: 200, X2: 440, Y2: 300}
	for range b.N {
		if algorithms.Appearance(frame, box) == nil {
			b.Fatal("no feature")
		}
	}
}
