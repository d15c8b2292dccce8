package gat1400

import (
	"errors"
	"strings"
	"testing"
)

func wantFieldErr(t *testing.T, name string, err error, field, reason string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Msg, reason) {
		t.Errorf("%s: err = %v, want %s: …%s…", name, err, field, reason)
	}
}

func TestFaceValidate(t *testing.T) {
	for _, tc := range []struct {
		name, field, reason string
		mut                 func(*Face)
	}{
		{"FaceID 47", "FaceID", "exactly 48 digits", func(f *Face) { f.FaceID = f.FaceID[:47] }},
		{"FaceID of a vehicle", "FaceID", "subtype 02 does not match", func(f *Face) { f.FaceID = exSourceID + "0200061" }},
		{"SourceID 33", "SourceID", "exactly 41 digits", func(f *Face) { f.SourceID = f.SourceID[:33] }},
		{"InfoKind 3", "InfoKind", "3 is not", func(f *Face) { f.InfoKind = 3 }},
		{"auto without DeviceID", "DeviceID", "required for automatic capture", func(f *Face) { f.DeviceID = "" }},
		{"DeviceID network 9", "DeviceID", "network code 9", func(f *Face) { f.DeviceID = "34020000001199000001" }},
		{"auto without box", "LeftTopX", "bounding box is required", func(f *Face) { f.Box = Box{} }},
		{"inverted box", "RightBtmX", "must be greater than LeftTopX", func(f *Face) { f.RightBtmX = 50 }},
		{"flat box", "RightBtmY", "must be greater than LeftTopY", func(f *Face) { f.RightBtmY = f.LeftTopY }},
		{"negative box", "LeftTopY", "negative", func(f *Face) { f.LeftTopY = -1 }},
		{"RFC3339 time", "FaceAppearTime", "not YYYYMMDDhhmmss", func(f *Face) { f.FaceAppearTime = "2019-07-11T15:03:44+08:00" }},
		{"flag 3", "IsVictim", "3 is not 0 no, 1 yes or 2 uncertain", func(f *Face) { f.IsVictim = 3 }},
		{"gender 3", "GenderCode", `"3"`, func(f *Face) { f.GenderCode = "3" }},
		{"ages reversed", "AgeLowerLimit", "above the upper limit", func(f *Face) { f.AgeLowerLimit, f.AgeUpLimit = 40, 30 }},
		{"similarity 1.5", "Similaritydegree", "outside 0-1", func(f *Face) { f.Similaritydegree = 1.5 }},
		{"name 51 chars", "Name", "51 characters", func(f *Face) { f.Name = strings.Repeat("张", 51) }},
		{"image ID short", "SubImageList.SubImageInfoObject[1].ImageID", "exactly 41 digits", func(f *Face) {
			f.SubImageList.SubImageInfoObject[1].ImageID = "1"
		}},
		{"image without data", "SubImageList.SubImageInfoObject[1].Data", "either Data or StoragePath", func(f *Face) {
			f.SubImageList.SubImageInfoObject[1].Data = ""
		}},
		{"data URI", "SubImageList.SubImageInfoObject[1].Data", "raw base64", func(f *Face) {
			f.SubImageList.SubImageInfoObject[1].Data = "data:image/jpeg;base64,/9j/"
		}},
		{"image no type", "SubImageList.SubImageInfoObject[0].Type", "not a numeric ImageType", func(f *Face) {
			f.SubImageList.SubImageInfoObject[0].Type = ""
		}},
		{"image no size", "SubImageList.SubImageInfoObject[0].Width", "must be positive", func(f *Face) {
			f.SubImageList.SubImageInfoObject[0].Height = 0
		}},
		{"image no shot time", "SubImageList.SubImageInfoObject[0].ShotTime", "is required", func(f *Face) {
			f.SubImageList.SubImageInfoObject[0].ShotTime = ""
		}},
	} {
		f := sampleFace()
		tc.mut(&f)
		wantFieldErr(t, tc.name, f.Validate(), tc.field, tc.reason)
	}

	// Manual capture may omit the device and the box.
	f := sampleFace()
	f.InfoKind, f.DeviceID, f.Box = InfoKindManual, "", Box{}
	if err := f.Validate(); err != nil {
		t.Errorf("manual capture: %v", err)
	}
}

func TestOtherValidate(t *testing.T) {
	src := SourceID(exDevice, SourceImage, exTime, 1)
	mv := MotorVehicle{MotorVehicleID: ContentID(src, SubtypeMotorVehicle, 2), InfoKind: InfoKindAuto,
		SourceID: src, DeviceID: "33010101001210000001", TollgateID: "33010101001210000001",
		Box: Box{0, 0, 640, 480}, HasPlate: true, PlateClass: PlateSmall, PlateColor: ColorBlue,
		PlateNo: "浙A12345", PlateReliability: 95, VehicleColor: ColorWhite, PassTime: "20190711150344", Speed: 42}
	if err := mv.Validate(); err != nil {
		t.Fatalf("motor vehicle: %v", err)
	}
	bad := mv
	bad.VehicleColor = ""
	wantFieldErr(t, "no VehicleColor", bad.Validate(), "VehicleColor", "required")
	bad = mv
	bad.PlateReliability = 101
	wantFieldErr(t, "reliability", bad.Validate(), "PlateReliability", "outside 0-100")
	bad = mv
	bad.TollgateID = "3301010100121000000"
	wantFieldErr(t, "tollgate", bad.Validate(), "TollgateID", "20 digits")
	bad = mv
	bad.MotorVehicleID = ContentID(src, SubtypeFace, 2)
	wantFieldErr(t, "vehicle with face ID", bad.Validate(), "MotorVehicleID", "subtype 06")

	p := Person{PersonID: ContentID(src, SubtypePerson, 3), InfoKind: InfoKindAuto, SourceID: src,
		DeviceID: exDevice, Box: Box{10, 10, 90, 300}, StatusFlags: UncertainFlags(), CoatColor: ColorRed,
		HeightLowerLimit: 180, HeightUpLimit: 170}
	wantFieldErr(t, "person height", p.Validate(), "HeightLowerLimit", "above the upper limit")
	p.HeightLowerLimit = 160
	if err := p.Validate(); err != nil {
		t.Errorf("person: %v", err)
	}

	nmv := NonMotorVehicle{NonMotorVehicleID: ContentID(src, SubtypeNonMotorVehicle, 4), InfoKind: InfoKindAuto,
		SourceID: src, DeviceID: exDevice, Box: Box{1, 1, 2, 2}}
	if err := nmv.Validate(); err != nil {
		t.Errorf("non-motor vehicle: %v", err)
	}

	ape := APE{ApeID: "44150200001320000001", Name: "东门", PlaceCode: "441502"}
	if err := ape.Validate(); err != nil {
		t.Errorf("ape: %v", err)
	}
	ape.PlaceCode = "4415"
	wantFieldErr(t, "ape place", ape.Validate(), "PlaceCode", "6-digit")

	sub := Subscribe{SubscribeID: BusinessID("360000000000", BusinessSubscribe, exTime, 1), Title: "faces",
		SubscribeDetail: SubscribeDetailFace + "," + SubscribeDetailMotorVehicle, ResourceURI: exDevice,
		ReceiveAddr: "http://10.0.0.1:8080/VIID/SubscribeNotifications", BeginTime: "20190711000000", EndTime: "20290711000000"}
	if err := sub.Validate(); err != nil {
		t.Errorf("subscribe: %v", err)
	}
	for _, tc := range []struct {
		name, field, reason string
		mut                 func(*Subscribe)
	}{
		{"short ID", "SubscribeID", "33 digits", func(s *Subscribe) { s.SubscribeID = "3600000000000320190711" }},
		{"detail 17", "SubscribeDetail", `"17"`, func(s *Subscribe) { s.SubscribeDetail = "12,17" }},
		{"no receiver", "ReceiveAddr", "required", func(s *Subscribe) { s.ReceiveAddr = "" }},
		{"operate 2", "OperateType", "2 is not", func(s *Subscribe) { s.OperateType = 2 }},
		{"ends first", "EndTime", "not after BeginTime", func(s *Subscribe) { s.EndTime = "20180101000000" }},
	} {
		s := sub
		tc.mut(&s)
		wantFieldErr(t, tc.name, s.Validate(), tc.field, tc.reason)
	}
	cancel := Subscribe{SubscribeID: sub.SubscribeID, Title: "cancel", OperateType: 1}
	if err := cancel.Validate(); err != nil {
		t.Errorf("cancel: %v", err)
	}
}
