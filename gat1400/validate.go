package gat1400

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validate methods check what a peer would reject: required fields, ID lengths and
// parts, time formats, code ranges and a consistent box. They return the first problem
// as a *FieldError naming the JSON field (nested ones with a path such as
// "SubImageList.SubImageInfoObject[1].Data"). Lengths are those of GA/T 1400.3 as the
// reference gives them, counted in characters.

// Validate checks a sub-image. ImageID, EventSort, DeviceID, Type, FileFormat, ShotTime,
// Width and Height are required, and the image itself as Data or StoragePath.
func (s SubImageInfo) Validate() error {
	if _, err := ParseSourceID(s.ImageID); err != nil {
		return rename(err, "ImageID", "")
	}
	if _, err := ParseDeviceID(s.DeviceID); err != nil {
		return rename(err, "DeviceID", "")
	}
	if s.Type == "" || nonDigit(string(s.Type)) >= 0 {
		return fieldErr("Type", "image type %q is not a numeric ImageType code (e.g. 14 scene, 11 face)", s.Type)
	}
	if s.FileFormat == "" {
		return fieldErr("FileFormat", "is required (Jpeg, Png, Bmp, Gif)")
	}
	if err := checkTime("ShotTime", s.ShotTime, true); err != nil {
		return err
	}
	if s.Width <= 0 || s.Height <= 0 {
		return fieldErr("Width", "image size %dx%d must be positive", s.Width, s.Height)
	}
	if s.Data == "" && s.StoragePath == "" {
		return fieldErr("Data", "either Data or StoragePath must carry the image")
	}
	if strings.HasPrefix(s.Data, "data:") {
		return fieldErr("Data", `must be raw base64, without a "data:" URI prefix`)
	}
	return maxLen("StoragePath", s.StoragePath, 256)
}

// Validate checks a face record (FaceID subtype 06).
func (f Face) Validate() error {
	c := capture{"FaceID", f.FaceID, SubtypeFace, f.InfoKind, f.SourceID, f.DeviceID, f.Box, f.SubImageList}
	if err := c.validate(); err != nil {
		return err
	}
	return firstErr(
		checkTime("LocationMarkTime", f.LocationMarkTime, false),
		checkTime("FaceAppearTime", f.FaceAppearTime, false),
		checkTime("FaceDisAppearTime", f.FaceDisAppearTime, false),
		checkTime("ShotTime", f.ShotTime, false),
		maxLen("IDNumber", f.IDNumber, 30), maxLen("Name", f.Name, 50),
		checkGender(f.GenderCode),
		checkLimits("AgeLowerLimit", f.AgeLowerLimit, f.AgeUpLimit),
		f.StatusFlags.check(),
		checkRange("Attitude", int(f.Attitude), 0, 9),
		checkSimilarity(f.Similaritydegree),
	)
}

// Validate checks a person record (PersonID subtype 01).
func (p Person) Validate() error {
	c := capture{"PersonID", p.PersonID, SubtypePerson, p.InfoKind, p.SourceID, p.DeviceID, p.Box, p.SubImageList}
	if err := c.validate(); err != nil {
		return err
	}
	return firstErr(
		checkTime("LocationMarkTime", p.LocationMarkTime, false),
		checkTime("PersonAppearTime", p.PersonAppearTime, false),
		checkTime("PersonDisAppearTime", p.PersonDisAppearTime, false),
		checkTime("ShotTime", p.ShotTime, false),
		maxLen("IDNumber", p.IDNumber, 30), maxLen("Name", p.Name, 50),
		checkGender(p.GenderCode),
		checkLimits("AgeLowerLimit", p.AgeLowerLimit, p.AgeUpLimit),
		checkLimits("HeightLowerLimit", p.HeightLowerLimit, p.HeightUpLimit),
		p.StatusFlags.check(),
	)
}

// Validate checks a vehicle record (MotorVehicleID subtype 02). VehicleColor is required.
func (v MotorVehicle) Validate() error {
	c := capture{"MotorVehicleID", v.MotorVehicleID, SubtypeMotorVehicle, v.InfoKind, v.SourceID, v.DeviceID, v.Box, v.SubImageList}
	if err := c.validate(); err != nil {
		return err
	}
	if v.TollgateID != "" {
		if _, err := ParseDeviceID(v.TollgateID); err != nil {
			return rename(err, "TollgateID", "")
		}
	}
	if v.VehicleColor == "" {
		return fieldErr("VehicleColor", "is required")
	}
	if v.Speed < 0 {
		return fieldErr("Speed", "%v km/h must not be negative", float64(v.Speed))
	}
	return firstErr(
		checkTime("MarkTime", v.MarkTime, false),
		checkTime("AppearTime", v.AppearTime, false),
		checkTime("DisappearTime", v.DisappearTime, false),
		checkTime("PassTime", v.PassTime, false),
		maxLen("StorageUrl1", v.StorageUrl1, 256), maxLen("StorageUrl2", v.StorageUrl2, 256),
		maxLen("StorageUrl3", v.StorageUrl3, 256), maxLen("StorageUrl4", v.StorageUrl4, 256),
		maxLen("StorageUrl5", v.StorageUrl5, 256),
		maxLen("PlateNo", v.PlateNo, 15), maxLen("PlateNoAttach", v.PlateNoAttach, 15),
		maxLen("PlateDescribe", v.PlateDescribe, 64),
		maxLen("VehicleClass", v.VehicleClass, 3), maxLen("VehicleModel", v.VehicleModel, 32),
		checkRange("PlateReliability", int(v.PlateReliability), 0, 100),
	)
}

// Validate checks a non-motor-vehicle record (NonMotorVehicleID subtype 03).
func (v NonMotorVehicle) Validate() error {
	c := capture{"NonMotorVehicleID", v.NonMotorVehicleID, SubtypeNonMotorVehicle, v.InfoKind, v.SourceID, v.DeviceID, v.Box, v.SubImageList}
	if err := c.validate(); err != nil {
		return err
	}
	return firstErr(
		checkTime("MarkTime", v.MarkTime, false),
		checkTime("AppearTime", v.AppearTime, false),
		checkTime("DisappearTime", v.DisappearTime, false),
		maxLen("PlateNo", v.PlateNo, 15),
	)
}

// Validate checks a catalogue entry: ApeID is a device ID, Name is required.
func (a APE) Validate() error {
	if _, err := ParseDeviceID(a.ApeID); err != nil {
		return rename(err, "ApeID", "")
	}
	if a.Name == "" {
		return fieldErr("Name", "is required")
	}
	if a.PlaceCode != "" && (len(a.PlaceCode) != 6 || nonDigit(a.PlaceCode) >= 0) {
		return fieldErr("PlaceCode", "%q is not a 6-digit GB/T 2260 division", a.PlaceCode)
	}
	return maxLen("Name", a.Name, 100)
}

// Validate checks a subscription. A new one (OperateType 0) needs what the publisher
// must act on: SubscribeDetail, ResourceURI and ReceiveAddr.
func (s Subscribe) Validate() error {
	if err := checkBusinessID("SubscribeID", s.SubscribeID); err != nil {
		return err
	}
	if s.Title == "" {
		return fieldErr("Title", "is required")
	}
	if s.OperateType != 0 && s.OperateType != 1 {
		return fieldErr("OperateType", "%d is not 0 subscribe or 1 cancel", s.OperateType)
	}
	if s.OperateType == 0 {
		if s.SubscribeDetail == "" {
			return fieldErr("SubscribeDetail", "is required")
		}
		for _, d := range strings.Split(string(s.SubscribeDetail), ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(d)); err != nil || n < 1 || n > 16 {
				return fieldErr("SubscribeDetail", "%q is not a subscription category 1-16", d)
			}
		}
		if s.ResourceURI == "" {
			return fieldErr("ResourceURI", "is required")
		}
		if s.ReceiveAddr == "" {
			return fieldErr("ReceiveAddr", "is required: notifications are POSTed there")
		}
	}
	if err := firstErr(checkTime("BeginTime", s.BeginTime, false), checkTime("EndTime", s.EndTime, false),
		maxLen("Title", s.Title, 256), maxLen("ReceiveAddr", s.ReceiveAddr, 256)); err != nil {
		return err
	}
	if s.BeginTime != "" && s.EndTime != "" && len(s.BeginTime) == len(s.EndTime) && s.EndTime <= s.BeginTime {
		return fieldErr("EndTime", "%s is not after BeginTime %s", s.EndTime, s.BeginTime)
	}
	return nil
}

// Validate checks the notification header and every record it carries.
func (n SubscribeNotification) Validate() error {
	if err := firstErr(checkBusinessID("NotificationID", n.NotificationID),
		checkBusinessID("SubscribeID", n.SubscribeID), checkTime("TriggerTime", n.TriggerTime, true)); err != nil {
		return err
	}
	if n.Title == "" {
		return fieldErr("Title", "is required")
	}
	if n.InfoIDs == "" {
		return fieldErr("InfoIDs", "is required")
	}
	if n.FaceObjectList != nil {
		for i, f := range n.FaceObjectList.FaceObject {
			if err := f.Validate(); err != nil {
				return within(err, fmt.Sprintf("FaceObjectList.FaceObject[%d].", i))
			}
		}
	}
	if n.PersonObjectList != nil {
		for i, p := range n.PersonObjectList.PersonObject {
			if err := p.Validate(); err != nil {
				return within(err, fmt.Sprintf("PersonObjectList.PersonObject[%d].", i))
			}
		}
	}
	if n.MotorVehicleObjectList != nil {
		for i, v := range n.MotorVehicleObjectList.MotorVehicleObject {
			if err := v.Validate(); err != nil {
				return within(err, fmt.Sprintf("MotorVehicleObjectList.MotorVehicleObject[%d].", i))
			}
		}
	}
	if n.NonMotorVehicleObjectList != nil {
		for i, v := range n.NonMotorVehicleObjectList.NonMotorVehicleObject {
			if err := v.Validate(); err != nil {
				return within(err, fmt.Sprintf("NonMotorVehicleObjectList.NonMotorVehicleObject[%d].", i))
			}
		}
	}
	return nil
}

// capture holds what Face, Person and the vehicles share.
type capture struct {
	idField  string
	id       string
	subtype  Subtype
	infoKind InfoKind
	sourceID string
	deviceID string
	box      Box
	images   SubImageList
}

func (c capture) validate() error {
	parts, err := ParseContentID(c.id)
	if err != nil {
		return rename(err, c.idField, "")
	}
	if parts.Subtype != c.subtype {
		return fieldErr(c.idField, "position 42-43 subtype %s does not match %s (want %s)", parts.Subtype, c.idField, c.subtype)
	}
	if c.infoKind < InfoKindOther || c.infoKind > InfoKindManual {
		return fieldErr("InfoKind", "%d is not 0 other, 1 auto or 2 manual", c.infoKind)
	}
	if _, err := ParseSourceID(c.sourceID); err != nil {
		return rename(err, "SourceID", "")
	}
	auto := c.infoKind == InfoKindAuto
	if c.deviceID == "" && auto {
		return fieldErr("DeviceID", "is required for automatic capture (InfoKind 1)")
	}
	if c.deviceID != "" {
		if _, err := ParseDeviceID(c.deviceID); err != nil {
			return rename(err, "DeviceID", "")
		}
	}
	if err := c.box.check(auto); err != nil {
		return err
	}
	for i, img := range c.images.SubImageInfoObject {
		if err := img.Validate(); err != nil {
			return within(err, fmt.Sprintf("SubImageList.SubImageInfoObject[%d].", i))
		}
	}
	return nil
}

// check requires a box for automatic capture and, when one is present, that it is a
// real rectangle: a zero-area box means the detector output was lost, not a capture.
func (b Box) check(required bool) error {
	if b == (Box{}) {
		if required {
			return fieldErr("LeftTopX", "bounding box is required for automatic capture (InfoKind 1)")
		}
		return nil
	}
	for _, c := range []struct {
		name string
		v    FlexInt
	}{{"LeftTopX", b.LeftTopX}, {"LeftTopY", b.LeftTopY}, {"RightBtmX", b.RightBtmX}, {"RightBtmY", b.RightBtmY}} {
		if c.v < 0 {
			return fieldErr(c.name, "%d must not be negative", c.v)
		}
	}
	if b.RightBtmX <= b.LeftTopX {
		return fieldErr("RightBtmX", "%d must be greater than LeftTopX %d", b.RightBtmX, b.LeftTopX)
	}
	if b.RightBtmY <= b.LeftTopY {
		return fieldErr("RightBtmY", "%d must be greater than LeftTopY %d", b.RightBtmY, b.LeftTopY)
	}
	return nil
}

func (s StatusFlags) check() error {
	for _, c := range []struct {
		name string
		v    FlexInt
	}{{"IsDriver", s.IsDriver}, {"IsForeigner", s.IsForeigner}, {"IsSuspectedTerrorist", s.IsSuspectedTerrorist},
		{"IsCriminalInvolved", s.IsCriminalInvolved}, {"IsDetainees", s.IsDetainees}, {"IsVictim", s.IsVictim},
		{"IsSuspiciousPerson", s.IsSuspiciousPerson}} {
		if c.v < FlagNo || c.v > FlagUncertain {
			return fieldErr(c.name, "%d is not 0 no, 1 yes or 2 uncertain", c.v)
		}
	}
	return nil
}

func checkTime(field, v string, required bool) error {
	if v == "" {
		if required {
			return fieldErr(field, "is required")
		}
		return nil
	}
	if _, err := ParseTime(v); err != nil {
		return rename(err, field, "")
	}
	return nil
}

func checkBusinessID(field, v string) error {
	if len(v) != 33 || nonDigit(v) >= 0 {
		return fieldErr(field, "must be exactly 33 digits (org 12 + type 2 + time 14 + serial 5), got %q", v)
	}
	if _, err := ParseTime(v[14:28]); err != nil {
		return rename(err, field, "position 15-28: ")
	}
	return nil
}

func checkGender(g GenderCode) error {
	switch g {
	case "", GenderUnknown, GenderMale, GenderFemale, GenderUnstated:
		return nil
	}
	return fieldErr("GenderCode", "%q is not 0, 1, 2 or 9", g)
}

// checkLimits checks a lower/upper pair such as AgeLowerLimit/AgeUpLimit; 0 means unset.
func checkLimits(lowerField string, lower, upper FlexInt) error {
	if lower < 0 || upper < 0 {
		return fieldErr(lowerField, "limits %d-%d must not be negative", lower, upper)
	}
	if lower > 0 && upper > 0 && lower > upper {
		return fieldErr(lowerField, "%d is above the upper limit %d", lower, upper)
	}
	return nil
}

func checkRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fieldErr(field, "%d is outside %d-%d", v, lo, hi)
	}
	return nil
}

func checkSimilarity(v FlexFloat) error {
	if v < 0 || v > 1 {
		return fieldErr("Similaritydegree", "%v is outside 0-1", float64(v))
	}
	return nil
}

func maxLen(field, v string, n int) error {
	if c := utf8.RuneCountInString(v); c > n {
		return fieldErr(field, "is %d characters, the standard allows %d", c, n)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// within prefixes a nested field error with its path in the parent object.
func within(err error, prefix string) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + fe.Field, Msg: fe.Msg}
	}
	return err
}
