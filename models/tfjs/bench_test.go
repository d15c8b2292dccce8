package tfjs

import (
	"testing"

	"github.com/cityeye/cityeye/models/engine"
)

func BenchmarkNanoDetORT(b *testing.B) {
	p, _ := importedModel(b, "nanodet")
	s := openORT(b, p)
	in := engine.Tensor{Shape: []int64{1, 3, 416, 416}, Data: make([]float32, 3*416*416)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run([]engine.Tensor{in}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMobileFaceNetORT(b *testing.B) {
	p, _ := importedModel(b, "mobilefacenet")
	s := openORT(b, p)
	in := engine.Tensor{Shape: []int64{1, 112, 112, 3}, Data: make([]float32, 112*112*3)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run([]engine.Tensor{in}); err != nil {
			b.Fatal(err)
		}
	}
}
