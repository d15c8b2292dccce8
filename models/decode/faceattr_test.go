package decode

import (
	"math"
	"testing"
)

func TestDecodeFaceAttributes(t *testing.T) {
	ages := make([]float32, 100)
	ages[30], ages[40] = 0.5, 0.5 // mean 35, SD 5
	a := DecodeFaceAttributes([]float32{0.2}, ages, 0)
	if a.Male != 0.2 || math.Abs(float64(a.Age-35)) > 1e-4 || math.Abs(float64(a.AgeSD-5)) > 1e-4 {
		t.Fatalf("%+v", a)
	}
	ages = make([]float32, 100)
	ages[70] = 2 // not normalised: still 70, certain
	if a := DecodeFaceAttributes([]float32{0.9}, ages, 0); a.Age != 70 || a.AgeSD != 0 {
		t.Fatalf("%+v", a)
	}
	// faceres's first class is 1 year old (its authors' facial_analysis.py: min_age 1)
	if a := DecodeFaceAttributes([]float32{0.9}, ages, 1); a.Age != 71 || a.AgeSD != 0 {
		t.Fatalf("with min_age 1: %+v", a)
	}
	if a := DecodeFaceAttributes([]float32{1.5}, make([]float32, 100), 1); a.Male != -1 || a.Age != -1 {
		t.Fatalf("no distribution, gender out of range: %+v", a)
	}
}
