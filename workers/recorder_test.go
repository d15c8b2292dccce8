package workers

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/auth"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/decode"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/testdata"
	"github.com/cityeye/cityeye/workers/plan"
)

func newTestRecorder(t testing.TB) *Recorder {
	t.Helper()
	dir := t.TempDir()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	objs, err := objects.NewLocal(filepath.Join(dir, "objects"), "")
	if err != nil {
		t.Fatal(err)
	}
	return NewRecorder(db, objs, nil)
}

var (
	recStream = store.Stream{ID: "44150200001310000001", AdminDivision: "441502"}
	recTask   = plan.TaskPlan{Task: store.Task{ID: "task-1", DeptID: "police"}}
)

func capture(kind, label, key string, attrs map[string]string) algorithms.Capture {
	t := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	return algorithms.Capture{TrackKey: key, Kind: kind, Label: label, Box: decode.Box{X1: 100, Y1: 80, X2: 420, Y2: 300}, Score: 0.8,
		Frame: gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3), Shot: t, Appear: t, Attributes: attrs}
}

func savedBody(t *testing.T, r *Recorder, c algorithms.Capture) (string, map[string]any) {
	t.Helper()
	defer c.Frame.Close()
	if err := r.Save(context.Background(), recStream, recTask, c); err != nil {
		t.Fatal(err)
	}
	recs, _, err := r.DB.ListRecords(context.Background(), store.RecordFilter{Scope: auth.Scope{All: true}, Type: c.Kind, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.TrackKey == c.TrackKey {
			var m map[string]any
			if err := json.Unmarshal(rec.Body, &m); err != nil {
				t.Fatal(err)
			}
			return rec.ID, m
		}
	}
	t.Fatalf("no record for %s", c.TrackKey)
	return "", nil
}

// A vehicle's plate and colours reach the GA/T 1400 body under the standard's field
// names and codes; a vehicle without a valid plate says HasPlate false and no more.
func TestRecorderVehicleFields(t *testing.T) {
	r := newTestRecorder(t)
	_, b := savedBody(t, r, capture("MotorVehicle", "car", "k/1", map[string]string{
		algorithms.AttrPlateNo: "粤B12345", algorithms.AttrPlateColor: algorithms.ColorBlue, algorithms.AttrPlateReliability: "63",
		algorithms.AttrVehicleColor: algorithms.ColorBlack, algorithms.AttrVehicleColorDepth: "dark"}))
	want := map[string]any{"HasPlate": true, "PlateNo": "粤B12345", "PlateColor": "5", "PlateReliability": 63.0,
		"VehicleColor": "1", "VehicleColorDepth": "0", "VehicleClass": "K33"}
	for k, v := range want {
		if b[k] != v {
			t.Errorf("%s = %#v, want %#v (body %v)", k, b[k], v, b)
		}
	}
	_, b = savedBody(t, r, capture("MotorVehicle", "truck", "k/2", map[string]string{algorithms.AttrVehicleColor: "silver"}))
	if b["HasPlate"] != false || b["VehicleColor"] != "99" || b["VehicleClass"] != "H11" {
		t.Errorf("unplated truck of an unknown colour: %v", b)
	}
	for _, k := range []string{"PlateNo", "PlateColor", "PlateReliability", "VehicleColorDepth"} {
		if _, ok := b[k]; ok {
			t.Errorf("%s written without a plate or colour: %v", k, b)
		}
	}
	_, b = savedBody(t, r, capture("MotorVehicle", "bus", "k/3", map[string]string{algorithms.AttrVehicleColor: algorithms.ColorYellow, algorithms.AttrVehicleColorDepth: "light"}))
	if b["VehicleClass"] != "K11" || b["VehicleColor"] != "6" || b["VehicleColorDepth"] != "1" {
		t.Errorf("yellow bus: %v", b)
	}
}

// A person's clothing colours reach Person CoatColor and TrousersColor as ColorType
// codes; unclassified ones are left out.
func TestRecorderPersonClothing(t *testing.T) {
	r := newTestRecorder(t)
	_, b := savedBody(t, r, capture("Person", "person", "p/1", map[string]string{
		algorithms.AttrCoatColor: algorithms.ColorRed, algorithms.AttrTrousersColor: algorithms.ColorBlue}))
	if b["CoatColor"] != "4" || b["TrousersColor"] != "5" {
		t.Errorf("red coat, blue trousers: %v", b)
	}
	_, b = savedBody(t, r, capture("Person", "person", "p/2", nil))
	if _, ok := b["CoatColor"]; ok {
		t.Errorf("CoatColor without a colour: %v", b)
	}
}

// A face's gender and age range reach Face GenderCode, AgeLowerLimit and AgeUpLimit,
// and search finds the record by them; faces without an estimate leave them out.
func TestRecorderFaceAttributes(t *testing.T) {
	r := newTestRecorder(t)
	c := capture("Face", "face", "fa/1", map[string]string{algorithms.AttrGender: "2", algorithms.AttrAgeLower: "58", algorithms.AttrAgeUpper: "72"})
	id, b := savedBody(t, r, c)
	if b["GenderCode"] != "2" || b["AgeLowerLimit"] != 58.0 || b["AgeUpLimit"] != 72.0 {
		t.Errorf("woman of 58-72: %v", b)
	}
	p, err := r.DB.SearchRecords(context.Background(), store.SearchQuery{Scope: auth.Scope{All: true}, Gender: "2", AgeBand: "60",
		From: c.Shot.Add(-time.Minute), To: c.Shot.Add(time.Minute)})
	if err != nil || len(p.Records) != 1 || p.Records[0].ID != id {
		t.Errorf("search by gender and age: %+v %v", p.Records, err)
	}
	_, b = savedBody(t, r, capture("Face", "face", "fa/2", nil))
	for _, k := range []string{"GenderCode", "AgeLowerLimit", "AgeUpLimit"} {
		if _, ok := b[k]; ok {
			t.Errorf("%s without an estimate: %v", k, b)
		}
	}
}

// A face's feature is stored beside its record, not in the GA/T body; an update of
// the track replaces it; search finds the record within the caller's scope only.
func TestRecorderFaceFeature(t *testing.T) {
	r := newTestRecorder(t)
	ctx := context.Background()
	vec := func(i int) []float32 {
		v := make([]float32, 192)
		v[i] = 1
		return v
	}
	c := capture("Face", "face", "f/1", map[string]string{algorithms.AttrKeypoints: "[[1,2],[3,4]]", algorithms.AttrFaceQuality: `{"pose":0.9}`})
	c.Feature, c.Quality = vec(0), 0.8
	id, b := savedBody(t, r, c)
	for k := range b {
		if strings.Contains(strings.ToLower(k), "feature") {
			t.Errorf("GA/T body carries %s", k)
		}
	}
	f, err := r.DB.GetFeature(ctx, id)
	if err != nil || f.Model != algorithms.FaceEmbedModel || len(f.Vector) != 192 || f.Vector[0] != 1 || f.Quality < 0.79 || f.Attrs[algorithms.AttrKeypoints] != "[[1,2],[3,4]]" {
		t.Fatalf("feature %+v %v", f, err)
	}
	c2 := capture("Face", "face", "f/1", nil)
	c2.Feature, c2.Quality, c2.Final = vec(1), 0.9, true
	if id2, _ := savedBody(t, r, c2); id2 != id {
		t.Fatalf("the track's update made record %s, not %s", id2, id)
	}
	if f, _ := r.DB.GetFeature(ctx, id); f.Vector[1] != 1 || f.Vector[0] != 0 {
		t.Fatalf("feature not replaced: %v", f.Vector[:2])
	}
	q := store.FeatureQuery{Scope: auth.Scope{Dept: "police", Areas: []string{"441500"}}, Type: "Face", Model: algorithms.FaceEmbedModel, Vector: vec(1), TopK: 5}
	m, n, _, err := r.DB.SearchFeatures(ctx, q)
	if err != nil || n != 1 || len(m) != 1 || m[0].RecordID != id || m[0].Score < 0.999 || len(m[0].Images) != 2 {
		t.Fatalf("search %+v %d %v", m, n, err)
	}
	q.Scope = auth.Scope{Dept: "market", Areas: []string{"441502"}}
	if m, n, _, _ := r.DB.SearchFeatures(ctx, q); len(m) != 0 || n != 0 {
		t.Fatalf("another department found %+v", m)
	}
}

func TestVehicleClassAndColorCodes(t *testing.T) {
	for label, want := range map[string]string{"car": "K33", "bus": "K11", "truck": "H11", "motorcycle": ""} {
		if vehicleClasses[label] != want {
			t.Errorf("%s → %q, want %q", label, vehicleClasses[label], want)
		}
	}
	for name, want := range map[string]gat1400.ColorType{algorithms.ColorBlue: "5", algorithms.ColorYellow: "6", algorithms.ColorGreen: "9",
		algorithms.ColorWhite: "2", algorithms.ColorBlack: "1", algorithms.ColorGrey: "3", "": "", "silver": ""} {
		if got := colorCode(name); got != want {
			t.Errorf("colour %q → %q, want %q", name, got, want)
		}
	}
}

type embedOnly struct{ m *models.Model }

func (r embedOnly) Embed(_ string, imgs []gocv.Mat) ([][]float32, error) { return r.m.Embed(imgs) }
func (r embedOnly) ReadText(gocv.Mat) ([]algorithms.TextLine, error)     { return nil, nil }

// Face capture on the real clip through the recorder: Grace Hopper's portrait passes
// the camera three times (5 fps, real BlazeFace detections): three Face records, not
// one per frame, each with its face crop and scene and its feature beside it.
func TestFaceClipRecords(t *testing.T) {
	r := newTestRecorder(t)
	ctx := context.Background()
	det := testdata.Model(t, "blazeface-back")
	run := embedOnly{testdata.Model(t, algorithms.FaceEmbedModel)}
	spec, _ := algorithms.Lookup("face_capture")
	alg, _ := spec.New("task-1", algorithms.Params{SampleFPS: 5})
	vc, err := gocv.VideoCaptureFile(testdata.Media(t, "faceclip.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	save := func(out algorithms.Output) {
		for _, c := range out.Captures {
			if err := r.Save(ctx, recStream, recTask, c); err != nil {
				t.Fatal(err)
			}
			c.Frame.Close()
		}
	}
	frames, captures := 0, 0
	for i := 0; vc.Read(&img) && !img.Empty(); i++ {
		if i%5 != 0 { // 25 fps sampled at 5
			continue
		}
		found, err := det.Detect([]gocv.Mat{img})
		if err != nil {
			t.Fatal(err)
		}
		out := alg.Process(algorithms.Frame{Time: t0.Add(time.Duration(frames) * 200 * time.Millisecond), Mat: img, Run: run}, map[string][]decode.Detection{"blazeface-back": found[0]})
		frames++
		captures += len(out.Captures)
		save(out)
	}
	out := alg.Close()
	captures += len(out.Captures)
	save(out)
	recs, total, err := r.DB.ListRecords(ctx, store.RecordFilter{Scope: auth.Scope{All: true}, Type: "Face", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames, %d captures, %d Face records", frames, captures, total)
	if total != 3 {
		t.Fatalf("%d Face records, want 3 (one per pass of the face)", total)
	}
	for _, rec := range recs {
		var face gat1400.Face
		if err := json.Unmarshal(rec.Body, &face); err != nil || face.Validate() != nil || len(face.SubImageList.SubImageInfoObject) != 2 ||
			face.SubImageList.SubImageInfoObject[1].Type != gat1400.ImageFace || face.FaceDisAppearTime == "" {
			t.Fatalf("record %s: %s", rec.ID, rec.Body)
		}
		for _, k := range rec.Images {
			if _, err := r.Objects.Get(ctx, k); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
		}
		f, err := r.DB.GetFeature(ctx, rec.ID)
		if err != nil || len(f.Vector) != 192 || f.Quality <= 0 || f.Attrs[algorithms.AttrKeypoints] == "" {
			t.Fatalf("feature of %s: %+v %v", rec.ID, f, err)
		}
	}
}

// Issue 23 item 3: what second-stage models put in a capture's attributes reaches
// the GA/T 1400 fields: a vehicle-type classifier's VehicleClass, a person-attribute
// model's gender (its labels male/female too), age range, hair and cap colours; a
// label that is no code is left out rather than making the record invalid.
func TestRecorderSecondStageFields(t *testing.T) {
	r := newTestRecorder(t)
	_, b := savedBody(t, r, capture("MotorVehicle", "car", "s/1", map[string]string{algorithms.AttrVehicleClass: "K31"}))
	if b["VehicleClass"] != "K31" {
		t.Errorf("classified SUV: %v", b["VehicleClass"])
	}
	_, b = savedBody(t, r, capture("Person", "person", "s/2", map[string]string{algorithms.AttrGender: "female",
		algorithms.AttrAgeLower: "20", algorithms.AttrAgeUpper: "30", algorithms.AttrHairColor: algorithms.ColorBlack, algorithms.AttrCapColor: "white"}))
	want := map[string]any{"GenderCode": "2", "AgeLowerLimit": 20.0, "AgeUpLimit": 30.0, "HairColor": "1", "CapColor": "2"}
	for k, v := range want {
		if b[k] != v {
			t.Errorf("%s = %#v, want %#v (body %v)", k, b[k], v, b)
		}
	}
	_, b = savedBody(t, r, capture("Person", "person", "s/3", map[string]string{algorithms.AttrGender: "robot"}))
	if _, ok := b["GenderCode"]; ok {
		t.Errorf("GenderCode from an unknown label: %v", b)
	}
}
