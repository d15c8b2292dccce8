package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"strconv"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
	"github.com/cityeye/cityeye/store/objects"
	"github.com/cityeye/cityeye/workers/plan"
)

// Recorder turns captures into GA/T 1400 records with a scene image (Type 14) and a
// crop (11 face, 10 person, 09 vehicle, 12 non-motor) and stores them with the
// store's crash-safe protocol (recorder_write.go); with a Spool, what storage cannot
// take now waits on the worker's disk and is written when it returns. One record per tracked object: later captures of the
// same object update it in place. Motor vehicles carry the plate and colours the
// algorithm found (vehicleFields); a face's feature is stored beside its record
// (store.SaveFeature), after the record, for search by photo.
type Recorder struct {
	DB      *store.DB
	Objects objects.Store
	Loc     *time.Location
	Quality int // JPEG quality (default 90)
	// OnAlert is told of every stored alert (the notifier and live feeds subscribe here).
	OnAlert func(store.Alert)
	// Spool, when set, keeps the writes storage cannot take (see Spool); nil: such a
	// write fails and is lost, as Save's error says.
	Spool *Spool

	offline offlineSerials // IDs while the database is away (serials)

	mu     sync.Mutex
	tracks map[string]*trackRecord
}

type trackRecord struct {
	id, sourceID string
	version      int
}

// NewRecorder creates a recorder.
func NewRecorder(db *store.DB, objs objects.Store, loc *time.Location) *Recorder {
	if loc == nil {
		loc = gat1400.Location
	}
	return &Recorder{DB: db, Objects: objs, Loc: loc, Quality: 90, tracks: map[string]*trackRecord{}}
}

var kinds = map[string]struct {
	sub   gat1400.Subtype
	crop  gat1400.ImageType
	event gat1400.EventSort
}{
	"Face":            {gat1400.SubtypeFace, gat1400.ImageFace, gat1400.EventFaceDetection},
	"Person":          {gat1400.SubtypePerson, gat1400.ImagePerson, gat1400.EventPedestrianDetection},
	"MotorVehicle":    {gat1400.SubtypeMotorVehicle, gat1400.ImageVehicleCloseUp, gat1400.EventVehicleDetection},
	"NonMotorVehicle": {gat1400.SubtypeNonMotorVehicle, gat1400.ImageNonMotorVehicle, gat1400.EventVehicleDetection},
}

// Save writes or updates the record of c's object.
func (r *Recorder) Save(ctx context.Context, st store.Stream, tp plan.TaskPlan, c algorithms.Capture) error {
	k, ok := kinds[c.Kind]
	if !ok {
		return fmt.Errorf("capture kind %q has no GA/T 1400 mapping", c.Kind)
	}
	shot := c.Shot.In(r.Loc)
	r.mu.Lock()
	tr := r.tracks[c.TrackKey]
	r.mu.Unlock()
	// image IDs: the first scene is the SourceID itself (as cameras do); later
	// versions and crops get their own serials under the same device and second.
	// Both serials of a save come from one statement (one commit, not two).
	serial, err := r.serials(ctx, st.ID, shot, 2)
	if err != nil {
		return err
	}
	sceneID := gat1400.SourceID(st.ID, gat1400.SourceImage, shot, serial)
	cropID := gat1400.SourceID(st.ID, gat1400.SourceImage, shot, serial+1)
	if tr == nil {
		tr = &trackRecord{id: gat1400.ContentID(sceneID, k.sub, 1), sourceID: sceneID}
	}
	tr.version++

	scene, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, c.Frame, []int{gocv.IMWriteJpegQuality, r.Quality})
	if err != nil {
		return fmt.Errorf("encode scene: %w", err)
	}
	defer scene.Close()
	rect := cropRect(c, c.Frame.Cols(), c.Frame.Rows())
	region := c.Frame.Region(rect)
	crop, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, region, []int{gocv.IMWriteJpegQuality, r.Quality})
	region.Close()
	if err != nil {
		return fmt.Errorf("encode crop: %w", err)
	}
	defer crop.Close()

	prefix := fmt.Sprintf("snapshots/%s/%s/%s-v%d", st.ID, shot.Format("20060102"), tr.id, tr.version)
	sceneKey, cropKey := prefix+"-scene.jpg", prefix+"-crop.jpg"
	ts := gat1400.FormatTime(shot)
	images := gat1400.NewSubImageList(
		gat1400.SubImageInfo{ImageID: sceneID, EventSort: k.event, DeviceID: st.ID, StoragePath: r.Objects.URI(sceneKey), Type: gat1400.ImageScene,
			FileFormat: gat1400.FormatJpeg, ShotTime: ts, Width: gat1400.FlexInt(c.Frame.Cols()), Height: gat1400.FlexInt(c.Frame.Rows())},
		gat1400.SubImageInfo{ImageID: cropID, EventSort: k.event, DeviceID: st.ID, StoragePath: r.Objects.URI(cropKey), Type: k.crop,
			FileFormat: gat1400.FormatJpeg, ShotTime: ts, Width: gat1400.FlexInt(rect.Dx()), Height: gat1400.FlexInt(rect.Dy())},
	)
	body, err := r.body(c, k.sub, tr, st.ID, images)
	if err != nil {
		return err
	}
	rec := &store.Record{ID: tr.id, Type: c.Kind, DeviceID: st.ID, TaskID: tp.Task.ID, DeptID: tp.Task.DeptID, Division: st.AdminDivision, GrantID: tp.GrantID, TrackKey: c.TrackKey,
		Longitude: st.Longitude, Latitude: st.Latitude, ShotTime: shot,
		Score: float64(c.Score), Body: body, Images: []string{sceneKey, cropKey}}

	e := &spoolEntry{Record: rec, Objects: []spoolObject{{sceneKey, scene.GetBytes()}, {cropKey, crop.GetBytes()}}, Feature: feature(c, tr.id)}
	err = r.commit(ctx, e)
	if err != nil && !e.saved {
		return err
	}
	// the record is committed or queued: the track's ID is settled (even when only
	// its feature failed, without a spool: the next capture writes it again)
	r.mu.Lock()
	if c.Final {
		delete(r.tracks, c.TrackKey)
	} else {
		r.tracks[c.TrackKey] = tr
	}
	r.mu.Unlock()
	return err
}

// feature is the face feature a capture carries, for its record (nil: none).
func feature(c algorithms.Capture, recordID string) *store.Feature {
	if len(c.Feature) == 0 {
		return nil
	}
	attrs := map[string]string{}
	for _, k := range []string{algorithms.AttrKeypoints, algorithms.AttrFaceQuality} {
		if v, ok := c.Attributes[k]; ok {
			attrs[k] = v
		}
	}
	return &store.Feature{RecordID: recordID, Model: featureModel(c), Vector: c.Feature, Quality: float64(c.Quality), Attrs: attrs}
}

// cropRect is the object's box grown by 10% on each side, inside the frame.
func cropRect(c algorithms.Capture, w, h int) image.Rectangle {
	mx, my := c.Box.W()*0.1, c.Box.H()*0.1
	r := image.Rect(int(c.Box.X1-mx), int(c.Box.Y1-my), int(c.Box.X2+mx+0.5), int(c.Box.Y2+my+0.5)).Intersect(image.Rect(0, 0, w, h))
	if r.Empty() {
		return image.Rect(0, 0, w, h)
	}
	return r
}

// featureModel names the model a capture's feature came from.
func featureModel(c algorithms.Capture) string {
	if c.Kind == "Face" {
		return algorithms.FaceEmbedModel
	}
	return c.Kind
}

// vehicleClasses maps detector labels to GA 24.4 vehicle types (VehicleClass). A
// COCO detector cannot tell weight classes or body styles apart: "car" is taken as
// the small sedan most cars are, "truck" as a heavy ordinary truck.
var vehicleClasses = map[string]string{
	"car":   gat1400.VehicleClassSmallSedan,
	"bus":   gat1400.VehicleClassLargeBus,
	"truck": gat1400.VehicleClassHeavyTruck,
}

// colorCode maps an algorithm's colour name to a ColorType ("" when unknown).
func colorCode(name string) gat1400.ColorType {
	c, _ := gat1400.ColorTypeByName(name)
	return c
}

// vehicleFields fills MotorVehicle's plate and vehicle fields from the capture:
// HasPlate, PlateNo, PlateColor and PlateReliability only for a plate that passed the
// format check and the vote (algorithms.PlateVote); VehicleColor (required: 99 other
// when unclassified), VehicleColorDepth ("0" dark, "1" light) and VehicleClass.
func vehicleFields(v *gat1400.MotorVehicle, c algorithms.Capture) {
	a := c.Attributes
	v.VehicleColor = gat1400.ColorOther
	if code := colorCode(a[algorithms.AttrVehicleColor]); code != "" {
		v.VehicleColor = code
		switch a[algorithms.AttrVehicleColorDepth] {
		case "dark":
			v.VehicleColorDepth = "0"
		case "light":
			v.VehicleColorDepth = "1"
		}
	}
	v.VehicleClass = vehicleClasses[c.Label]
	if vc := a[algorithms.AttrVehicleClass]; vc != "" { // a vehicle-type classifier on the crop (params.stage2)
		v.VehicleClass = vc
	}
	if p := a[algorithms.AttrPlateNo]; p != "" {
		v.HasPlate, v.PlateNo = true, p
		v.PlateColor = colorCode(a[algorithms.AttrPlateColor])
		if n, err := strconv.Atoi(a[algorithms.AttrPlateReliability]); err == nil {
			v.PlateReliability = gat1400.FlexInt(min(max(n, 0), 100))
		}
	}
}

func (r *Recorder) body(c algorithms.Capture, sub gat1400.Subtype, tr *trackRecord, device string, images gat1400.SubImageList) (json.RawMessage, error) {
	box := gat1400.Box{LeftTopX: gat1400.FlexInt(c.Box.X1), LeftTopY: gat1400.FlexInt(c.Box.Y1), RightBtmX: gat1400.FlexInt(c.Box.X2), RightBtmY: gat1400.FlexInt(c.Box.Y2)}
	appear := gat1400.FormatTime(c.Appear.In(r.Loc))
	gone := ""
	if !c.Disappear.IsZero() {
		gone = gat1400.FormatTime(c.Disappear.In(r.Loc))
	}
	shot := gat1400.FormatTime(c.Shot.In(r.Loc))
	var obj interface{ Validate() error }
	switch sub {
	case gat1400.SubtypeFace:
		obj = gat1400.Face{FaceID: tr.id, InfoKind: gat1400.InfoKindAuto, SourceID: tr.sourceID, DeviceID: device, Box: box,
			FaceAppearTime: appear, FaceDisAppearTime: gone, ShotTime: shot, StatusFlags: gat1400.UncertainFlags(), SubImageList: images,
			// gender and age range of the best shot (algorithms.EstimateFace), omitted when not estimated
			GenderCode: gat1400.GenderCode(c.Attributes[algorithms.AttrGender]), AgeLowerLimit: years(c.Attributes[algorithms.AttrAgeLower]),
			AgeUpLimit: years(c.Attributes[algorithms.AttrAgeUpper])}
	case gat1400.SubtypePerson:
		// clothing colours of the best shot (algorithms.ClothingColors), omitted when unclassified
		obj = gat1400.Person{PersonID: tr.id, InfoKind: gat1400.InfoKindAuto, SourceID: tr.sourceID, DeviceID: device, Box: box,
			PersonAppearTime: appear, PersonDisAppearTime: gone, ShotTime: shot, StatusFlags: gat1400.UncertainFlags(), SubImageList: images,
			CoatColor: colorCode(c.Attributes[algorithms.AttrCoatColor]), TrousersColor: colorCode(c.Attributes[algorithms.AttrTrousersColor]),
			// a person-attribute model on the crop (params.stage2 fields), omitted when none ran
			GenderCode: genderCode(c.Attributes[algorithms.AttrGender]), AgeLowerLimit: years(c.Attributes[algorithms.AttrAgeLower]),
			AgeUpLimit: years(c.Attributes[algorithms.AttrAgeUpper]), HairColor: colorCode(c.Attributes[algorithms.AttrHairColor]),
			CapColor: colorCode(c.Attributes[algorithms.AttrCapColor])}
	case gat1400.SubtypeMotorVehicle:
		v := gat1400.MotorVehicle{MotorVehicleID: tr.id, InfoKind: gat1400.InfoKindAuto, SourceID: tr.sourceID, DeviceID: device, Box: box,
			StorageUrl1: images.SubImageInfoObject[1].StoragePath, StorageUrl3: images.SubImageInfoObject[0].StoragePath,
			AppearTime: appear, DisappearTime: gone, MarkTime: shot, PassTime: shot, SubImageList: images}
		vehicleFields(&v, c)
		obj = v
	case gat1400.SubtypeNonMotorVehicle:
		obj = gat1400.NonMotorVehicle{NonMotorVehicleID: tr.id, InfoKind: gat1400.InfoKindAuto, SourceID: tr.sourceID, DeviceID: device, Box: box,
			AppearTime: appear, DisappearTime: gone, MarkTime: shot, SubImageList: images}
	}
	if err := obj.Validate(); err != nil {
		return nil, fmt.Errorf("built an invalid %s: %w", sub, err)
	}
	return json.Marshal(obj)
}

// genderCode reads a gender attribute: a GenderCode, or male/female as a model's
// labels may say; "" (omitted) for anything else, so a vendor's label never makes
// the record invalid.
func genderCode(s string) gat1400.GenderCode {
	switch g := gat1400.GenderCode(s); {
	case s == "male":
		return gat1400.GenderMale
	case s == "female":
		return gat1400.GenderFemale
	case g == gat1400.GenderUnknown || g == gat1400.GenderMale || g == gat1400.GenderFemale || g == gat1400.GenderUnstated:
		return g
	}
	return ""
}

// years reads an age attribute; 0 (omitted from the body) when absent or malformed.
func years(s string) gat1400.FlexInt {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return gat1400.FlexInt(n)
}
