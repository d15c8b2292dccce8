package decode

import (
	"math"
	"sort"
)

// Class is one classification result.
type Class struct {
	Index int
	Label string
	Score float32
}

// Softmax returns a normalised copy of logits.
func Softmax(logits []float32) []float32 {
	out := make([]float32, len(logits))
	m := float32(math.Inf(-1))
	for _, v := range logits {
		m = max(m, v)
	}
	var sum float64
	for i, v := range logits {
		e := math.Exp(float64(v - m))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

// TopK returns the k best classes, best first. applySoftmax treats scores as logits.
func TopK(scores []float32, k int, applySoftmax bool, labels []string) []Class {
	if applySoftmax {
		scores = Softmax(scores)
	}
	cs := make([]Class, len(scores))
	for i, s := range scores {
		cs[i] = Class{Index: i, Label: label(labels, i), Score: s}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Score > cs[j].Score })
	if k > 0 && k < len(cs) {
		cs = cs[:k]
	}
	return cs
}

// L2Normalize returns v scaled to unit length (v itself if it is all zeros), so that
// embeddings compare by dot product.
func L2Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := append([]float32(nil), v...)
	if s == 0 {
		return out
	}
	n := float32(1 / math.Sqrt(s))
	for i := range out {
		out[i] *= n
	}
	return out
}

// Cosine is the cosine similarity of two vectors.
func Cosine(a, b []float32) float32 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return float32(dot / math.Sqrt(na*nb))
}
