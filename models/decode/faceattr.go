package decode

import "math"

// FaceAttributes is a face's estimated gender and age, from a model with a
// male-probability output and a distribution over ages in whole years (faceres: a
// sigmoid, and a softmax over 0–99 years).
type FaceAttributes struct {
	Male  float32 // probability that the face is a man's, 0..1
	Age   float32 // the distribution's mean, years
	AgeSD float32 // its standard deviation, years: how unsure the estimate is
}

// DecodeFaceAttributes reads one face's outputs: male is the gender output (its
// first value), ages the per-year distribution, class i being minAge+i years. The
// age is the distribution's mean rather than its mode, which on a flat distribution
// jumps between neighbouring years; ages that do not sum to a positive value give
// Age -1.
func DecodeFaceAttributes(male, ages []float32, minAge float32) FaceAttributes {
	a := FaceAttributes{Male: -1, Age: -1}
	if len(male) > 0 && male[0] >= 0 && male[0] <= 1 {
		a.Male = male[0]
	}
	var sum, mean float64
	for i, p := range ages {
		if p > 0 {
			sum += float64(p)
			mean += float64(i) * float64(p)
		}
	}
	if sum <= 0 {
		return a
	}
	mean /= sum
	var v float64
	for i, p := range ages {
		if p > 0 {
			d := float64(i) - mean
			v += d * d * float64(p)
		}
	}
	a.Age, a.AgeSD = float32(mean)+minAge, float32(math.Sqrt(v/sum))
	return a
}
