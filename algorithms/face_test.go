package algorithms

import (
	"image"
	"math"
	"sort"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/testdata"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// The quality factors respond to what they claim to measure, on Grace Hopper's
// portrait: blur lowers sharpness, a turned head (nose off the eyes' midline) lowers
// pose, a box on the frame edge halves the score.
func TestFaceQualityFactors(t *testing.T) {
	img := readImage(t, "grace_hopper_512x512.jpg")
	det := testdata.Model(t, "blazeface-front")
	found, err := det.Detect([]gocv.Mat{img})
	if err != nil || len(found[0]) != 1 {
		t.Fatalf("faces %v %v", found, err)
	}
	d := found[0][0]
	q := FaceQuality(img, d)
	t.Logf("portrait: %+v", q)
	if q.Size != 1 || q.Sharpness < 0.9 || q.Pose < 0.85 || q.Edge != 1 || q.Yaw > 0.05 {
		t.Fatalf("a sharp frontal 200-pixel face: %+v", q)
	}
	if want := q.Detection * q.Size * q.Sharpness * q.Pose * q.Edge; math.Abs(float64(q.Total-want)) > 1e-6 {
		t.Fatalf("total %v is not the product %v", q.Total, want)
	}
	blurred := gocv.NewMat()
	defer blurred.Close()
	gocv.GaussianBlur(img, &blurred, image.Pt(21, 21), 6, 6, gocv.BorderDefault)
	if b := FaceQuality(blurred, d); b.Sharpness > q.Sharpness/2 || b.Total >= q.Total {
		t.Fatalf("blurred %+v vs sharp %+v", b, q)
	}
	turned := d
	turned.Keypoints = append([][2]float32(nil), d.Keypoints...)
	re, le := d.Keypoints[KeypointRightEye], d.Keypoints[KeypointLeftEye]
	turned.Keypoints[KeypointNose][0] += 0.3 * (le[0] - re[0]) // nose a third of the eye distance off centre
	if p := FaceQuality(img, turned); p.Yaw < 0.25 || p.Pose > 0.5 {
		t.Fatalf("turned head %+v", p)
	}
	small := d
	small.Box = decode.Box{X1: 0, Y1: 100, X2: 56, Y2: 156}
	if s := FaceQuality(img, small); s.Edge != 0.5 || math.Abs(float64(s.Size)-0.5) > 1e-6 {
		t.Fatalf("small face on the edge %+v", s)
	}
	chip, err := AlignFace(img, d)
	if err != nil {
		t.Fatal(err)
	}
	defer chip.Close()
	if chip.Cols() != FaceChipSize || chip.Rows() != FaceChipSize || chip.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("chip %dx%d type %v", chip.Cols(), chip.Rows(), chip.Type())
	}
}

// faceCandidate is one detection the capture saw, with its quality.
type faceCandidate struct {
	t time.Time
	q float32
}

// Face capture on the real clip (faceclip.mp4: Grace Hopper's portrait panned across
// the frame three times, leaving the view for more than two seconds in between),
// sampled at 5 fps with the real BlazeFace detections and the real embedding model:
// one record per pass (not per frame), each with the best shot of its pass by the
// stated score, and its feature computed on emitted best shots only.
func TestFaceCaptureRealClip(t *testing.T) {
	frames := videoFrames(t, "faceclip.mp4", 5)
	det := testdata.Model(t, "blazeface-back")
	run := &testRunner{emb: testdata.Model(t, FaceEmbedModel)}
	spec, _ := Lookup("face_capture")
	alg, err := spec.New("task-face", Params{SampleFPS: 5})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	var caps []Capture
	var cands []faceCandidate
	withFace := 0
	for i, f := range frames {
		ft := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		found, err := det.Detect([]gocv.Mat{f})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range found[0] {
			if d.Score >= 0.6 {
				cands = append(cands, faceCandidate{ft, FaceQuality(f, d).Total})
			}
		}
		if len(found[0]) > 0 {
			withFace++
		}
		caps = append(caps, alg.Process(Frame{StreamID: "s", Seq: uint64(i), Time: ft, Mat: f, Run: run}, map[string][]decode.Detection{"blazeface-back": found[0]}).Captures...)
	}
	caps = append(caps, alg.Close().Captures...)
	defer func() {
		for _, c := range caps {
			c.Frame.Close()
		}
	}()
	tracks := map[string][]Capture{}
	var order []string
	for _, c := range caps {
		if c.Kind != "Face" {
			t.Fatalf("capture of kind %s", c.Kind)
		}
		if tracks[c.TrackKey] == nil {
			order = append(order, c.TrackKey)
		}
		tracks[c.TrackKey] = append(tracks[c.TrackKey], c)
	}
	t.Logf("%d sampled frames, %d with a face, %d captures in %d tracks, %d embeddings", len(frames), withFace, len(caps), len(tracks), run.embeds)
	if len(tracks) != 3 {
		t.Fatalf("%d tracks, want 3 (the face passes three times)", len(tracks))
	}
	var finals []Capture
	for _, key := range order {
		cs := tracks[key]
		last := cs[len(cs)-1]
		for i, c := range cs {
			if c.Final != (i == len(cs)-1) {
				t.Fatalf("track %s: capture %d Final=%v", key, i, c.Final)
			}
		}
		if len(cs) > 4 {
			t.Fatalf("track %s: %d captures; updates are not throttled", key, len(cs))
		}
		// the best shot is the candidate of highest quality within the track
		var mine []faceCandidate
		for _, c := range cands {
			if !c.t.Before(last.Appear) && !c.t.After(last.Disappear) {
				mine = append(mine, c)
			}
		}
		sort.Slice(mine, func(i, j int) bool { return mine[i].q > mine[j].q })
		if len(mine) == 0 || last.Quality != mine[0].q || !last.Shot.Equal(mine[0].t) {
			t.Fatalf("track %s: best shot quality %.4f at %v; the best candidate of %d is %+v", key, last.Quality, last.Shot, len(mine), mine[0])
		}
		t.Logf("track %s: %d candidates, qualities %.3f (best) … %.3f; %d captures; best shot at %v", key[len(key)-2:], len(mine), mine[0].q, mine[len(mine)-1].q, len(cs), last.Shot.Sub(t0))
		if len(last.Feature) != 192 || math.Abs(norm(last.Feature)-1) > 1e-4 {
			t.Fatalf("track %s: feature of %d values, norm %.4f", key, len(last.Feature), norm(last.Feature))
		}
		if last.Attributes[AttrKeypoints] == "" || last.Attributes[AttrFaceQuality] == "" {
			t.Fatalf("attributes %v", last.Attributes)
		}
		finals = append(finals, last)
	}
	// second stage on emitted best shots only: never more embeddings than captures,
	// far fewer than frames with a face
	if run.embeds > len(caps) || run.embeds*2 > withFace {
		t.Fatalf("%d embeddings for %d captures and %d frames with a face", run.embeds, len(caps), withFace)
	}
	// the three passes are the same person
	for i := range finals {
		for j := i + 1; j < len(finals); j++ {
			if c := decode.Cosine(finals[i].Feature, finals[j].Feature); c < 0.9 {
				t.Errorf("passes %d and %d: cosine %.3f, the same face", i, j, c)
			}
		}
	}
}

// Grace Hopper's faces (the portrait, and the clip made from it) rank above every
// other face in the test media (the animated faces of Megamind.avi: the only other
// faces there are) when searched with the portrait, as face search does.
func TestFaceEmbeddingRanksSamePersonFirst(t *testing.T) {
	back, front := testdata.Model(t, "blazeface-back"), testdata.Model(t, "blazeface-front")
	run := &testRunner{emb: testdata.Model(t, FaceEmbedModel)}
	embed := func(det interface {
		Detect([]gocv.Mat) ([][]decode.Detection, error)
	}, img gocv.Mat, minW float32) [][]float32 {
		found, err := det.Detect([]gocv.Mat{img})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]float32
		for _, d := range found[0] {
			if d.Box.W() < minW {
				continue
			}
			v, err := EmbedFace(run, img, d)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	probe := embed(front, readImage(t, "grace_hopper_512x512.jpg"), 0)
	if len(probe) != 1 {
		t.Fatalf("%d faces in the portrait", len(probe))
	}
	var same, other []float32
	for _, f := range videoFrames(t, "faceclip.mp4", 10) {
		for _, v := range embed(back, f, 0) {
			same = append(same, decode.Cosine(probe[0], v))
		}
	}
	// every 15th frame of the trailer; faces under 100 px are a blurred extra in the background
	for _, f := range videoFrames(t, "Megamind.avi", 15) {
		for _, v := range embed(back, f, 100) {
			other = append(other, decode.Cosine(probe[0], v))
		}
	}
	sort.Slice(same, func(i, j int) bool { return same[i] < same[j] })
	sort.Slice(other, func(i, j int) bool { return other[i] > other[j] })
	t.Logf("Grace Hopper vs her %d clip faces: cosine %.3f (worst) … %.3f; vs %d other faces: %.3f (best) … %.3f",
		len(same), same[0], same[len(same)-1], len(other), other[0], other[len(other)-1])
	if len(same) < 5 || len(other) < 10 {
		t.Fatalf("%d same, %d other faces found", len(same), len(other))
	}
	if same[0] <= other[0] {
		t.Fatalf("a different person (%.3f) ranks above one of Grace Hopper's faces (%.3f)", other[0], same[0])
	}
}
