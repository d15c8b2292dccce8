package algorithms

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// BlazeFace keypoints, in the order the detector outputs them. "Right" is the
// subject's right, which is on the image's left in a frontal face.
const (
	KeypointRightEye = 0
	KeypointLeftEye  = 1
	KeypointNose     = 2
	KeypointMouth    = 3
	KeypointRightEar = 4
	KeypointLeftEar  = 5
)

// FaceEmbedModel is the second-stage model face capture and face search embed with.
const FaceEmbedModel = "mobilefacenet"

// FaceChipSize is the side of the aligned face image the embedding model takes.
const FaceChipSize = 112

// Face quality constants (see FaceQuality).
const (
	faceSizeFull  = 112   // a face this many pixels across (√area) scores full size
	faceSharpHalf = 500.0 // Laplacian variance at which sharpness scores 0.5
	faceSharpSide = 112   // sharpness is measured on the face resized to this side
)

// FaceQualityScore breaks a face's quality into its factors.
type FaceQualityScore struct {
	Total     float32 `json:"total"`
	Detection float32 `json:"detection"` // detector confidence
	Size      float32 `json:"size"`      // min(1, √area / 112)
	Sharpness float32 `json:"sharpness"` // v / (v + 500), v = variance of the Laplacian
	Pose      float32 `json:"pose"`      // (1 - 2·yaw) · (1 - |roll| / 90°), clamped to [0,1]
	Edge      float32 `json:"edge"`      // 0.5 when the box touches the frame edge, else 1
	Laplacian float32 `json:"laplacian"` // v itself
	Yaw       float32 `json:"yaw"`       // nose offset from the eye midpoint along the eye line, in eye distances
	Roll      float32 `json:"roll"`      // eye-line angle in degrees
}

// FaceQuality scores how good a face detection is as the best shot of its track:
//
//	Q = conf × size × sharp × pose × edge
//
//	conf  = the detector's score
//	size  = min(1, √(box area) / 112): larger faces are better up to the 112-pixel
//	        input of the embedding model, beyond which size adds nothing
//	sharp = v / (v + 500), v = variance of the Laplacian (3×3 kernel) of the grey
//	        face box resized to 112×112, so that it measures focus and motion blur
//	        independently of the face's size. Measured on that scale: sharp photos
//	        of faces 4 000-15 000, Megamind.avi's animated faces 2 000-9 000, the
//	        portrait blurred with σ = 6 px about 200 (sharp 0.29), an out-of-focus
//	        face in the background about 25 (0.05)
//	pose  = max(0, 1 − 2·yaw) × max(0, 1 − |roll|/90°), from the keypoints:
//	        yaw  = |(nose − eye midpoint) · u| / d, u the unit vector from the right
//	               eye to the left eye and d the eye distance: 0 for a frontal face,
//	               ≥ 0.5 (pose 0) for a profile
//	        roll = the eye line's angle to the horizontal; alignment undoes roll, so
//	               it costs little (−11 % at 10°)
//	edge  = 0.5 when the box touches the frame border (the face is likely cut off)
//
// All factors are in [0,1], so Q is too. Without keypoints pose is 1.
func FaceQuality(img gocv.Mat, d decode.Detection) FaceQualityScore {
	q := FaceQualityScore{Detection: d.Score, Edge: 1, Pose: 1}
	w, h := img.Cols(), img.Rows()
	q.Size = float32(math.Min(1, math.Sqrt(float64(d.Box.Area()))/faceSizeFull))
	if d.Box.X1 <= 1 || d.Box.Y1 <= 1 || d.Box.X2 >= float32(w-1) || d.Box.Y2 >= float32(h-1) {
		q.Edge = 0.5
	}
	q.Laplacian = float32(laplacianVariance(img, d.Box))
	q.Sharpness = q.Laplacian / (q.Laplacian + faceSharpHalf)
	if len(d.Keypoints) >= 4 {
		re, le, nose := d.Keypoints[KeypointRightEye], d.Keypoints[KeypointLeftEye], d.Keypoints[KeypointNose]
		dx, dy := float64(le[0]-re[0]), float64(le[1]-re[1])
		dist := math.Hypot(dx, dy)
		if dist > 0 {
			ux, uy := dx/dist, dy/dist
			mx, my := float64(re[0]+le[0])/2, float64(re[1]+le[1])/2
			q.Yaw = float32(math.Abs((float64(nose[0])-mx)*ux+(float64(nose[1])-my)*uy) / dist)
			q.Roll = float32(math.Atan2(dy, dx) * 180 / math.Pi)
			q.Pose = float32(math.Max(0, 1-2*float64(q.Yaw)) * math.Max(0, 1-math.Abs(float64(q.Roll))/90))
		} else {
			q.Pose = 0
		}
	}
	q.Total = q.Detection * q.Size * q.Sharpness * q.Pose * q.Edge
	return q
}

// laplacianVariance is the variance of the Laplacian of the grey box region resized
// to faceSharpSide², 0 for an empty region.
func laplacianVariance(img gocv.Mat, b decode.Box) float64 {
	r := image.Rect(int(b.X1), int(b.Y1), int(b.X2+0.5), int(b.Y2+0.5)).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
	if r.Dx() < 2 || r.Dy() < 2 {
		return 0
	}
	roi := img.Region(r)
	defer roi.Close()
	grey := gocv.NewMat()
	defer grey.Close()
	if roi.Channels() == 3 {
		gocv.CvtColor(roi, &grey, gocv.ColorBGRToGray)
	} else {
		roi.CopyTo(&grey)
	}
	interp := gocv.InterpolationLinear
	if r.Dx() > faceSharpSide {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(grey, &grey, image.Pt(faceSharpSide, faceSharpSide), 0, 0, interp)
	lap := gocv.NewMat()
	defer lap.Close()
	gocv.Laplacian(grey, &lap, gocv.MatTypeCV64F, 3, 1, 0, gocv.BorderDefault)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(lap, &mean, &std)
	s := std.GetDoubleAt(0, 0)
	return s * s
}

// faceChipGrow is the side of the face chip relative to the detection box's longer
// side: the crop keeps some hair, chin and background around the face.
const faceChipGrow = 1.3

// AlignFace cuts the 112×112 face chip the embedding model takes out of img: a
// square of 1.3 × the box's longer side centred on the box, rotated so that the eye
// line is level (roll undone) when the detection has keypoints. The caller closes it.
//
// On the test media this loose, roll-corrected crop separated the same person from
// others better than a tight crop or a five-point (ArcFace template) alignment.
func AlignFace(img gocv.Mat, d decode.Detection) (gocv.Mat, error) {
	if img.Empty() {
		return gocv.NewMat(), fmt.Errorf("empty image")
	}
	side := faceChipGrow * math.Max(float64(d.Box.W()), float64(d.Box.H()))
	if side <= 0 {
		return gocv.NewMat(), fmt.Errorf("empty face box")
	}
	roll := 0.0
	if len(d.Keypoints) >= 2 {
		re, le := d.Keypoints[KeypointRightEye], d.Keypoints[KeypointLeftEye]
		if le[0] != re[0] || le[1] != re[1] {
			roll = math.Atan2(float64(le[1]-re[1]), float64(le[0]-re[0]))
		}
	}
	// chip = s·R(−roll)·(p − c) + (56, 56)
	s := FaceChipSize / side
	a, b := s*math.Cos(-roll), s*math.Sin(-roll)
	cx, cy := float64(d.Box.X1+d.Box.X2)/2, float64(d.Box.Y1+d.Box.Y2)/2
	half := float64(FaceChipSize) / 2
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	for i, v := range []float64{a, -b, half - (a*cx - b*cy), b, a, half - (b*cx + a*cy)} {
		m.SetDoubleAt(i/3, i%3, v)
	}
	chip := gocv.NewMat()
	gocv.WarpAffineWithParams(img, &chip, m, image.Pt(FaceChipSize, FaceChipSize), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
	return chip, nil
}

// EmbedFace aligns the face and embeds it with FaceEmbedModel through run.
//
// The feature is normalise(e(chip) − e(grey)) with e the model's L2-normalised
// output and grey a uniform mid-grey chip, embedded in the same batch. The starter
// mobilefacenet's outputs are dominated by one constant direction: any two faces,
// of the same person or not, have cosine ≥ 0.9999, so scores would be meaningless.
// Subtracting the embedding of a face-less image removes that direction (it is a
// property of the model, not fitted to any data, and follows the model if a new
// version is published); what remains separates people: on the test media Grace
// Hopper's portrait has cosine 0.88-0.96 with her faces in faceclip.mp4 and at most
// 0.57 with the animated faces of Megamind.avi (raw outputs: all ≥ 0.9999). For a model without that defect the grey image embeds far
// from every face and the subtraction changes little. The result is L2-normalised,
// so features compare by dot product (cosine).
func EmbedFace(run Runner, img gocv.Mat, d decode.Detection) ([]float32, error) {
	chip, err := AlignFace(img, d)
	if err != nil {
		return nil, err
	}
	defer chip.Close()
	grey := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), FaceChipSize, FaceChipSize, gocv.MatTypeCV8UC3)
	defer grey.Close()
	vs, err := run.Embed(FaceEmbedModel, []gocv.Mat{chip, grey})
	if err != nil {
		return nil, err
	}
	if len(vs) != 2 || len(vs[0]) == 0 || len(vs[0]) != len(vs[1]) {
		return nil, fmt.Errorf("%s returned no embedding", FaceEmbedModel)
	}
	face, ref := decode.L2Normalize(vs[0]), decode.L2Normalize(vs[1])
	for i := range face {
		face[i] -= ref[i]
	}
	return decode.L2Normalize(face), nil
}

// KeypointsJSON renders keypoints as [[x,y],…] rounded to 0.1 pixel.
func KeypointsJSON(kps [][2]float32) string {
	r := make([][2]float64, len(kps))
	for i, k := range kps {
		r[i] = [2]float64{math.Round(float64(k[0])*10) / 10, math.Round(float64(k[1])*10) / 10}
	}
	b, _ := json.Marshal(r)
	return string(b)
}
