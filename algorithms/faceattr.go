package algorithms

import (
	"fmt"
	"math"
	"strconv"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models/decode"
)

// FaceAttrModel is the second-stage model face capture estimates gender and age with.
const FaceAttrModel = "faceres"

// Face attributes (Capture.Attributes) for GA/T 1400 Face GenderCode, AgeLowerLimit
// and AgeUpLimit; each is absent when the estimate is not sure enough.
const (
	AttrGender   = "gender"    // gat1400.GenderMale or GenderFemale
	AttrAgeLower = "age_lower" // years
	AttrAgeUpper = "age_upper" // years
)

const (
	// faceGenderSure: a gender is written only when the model's probability is at
	// least this far from 0.5 (p ≥ 0.8 or ≤ 0.2). Records are searched by it, and an
	// analyst filtering on women must not get a coin toss.
	faceGenderSure = 0.3
	// faceAgeHalfMin is the least half-width of the age range: the model's error on
	// adult faces is several years even when its distribution is narrow.
	faceAgeHalfMin = 5
)

// FaceAttributer is the optional part of a Runner that estimates face attributes;
// a runner without it leaves faces without gender and age.
type FaceAttributer interface {
	FaceAttributes(model string, imgs []gocv.Mat) ([]decode.FaceAttributes, error)
}

// FaceAttrs maps a model's estimate to the GA/T 1400 fields: the gender code when
// sure (faceGenderSure), and the age range mean ± max(SD, 5) years, clamped at 0.
func FaceAttrs(a decode.FaceAttributes) map[string]string {
	out := map[string]string{}
	switch {
	case a.Male < 0:
	case a.Male >= 0.5+faceGenderSure:
		out[AttrGender] = string(gat1400.GenderMale)
	case a.Male <= 0.5-faceGenderSure:
		out[AttrGender] = string(gat1400.GenderFemale)
	}
	if a.Age >= 0 {
		half := math.Max(float64(a.AgeSD), faceAgeHalfMin)
		out[AttrAgeLower] = strconv.Itoa(int(math.Max(0, math.Round(float64(a.Age)-half))))
		out[AttrAgeUpper] = strconv.Itoa(int(math.Round(float64(a.Age) + half)))
	}
	return out
}

// EstimateFace aligns the face as for the embedding (AlignFace) and estimates its
// gender and age with FaceAttrModel.
func EstimateFace(run FaceAttributer, img gocv.Mat, d decode.Detection) (map[string]string, error) {
	chip, err := AlignFace(img, d)
	if err != nil {
		return nil, err
	}
	defer chip.Close()
	as, err := run.FaceAttributes(FaceAttrModel, []gocv.Mat{chip})
	if err != nil {
		return nil, err
	}
	if len(as) != 1 {
		return nil, fmt.Errorf("%s returned %d estimates for 1 face", FaceAttrModel, len(as))
	}
	return FaceAttrs(as[0]), nil
}
