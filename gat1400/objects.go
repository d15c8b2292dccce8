package gat1400

import (
	"bytes"
	"encoding/json"
	"time"
)

// Objects carry the standard's field names byte-exact, misspellings included
// (Similaritydegree, FaceDisAppearTime, CriminalInvolvedSpecilisationCode, BodySpeciallMark).
// Times are kept as wire strings (see FormatTime/ParseTime) so records round-trip
// unchanged. Optional fields use omitempty; fields whose zero is meaningful and that
// the standard requires (InfoKind, the box, Is* flags, HasPlate, EventSort) are always
// written, because Java peers turn a missing Integer into null.

// Box is an object's bounding box in pixels of the scene image. It is embedded, so its
// fields sit flat in the JSON as the standard lays them out; 0 is a real coordinate.
type Box struct {
	LeftTopX  FlexInt `json:"LeftTopX"`
	LeftTopY  FlexInt `json:"LeftTopY"`
	RightBtmX FlexInt `json:"RightBtmX"`
	RightBtmY FlexInt `json:"RightBtmY"`
}

// StatusFlags are the Is* flags of Face and Person: FlagNo, FlagYes, FlagUncertain.
// D marks them required, so they are always written. The zero value claims "no" for
// everything; an analytics algorithm should send [UncertainFlags] instead, as cameras do.
type StatusFlags struct {
	IsDriver             FlexInt `json:"IsDriver"`
	IsForeigner          FlexInt `json:"IsForeigner"`
	IsSuspectedTerrorist FlexInt `json:"IsSuspectedTerrorist"`
	IsCriminalInvolved   FlexInt `json:"IsCriminalInvolved"`
	IsDetainees          FlexInt `json:"IsDetainees"`
	IsVictim             FlexInt `json:"IsVictim"`
	IsSuspiciousPerson   FlexInt `json:"IsSuspiciousPerson"`
}

// UncertainFlags sets every flag to 2 (uncertain), what a capture camera sends.
func UncertainFlags() StatusFlags {
	u := FlagUncertain
	return StatusFlags{u, u, u, u, u, u, u}
}

// SubImageInfo is one image attached to an object. Data is raw base64 (no "data:" prefix);
// either Data or StoragePath carries the image.
type SubImageInfo struct {
	ImageID     string    `json:"ImageID"` // 41 digits; the scene image's ID is the SourceID
	EventSort   EventSort `json:"EventSort"`
	DeviceID    string    `json:"DeviceID"`
	StoragePath string    `json:"StoragePath,omitempty"`
	Type        ImageType `json:"Type"`
	FileFormat  string    `json:"FileFormat"`
	ShotTime    string    `json:"ShotTime"`
	Width       FlexInt   `json:"Width"`
	Height      FlexInt   `json:"Height"`
	Data        string    `json:"Data,omitempty"`
}

// SubImageList is the standard's object wrapper {"SubImageInfoObject":[…]}. It also
// reads a bare array, which one early server sent.
type SubImageList struct {
	SubImageInfoObject []SubImageInfo `json:"SubImageInfoObject"`
}

// NewSubImageList wraps images in the standard's envelope.
func NewSubImageList(images ...SubImageInfo) SubImageList {
	return SubImageList{SubImageInfoObject: images}
}

func (l *SubImageList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &l.SubImageInfoObject)
	}
	type plain SubImageList // drops this method, avoiding recursion
	return json.Unmarshal(b, (*plain)(l))
}

// Face is a face capture (FaceObject). DeviceID and the box are required for auto capture.
type Face struct {
	FaceID   string   `json:"FaceID"` // 48 digits, subtype 06
	InfoKind InfoKind `json:"InfoKind"`
	SourceID string   `json:"SourceID"` // 41 digits
	DeviceID string   `json:"DeviceID,omitempty"`
	Box
	LocationMarkTime  string     `json:"LocationMarkTime,omitempty"`
	FaceAppearTime    string     `json:"FaceAppearTime,omitempty"`
	FaceDisAppearTime string     `json:"FaceDisAppearTime,omitempty"`
	ShotTime          string     `json:"ShotTime,omitempty"` // platform extension (A)
	IDType            string     `json:"IDType,omitempty"`
	IDNumber          string     `json:"IDNumber,omitempty"`
	Name              string     `json:"Name,omitempty"`
	GenderCode        GenderCode `json:"GenderCode,omitempty"`
	AgeUpLimit        FlexInt    `json:"AgeUpLimit,omitempty"`
	AgeLowerLimit     FlexInt    `json:"AgeLowerLimit,omitempty"`
	SkinColor         string     `json:"SkinColor,omitempty"`
	HairStyle         string     `json:"HairStyle,omitempty"`
	HairColor         ColorType  `json:"HairColor,omitempty"`
	GlassStyle        string     `json:"GlassStyle,omitempty"`
	GlassColor        ColorType  `json:"GlassColor,omitempty"`
	CapStyle          string     `json:"CapStyle,omitempty"`
	CapColor          ColorType  `json:"CapColor,omitempty"`
	RespiratorColor   ColorType  `json:"RespiratorColor,omitempty"`
	StatusFlags
	CriminalInvolvedSpecilisationCode string       `json:"CriminalInvolvedSpecilisationCode,omitempty"`
	BodySpeciallMark                  string       `json:"BodySpeciallMark,omitempty"`
	Attitude                          FlexInt      `json:"Attitude,omitempty"`         // 1-9
	Similaritydegree                  FlexFloat    `json:"Similaritydegree,omitempty"` // 0-1
	SubImageList                      SubImageList `json:"SubImageList,omitzero"`
}

// Person is a person (body) capture (PersonObject), core and clothing fields.
type Person struct {
	PersonID string   `json:"PersonID"` // 48 digits, subtype 01
	InfoKind InfoKind `json:"InfoKind"`
	SourceID string   `json:"SourceID"`
	DeviceID string   `json:"DeviceID,omitempty"`
	Box
	LocationMarkTime    string     `json:"LocationMarkTime,omitempty"`
	PersonAppearTime    string     `json:"PersonAppearTime,omitempty"`
	PersonDisAppearTime string     `json:"PersonDisAppearTime,omitempty"`
	ShotTime            string     `json:"ShotTime,omitempty"` // platform extension (A)
	IDType              string     `json:"IDType,omitempty"`
	IDNumber            string     `json:"IDNumber,omitempty"`
	Name                string     `json:"Name,omitempty"`
	GenderCode          GenderCode `json:"GenderCode,omitempty"`
	AgeUpLimit          FlexInt    `json:"AgeUpLimit,omitempty"`
	AgeLowerLimit       FlexInt    `json:"AgeLowerLimit,omitempty"`
	HeightUpLimit       FlexInt    `json:"HeightUpLimit,omitempty"` // cm
	HeightLowerLimit    FlexInt    `json:"HeightLowerLimit,omitempty"`
	HairStyle           string     `json:"HairStyle,omitempty"`
	HairColor           ColorType  `json:"HairColor,omitempty"`
	CapStyle            string     `json:"CapStyle,omitempty"`
	CapColor            ColorType  `json:"CapColor,omitempty"`
	GlassStyle          string     `json:"GlassStyle,omitempty"`
	RespiratorColor     ColorType  `json:"RespiratorColor,omitempty"`
	UmbrellaColor       ColorType  `json:"UmbrellaColor,omitempty"`
	CoatStyle           string     `json:"CoatStyle,omitempty"`
	CoatLength          string     `json:"CoatLength,omitempty"`
	CoatColor           ColorType  `json:"CoatColor,omitempty"`
	TrousersStyle       string     `json:"TrousersStyle,omitempty"`
	TrousersColor       ColorType  `json:"TrousersColor,omitempty"`
	TrousersLen         string     `json:"TrousersLen,omitempty"`
	ShoesStyle          string     `json:"ShoesStyle,omitempty"`
	ShoesColor          ColorType  `json:"ShoesColor,omitempty"`
	BagStyle            string     `json:"BagStyle,omitempty"`
	BagColor            ColorType  `json:"BagColor,omitempty"`
	StatusFlags
	CriminalInvolvedSpecilisationCode string       `json:"CriminalInvolvedSpecilisationCode,omitempty"`
	BodySpeciallMark                  string       `json:"BodySpeciallMark,omitempty"`
	SubImageList                      SubImageList `json:"SubImageList,omitzero"`
}

// MotorVehicle is a vehicle capture (MotorVehicleObject). VehicleColor is required.
type MotorVehicle struct {
	MotorVehicleID string   `json:"MotorVehicleID"` // 48 digits, subtype 02
	InfoKind       InfoKind `json:"InfoKind"`
	SourceID       string   `json:"SourceID"`
	TollgateID     string   `json:"TollgateID,omitempty"`
	DeviceID       string   `json:"DeviceID,omitempty"`
	StorageUrl1    string   `json:"StorageUrl1,omitempty"` // close-up
	StorageUrl2    string   `json:"StorageUrl2,omitempty"` // plate
	StorageUrl3    string   `json:"StorageUrl3,omitempty"` // far view
	StorageUrl4    string   `json:"StorageUrl4,omitempty"` // composite
	StorageUrl5    string   `json:"StorageUrl5,omitempty"` // thumbnail
	Box
	MarkTime          string       `json:"MarkTime,omitempty"`
	AppearTime        string       `json:"AppearTime,omitempty"`
	DisappearTime     string       `json:"DisappearTime,omitempty"`
	LaneNo            FlexInt      `json:"LaneNo,omitempty"`
	HasPlate          FlexBool     `json:"HasPlate"`
	PlateClass        PlateClass   `json:"PlateClass,omitempty"`
	PlateColor        ColorType    `json:"PlateColor,omitempty"`
	PlateNo           string       `json:"PlateNo,omitempty"`
	PlateNoAttach     string       `json:"PlateNoAttach,omitempty"`
	PlateDescribe     string       `json:"PlateDescribe,omitempty"`
	PlateReliability  FlexInt      `json:"PlateReliability,omitempty"` // 0-100
	Speed             FlexFloat    `json:"Speed,omitempty"`            // km/h
	Direction         string       `json:"Direction,omitempty"`
	DrivingStatusCode string       `json:"DrivingStatusCode,omitempty"`
	VehicleClass      string       `json:"VehicleClass,omitempty"` // GA 24.4, e.g. K33
	VehicleBrand      string       `json:"VehicleBrand,omitempty"`
	VehicleModel      string       `json:"VehicleModel,omitempty"`
	VehicleStyles     string       `json:"VehicleStyles,omitempty"`
	VehicleColor      ColorType    `json:"VehicleColor"`
	VehicleColorDepth string       `json:"VehicleColorDepth,omitempty"` // "0" dark, "1" light
	PassTime          string       `json:"PassTime,omitempty"`
	NameOfPassedRoad  string       `json:"NameOfPassedRoad,omitempty"`
	Sunvisor          FlexInt      `json:"Sunvisor,omitempty"`
	SafetyBelt        FlexInt      `json:"SafetyBelt,omitempty"`
	Calling           FlexInt      `json:"Calling,omitempty"`
	SubImageList      SubImageList `json:"SubImageList,omitzero"`
}

// NonMotorVehicle is a bicycle/e-bike/tricycle capture (NonMotorVehicleObject), core fields.
type NonMotorVehicle struct {
	NonMotorVehicleID string   `json:"NonMotorVehicleID"` // 48 digits, subtype 03
	InfoKind          InfoKind `json:"InfoKind"`
	SourceID          string   `json:"SourceID"`
	DeviceID          string   `json:"DeviceID,omitempty"`
	Box
	MarkTime      string       `json:"MarkTime,omitempty"`
	AppearTime    string       `json:"AppearTime,omitempty"`
	DisappearTime string       `json:"DisappearTime,omitempty"`
	HasPlate      FlexBool     `json:"HasPlate"`
	PlateClass    PlateClass   `json:"PlateClass,omitempty"`
	PlateColor    ColorType    `json:"PlateColor,omitempty"`
	PlateNo       string       `json:"PlateNo,omitempty"`
	Speed         FlexFloat    `json:"Speed,omitempty"`
	VehicleBrand  string       `json:"VehicleBrand,omitempty"`
	VehicleType   string       `json:"VehicleType,omitempty"`
	VehicleColor  ColorType    `json:"VehicleColor,omitempty"`
	SubImageList  SubImageList `json:"SubImageList,omitzero"`
}

// APE is a collection device in the catalogue (APEObject).
type APE struct {
	ApeID        string     `json:"ApeID"`
	Name         string     `json:"Name"`
	Model        string     `json:"Model,omitempty"`
	IPAddr       string     `json:"IPAddr,omitempty"`
	Port         FlexInt    `json:"Port,omitempty"`
	Longitude    FlexFloat  `json:"Longitude,omitempty"`
	Latitude     FlexFloat  `json:"Latitude,omitempty"`
	PlaceCode    string     `json:"PlaceCode,omitempty"`    // 6-digit admin division
	CapDirection *FlexInt   `json:"CapDirection,omitempty"` // 0 front, 1 rear: pointer, 0 is meaningful
	IsOnline     FlexString `json:"IsOnline,omitempty"`     // "1" online, "2" offline, "9" other
	OwnerApsID   string     `json:"OwnerApsID,omitempty"`
	FunctionType string     `json:"FunctionType,omitempty"` // "/"-separated, e.g. "4/5"
}

// Subscribe is a cascade subscription (SubscribeObject). OperateType 0 subscribes, 1 cancels.
type Subscribe struct {
	SubscribeID           string     `json:"SubscribeID"` // 33 digits
	Title                 string     `json:"Title"`
	SubscribeDetail       FlexString `json:"SubscribeDetail"` // comma list of 1-16, e.g. "12,13"
	ResourceURI           string     `json:"ResourceURI"`     // comma list of device/tollgate IDs
	ApplicantName         string     `json:"ApplicantName,omitempty"`
	ApplicantOrg          string     `json:"ApplicantOrg,omitempty"`
	BeginTime             string     `json:"BeginTime,omitempty"`
	EndTime               string     `json:"EndTime,omitempty"`
	ReceiveAddr           string     `json:"ReceiveAddr,omitempty"`
	ReportInterval        FlexInt    `json:"ReportInterval,omitempty"` // seconds
	Reason                string     `json:"Reason,omitempty"`
	OperateType           FlexInt    `json:"OperateType"`
	SubscribeStatus       *FlexInt   `json:"SubscribeStatus,omitempty"` // read-only; 0 active is meaningful
	ResourceClass         *FlexInt   `json:"ResourceClass,omitempty"`   // 0 tollgate is meaningful
	ResultImageDeclare    FlexString `json:"ResultImageDeclare,omitempty"`
	ResultFeatureDeclare  FlexInt    `json:"ResultFeatureDeclare,omitempty"`
	SubscribeCancelOrg    string     `json:"SubscribeCancelOrg,omitempty"`
	SubscribeCancelPerson string     `json:"SubscribeCancelPerson,omitempty"`
	CancelTime            string     `json:"CancelTime,omitempty"`
	CancelReason          string     `json:"CancelReason,omitempty"`
}

// SubscribeNotification pushes matching records to a subscriber's ReceiveAddr.
// Each list is the inner list object, e.g. "FaceObjectList":{"FaceObject":[…]}.
type SubscribeNotification struct {
	NotificationID            string                     `json:"NotificationID"` // 33 digits
	SubscribeID               string                     `json:"SubscribeID"`
	Title                     string                     `json:"Title"`
	TriggerTime               string                     `json:"TriggerTime"`
	InfoIDs                   string                     `json:"InfoIDs"`                    // comma list of the records' IDs
	ExecuteOperation          FlexInt                    `json:"ExecuteOperation,omitempty"` // 1 add, 2 update, 3 delete
	DeviceList                *APEListObject             `json:"DeviceList,omitempty"`
	PersonObjectList          *PersonListObject          `json:"PersonObjectList,omitempty"`
	FaceObjectList            *FaceListObject            `json:"FaceObjectList,omitempty"`
	MotorVehicleObjectList    *MotorVehicleListObject    `json:"MotorVehicleObjectList,omitempty"`
	NonMotorVehicleObjectList *NonMotorVehicleListObject `json:"NonMotorVehicleObjectList,omitempty"`
}

// NewSubscribeNotification starts a notification (TriggerTime in Location); add records
// with the Add* methods, which keep InfoIDs in step.
func NewSubscribeNotification(notificationID, subscribeID, title string, trigger time.Time) SubscribeNotification {
	return SubscribeNotification{NotificationID: notificationID, SubscribeID: subscribeID,
		Title: title, TriggerTime: FormatTime(trigger.In(Location))}
}

func (n *SubscribeNotification) addID(id string) {
	if n.InfoIDs != "" {
		n.InfoIDs += ","
	}
	n.InfoIDs += id
}

// AddFaces appends faces to FaceObjectList and their IDs to InfoIDs.
func (n *SubscribeNotification) AddFaces(faces ...Face) {
	if n.FaceObjectList == nil {
		n.FaceObjectList = &FaceListObject{}
	}
	for _, f := range faces {
		n.FaceObjectList.FaceObject = append(n.FaceObjectList.FaceObject, f)
		n.addID(f.FaceID)
	}
}

// AddPersons appends persons to PersonObjectList and their IDs to InfoIDs.
func (n *SubscribeNotification) AddPersons(persons ...Person) {
	if n.PersonObjectList == nil {
		n.PersonObjectList = &PersonListObject{}
	}
	for _, p := range persons {
		n.PersonObjectList.PersonObject = append(n.PersonObjectList.PersonObject, p)
		n.addID(p.PersonID)
	}
}

// AddMotorVehicles appends vehicles to MotorVehicleObjectList and their IDs to InfoIDs.
func (n *SubscribeNotification) AddMotorVehicles(vehicles ...MotorVehicle) {
	if n.MotorVehicleObjectList == nil {
		n.MotorVehicleObjectList = &MotorVehicleListObject{}
	}
	for _, v := range vehicles {
		n.MotorVehicleObjectList.MotorVehicleObject = append(n.MotorVehicleObjectList.MotorVehicleObject, v)
		n.addID(v.MotorVehicleID)
	}
}

// AddNonMotorVehicles appends vehicles to NonMotorVehicleObjectList and their IDs to InfoIDs.
func (n *SubscribeNotification) AddNonMotorVehicles(vehicles ...NonMotorVehicle) {
	if n.NonMotorVehicleObjectList == nil {
		n.NonMotorVehicleObjectList = &NonMotorVehicleListObject{}
	}
	for _, v := range vehicles {
		n.NonMotorVehicleObjectList.NonMotorVehicleObject = append(n.NonMotorVehicleObjectList.NonMotorVehicleObject, v)
		n.addID(v.NonMotorVehicleID)
	}
}

// ResponseStatus answers Register/Keepalive and, one per object, batch writes.
type ResponseStatus struct {
	RequestURL   string     `json:"RequestURL"`
	StatusCode   StatusCode `json:"StatusCode"` // written as an integer; "0" is read too
	StatusString string     `json:"StatusString"`
	ID           string     `json:"Id"` // the object or device the answer is about: always sent, peers check it
	LocalTime    string     `json:"LocalTime"`
}

// NewResponseStatus fills StatusString from the code and LocalTime from now (in Location).
func NewResponseStatus(requestURL, id string, code StatusCode, now time.Time) ResponseStatus {
	return ResponseStatus{RequestURL: requestURL, StatusCode: code, StatusString: code.String(),
		ID: id, LocalTime: FormatTime(now.In(Location))}
}
