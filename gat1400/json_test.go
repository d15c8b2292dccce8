package gat1400

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sampleFace is the worked example as CityEye would write it: a scene image (ImageID =
// SourceID) and a face crop (serial 00062).
func sampleFace() Face {
	return Face{
		FaceID: exFaceID, InfoKind: InfoKindAuto, SourceID: exSourceID, DeviceID: exDevice,
		Box:            Box{LeftTopX: 100, LeftTopY: 120, RightBtmX: 260, RightBtmY: 300},
		FaceAppearTime: "20190711150344", FaceDisAppearTime: "20190711150345",
		StatusFlags: UncertainFlags(),
		SubImageList: NewSubImageList(
			SubImageInfo{ImageID: exSourceID, EventSort: EventFaceDetection, DeviceID: exDevice,
				StoragePath: "http://oss/scene.jpg", Type: ImageScene, FileFormat: FormatJpeg,
				ShotTime: "20190711150344", Width: 1920, Height: 1080},
			SubImageInfo{ImageID: exSourceID[:36] + "00062", EventSort: EventFaceDetection, DeviceID: exDevice,
				Type: ImageFace, FileFormat: FormatJpeg, ShotTime: "20190711150344", Width: 160, Height: 180,
				Data: "/9j/4AAQ"}),
	}
}

var sampleFaceJSON = `{"FaceListObject":{"FaceObject":[{` +
	`"FaceID":"` + exFaceID + `","InfoKind":1,"SourceID":"` + exSourceID + `","DeviceID":"` + exDevice + `",` +
	`"LeftTopX":100,"LeftTopY":120,"RightBtmX":260,"RightBtmY":300,` +
	`"FaceAppearTime":"20190711150344","FaceDisAppearTime":"20190711150345",` +
	`"IsDriver":2,"IsForeigner":2,"IsSuspectedTerrorist":2,"IsCriminalInvolved":2,"IsDetainees":2,"IsVictim":2,"IsSuspiciousPerson":2,` +
	`"SubImageList":{"SubImageInfoObject":[` +
	`{"ImageID":"` + exSourceID + `","EventSort":10,"DeviceID":"` + exDevice + `","StoragePath":"http://oss/scene.jpg","Type":"14","FileFormat":"Jpeg","ShotTime":"20190711150344","Width":1920,"Height":1080},` +
	`{"ImageID":"` + exSourceID[:36] + `00062","EventSort":10,"DeviceID":"` + exDevice + `","Type":"11","FileFormat":"Jpeg","ShotTime":"20190711150344","Width":160,"Height":180,"Data":"/9j/4AAQ"}` +
	`]}}]}}`

func TestFaceListEnvelopeRoundTrip(t *testing.T) {
	f := sampleFace()
	if err := f.Validate(); err != nil {
		t.Fatalf("sample face invalid: %v", err)
	}
	b, err := json.Marshal(NewFaceList(f))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != sampleFaceJSON {
		t.Fatalf("envelope mismatch\n got: %s\nwant: %s", b, sampleFaceJSON)
	}
	var back FaceList
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, NewFaceList(f)) {
		t.Errorf("round trip changed the record:\n%+v", back.FaceListObject.FaceObject[0])
	}
}

func TestEnvelopeShapes(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{NewFaceList(), `{"FaceListObject":{"FaceObject":[]}}`},
		{NewPersonList(Person{PersonID: "p"}), `{"PersonListObject":{"PersonObject":[{"PersonID":"p","InfoKind":0,"SourceID":"","LeftTopX":0,"LeftTopY":0,"RightBtmX":0,"RightBtmY":0,"IsDriver":0,"IsForeigner":0,"IsSuspectedTerrorist":0,"IsCriminalInvolved":0,"IsDetainees":0,"IsVictim":0,"IsSuspiciousPerson":0}]}}`},
		{NewMotorVehicleList(MotorVehicle{MotorVehicleID: "m", VehicleColor: ColorWhite}), `{"MotorVehicleListObject":{"MotorVehicleObject":[{"MotorVehicleID":"m","InfoKind":0,"SourceID":"","LeftTopX":0,"LeftTopY":0,"RightBtmX":0,"RightBtmY":0,"HasPlate":false,"VehicleColor":"2"}]}}`},
		{NewNonMotorVehicleList(), `{"NonMotorVehicleListObject":{"NonMotorVehicleObject":[]}}`},
		{NewAPEList(APE{ApeID: "a", Name: "n", CapDirection: new(FlexInt)}), `{"APEListObject":{"APEObject":[{"ApeID":"a","Name":"n","CapDirection":0}]}}`},
		{NewSubscribeList(), `{"SubscribeListObject":{"SubscribeObject":[]}}`},
		{NewTollgateList(), `{"TollgateListObject":{"TollgateObject":[]}}`},
		{NewLaneList(Lane{TollgateID: "t", LaneNo: 1, Name: "n", ApeID: "a"}), `{"LaneListObject":{"LaneObject":[{"TollgateID":"t","LaneNo":1,"Name":"n","ApeID":"a"}]}}`},
		{NewSubscribeNotificationList(), `{"SubscribeNotificationListObject":{"SubscribeNotificationObject":[]}}`},
		{NewResponseStatusList(NewResponseStatus("/VIID/Faces", exFaceID, StatusOK, exTime)),
			`{"ResponseStatusListObject":{"ResponseStatusObject":[{"RequestURL":"/VIID/Faces","StatusCode":0,"StatusString":"OK","Id":"` + exFaceID + `","LocalTime":"20190711150344"}]}}`},
		// Id is always sent: a peer that checks it reads a missing one as a failure
		{ResponseStatusEnvelope{NewResponseStatus("/VIID/System/Register", "", StatusInvalidOperation, exTime.UTC())},
			`{"ResponseStatusObject":{"RequestURL":"/VIID/System/Register","StatusCode":4,"StatusString":"Invalid Operation","Id":"","LocalTime":"20190711150344"}}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T:\n got: %s (%v)\nwant: %s", tc.v, b, err, tc.want)
		}
	}
}

func TestSubscribeNotificationLists(t *testing.T) {
	n := NewSubscribeNotification(BusinessID("440000000000", "04", exTime, 1),
		BusinessID("440000000000", BusinessSubscribe, exTime, 1), "faces", exTime)
	f2 := sampleFace()
	f2.FaceID = ContentID(exSourceID, SubtypeFace, 63)
	n.AddFaces(sampleFace(), f2)
	if n.InfoIDs != exFaceID+","+f2.FaceID {
		t.Errorf("InfoIDs = %s", n.InfoIDs)
	}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(n)
	if !strings.Contains(string(b), `"FaceObjectList":{"FaceObject":[{"FaceID":"`+exFaceID) ||
		strings.Contains(string(b), "PersonObjectList") {
		t.Errorf("notification JSON: %s", b)
	}
	n.FaceObjectList.FaceObject[1].SubImageList.SubImageInfoObject[0].Data = "data:image/jpeg;base64,xx"
	if err := n.Validate(); err == nil || err.(*FieldError).Field != "FaceObjectList.FaceObject[1].SubImageList.SubImageInfoObject[0].Data" {
		t.Errorf("nested error = %v", err)
	}
}

func TestLenientNumbers(t *testing.T) {
	for _, body := range []string{
		`{"ResponseStatusObject":{"RequestURL":"/VIID/System/Register","StatusCode":"0","StatusString":"OK"}}`,
		`{"ResponseStatusObject":{"RequestURL":"/VIID/System/Register","StatusCode":0,"StatusString":"OK"}}`,
		`{"ResponseStatusObject":{"RequestURL":"/VIID/System/Register","StatusCode":" 0 ","StatusString":"OK"}}`,
	} {
		var env ResponseStatusEnvelope
		env.ResponseStatusObject.StatusCode = 99
		if err := json.Unmarshal([]byte(body), &env); err != nil || env.ResponseStatusObject.StatusCode != StatusOK {
			t.Errorf("%s: %+v, %v", body, env, err)
		}
	}
	for body, want := range map[string]bool{
		`"1"`: true, `true`: true, `1`: true, `"true"`: true, `"TRUE"`: true,
		`"0"`: false, `false`: false, `0`: false, `""`: false, `"false"`: false,
	} {
		var v MotorVehicle
		v.HasPlate = !FlexBool(want)
		if err := json.Unmarshal([]byte(`{"HasPlate":`+body+`}`), &v); err != nil || bool(v.HasPlate) != want {
			t.Errorf("HasPlate %s = %v, %v", body, v.HasPlate, err)
		}
	}
	var img SubImageInfo
	err := json.Unmarshal([]byte(`{"Width":"1920","Height":1080.0,"EventSort":"10","Type":14}`), &img)
	if err != nil || img.Width != 1920 || img.Height != 1080 || img.EventSort != EventFaceDetection || img.Type != ImageScene {
		t.Errorf("SubImageInfo = %+v, %v", img, err)
	}
	var mv MotorVehicle
	err = json.Unmarshal([]byte(`{"InfoKind":"1","LeftTopX":"10","PlateClass":2,"PlateColor":5,"Speed":"62.5","PlateReliability":"95","HasPlate":null}`), &mv)
	if err != nil || mv.InfoKind != InfoKindAuto || mv.LeftTopX != 10 || mv.PlateClass != PlateSmall ||
		mv.PlateColor != ColorBlue || mv.Speed != 62.5 || mv.PlateReliability != 95 || mv.HasPlate {
		t.Errorf("MotorVehicle = %+v, %v", mv, err)
	}
	var f Face
	err = json.Unmarshal([]byte(`{"IsVictim":"2","Similaritydegree":"0.87","GenderCode":1,"Attitude":"3"}`), &f)
	if err != nil || f.IsVictim != FlagUncertain || f.Similaritydegree != 0.87 || f.GenderCode != GenderMale || f.Attitude != 3 {
		t.Errorf("Face = %+v, %v", f, err)
	}
	// Written back in the standard's types: integers, a boolean, string codes.
	b, _ := json.Marshal(SubImageInfo{Width: 1920, Type: ImagePlate})
	if !strings.Contains(string(b), `"Type":"02"`) || !strings.Contains(string(b), `"Width":1920`) {
		t.Errorf("marshal = %s", b)
	}
	b, _ = json.Marshal(MotorVehicle{HasPlate: true})
	if !strings.Contains(string(b), `"HasPlate":true`) {
		t.Errorf("marshal = %s", b)
	}
	for _, bad := range []string{`{"Width":"wide"}`, `{"Width":19.5}`, `{"Width":{}}`, `{"EventSort":[1]}`, `{"Type":-1}`} {
		if err := json.Unmarshal([]byte(bad), &img); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"HasPlate":"2"}`), &mv); err == nil {
		t.Error(`HasPlate "2" accepted`)
	}
	if err := json.Unmarshal([]byte(`{"Speed":"NaN"}`), &mv); err == nil {
		t.Error(`Speed "NaN" accepted`)
	}
}

func TestSubImageListBareArray(t *testing.T) {
	var f Face
	if err := json.Unmarshal([]byte(`{"SubImageList":[{"ImageID":"x","Type":"14"}]}`), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.SubImageList.SubImageInfoObject) != 1 || f.SubImageList.SubImageInfoObject[0].Type != ImageScene {
		t.Errorf("bare array: %+v", f.SubImageList)
	}
	b, _ := json.Marshal(f)
	if !strings.Contains(string(b), `"SubImageList":{"SubImageInfoObject":[{"ImageID":"x"`) {
		t.Errorf("re-marshal not wrapped: %s", b)
	}
}

func TestDecodeResponseStatuses(t *testing.T) {
	for body, n := range map[string]int{
		`{"ResponseStatusListObject":{"ResponseStatusObject":[{"Id":"a","StatusCode":"0"},{"Id":"b","StatusCode":1}]}}`: 2,
		`{"ResponseStatusObject":{"Id":"a","StatusCode":0}}`:                                                            1,
		`{"ResponseStatusListObject":{"ResponseStatusObject":{"Id":"a","StatusCode":"0"}}}`:                             1,
		`{"ResponseStatusListObject":{"ResponseStatusObject":[]}}`:                                                      0,
	} {
		got, err := DecodeResponseStatuses([]byte(body))
		if err != nil || len(got) != n || (n > 0 && (got[0].ID != "a" || got[0].StatusCode != StatusOK)) {
			t.Errorf("%s: %+v, %v", body, got, err)
		}
	}
	if _, err := DecodeResponseStatuses([]byte(`{"FaceListObject":{}}`)); err == nil {
		t.Error("unrelated body accepted")
	}
}
