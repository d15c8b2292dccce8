package gat1400

// Code tables (GAT1400.md §1, §2, §5). Types are distinct so a plate colour cannot be
// passed where a plate class is expected; string-coded ones decode leniently from JSON
// numbers too (see codes' UnmarshalJSON in flex.go).

// SourceKind is the 2-digit kind inside a 41-digit SourceID/ImageID.
type SourceKind string

const (
	SourceVideo SourceKind = "01"
	SourceImage SourceKind = "02"
	SourceFile  SourceKind = "03"
)

// Subtype is the 2-digit object kind inside a 48-digit content ID (FaceID, PersonID …).
type Subtype string

const (
	SubtypePerson          Subtype = "01"
	SubtypeMotorVehicle    Subtype = "02"
	SubtypeNonMotorVehicle Subtype = "03"
	SubtypeThing           Subtype = "04"
	SubtypeScene           Subtype = "05"
	SubtypeFace            Subtype = "06"
	SubtypeVideoLabel      Subtype = "07"
	SubtypeOther           Subtype = "99"
)

func (s Subtype) known() bool {
	return (s >= "01" && s <= "07" && len(s) == 2) || s == SubtypeOther
}

// BusinessType is the 2-digit type inside a 33-digit business ID. Only 03 is attested
// (F's SubscribeIDs); other codes are unverified, so none are guessed here.
type BusinessType string

const BusinessSubscribe BusinessType = "03"

// InfoKind says how a record was produced. Required on every object; CityEye writes Auto.
type InfoKind int

const (
	InfoKindOther  InfoKind = 0
	InfoKindAuto   InfoKind = 1
	InfoKindManual InfoKind = 2
)

// ImageType is SubImageInfo.Type, a string code on the wire.
type ImageType string

const (
	ImageVehicle         ImageType = "01" // vehicle large image
	ImagePlate           ImageType = "02" // plate colour crop
	ImagePlateBinary     ImageType = "03"
	ImageDriverFace      ImageType = "04"
	ImageCoDriverFace    ImageType = "05"
	ImageVehicleLogo     ImageType = "06"
	ImageViolation       ImageType = "07" // violation composite
	ImagePassComposite   ImageType = "08"
	ImageVehicleCloseUp  ImageType = "09"
	ImagePerson          ImageType = "10"
	ImageFace            ImageType = "11"
	ImageNonMotorVehicle ImageType = "12"
	ImageThing           ImageType = "13"
	ImageScene           ImageType = "14"
	ImageFeatureVehicle  ImageType = "15" // 15-19: feature images (D)
	ImageFeaturePerson   ImageType = "16"
	ImageFeatureFace     ImageType = "17"
	ImageFeatureNonMotor ImageType = "18"
	ImageFeatureGeneral  ImageType = "19"
	ImageGeneral         ImageType = "100"
)

// Image file formats (ImageFormatType), spelled as peers expect.
const (
	FormatJpeg = "Jpeg"
	FormatBmp  = "Bmp"
	FormatGif  = "Gif"
	FormatPng  = "Png"
)

// EventSort is the event that produced an image (D Gat1400EventType, partial).
type EventSort int

const (
	EventOther               EventSort = 0
	EventVehiclePass         EventSort = 1
	EventPersonPass          EventSort = 2
	EventPedestrianDetection EventSort = 8
	EventFaceDetection       EventSort = 10 // what real capture cameras send for faces
	EventFaceComparison      EventSort = 11
	EventVehicleDetection    EventSort = 12
	EventPlateRecognition    EventSort = 16
)

// ColorType is the colour code used by PlateColor, VehicleColor, HairColor, ….
type ColorType string

const (
	ColorBlack       ColorType = "1"
	ColorWhite       ColorType = "2"
	ColorGrey        ColorType = "3"
	ColorRed         ColorType = "4"
	ColorBlue        ColorType = "5" // ordinary small-car plate
	ColorYellow      ColorType = "6" // large-vehicle plate
	ColorOrange      ColorType = "7"
	ColorBrown       ColorType = "8"
	ColorGreen       ColorType = "9" // new-energy plate
	ColorPurple      ColorType = "10"
	ColorCyan        ColorType = "11"
	ColorPink        ColorType = "12"
	ColorTransparent ColorType = "13"
	ColorOther       ColorType = "99"
)

// colorNames are the ColorType codes by English name, for algorithms that classify
// colours by name (see ColorTypeByName).
var colorNames = map[string]ColorType{
	"black": ColorBlack, "white": ColorWhite, "grey": ColorGrey, "gray": ColorGrey, "red": ColorRed,
	"blue": ColorBlue, "yellow": ColorYellow, "orange": ColorOrange, "brown": ColorBrown,
	"green": ColorGreen, "purple": ColorPurple, "cyan": ColorCyan, "pink": ColorPink,
	"transparent": ColorTransparent, "other": ColorOther,
}

// ColorTypeByName returns the ColorType of a colour name (black, white, grey, red,
// blue, yellow, orange, brown, green, purple, cyan, pink, transparent, other).
func ColorTypeByName(name string) (ColorType, bool) {
	c, ok := colorNames[name]
	return c, ok
}

// VehicleClass values (MotorVehicle.VehicleClass): GA 24.4 vehicle type codes, a
// letter for the family and two characters for the type. The codes below are those
// a COCO-class detector can stand behind; the full table has some 200 types
// (K31 small ordinary bus, K32 small off-road, H21 medium truck, H31 light truck …).
const (
	VehicleClassLargeBus   = "K11" // 大型普通客车 large ordinary bus
	VehicleClassSmallSedan = "K33" // 小型轿车 small sedan: what a detector's "car" mostly is
	VehicleClassHeavyTruck = "H11" // 重型普通货车 heavy ordinary truck
	VehicleClassLightTruck = "H31" // 轻型普通货车 light ordinary truck
	VehicleClassMotorcycle = "M21" // 普通二轮摩托车 ordinary two-wheel motorcycle
	VehicleClassOther      = "X99" // 其他 other
)

// PlateClass is the GA 24.7 plate class (2 digits). Only codes the reference confirms,
// plus 15 and 51/52 which are flagged there as from memory.
type PlateClass string

const (
	PlateLarge          PlateClass = "01"
	PlateSmall          PlateClass = "02"
	PlateTrailer        PlateClass = "15" // D's enum omits 15 and is off by one after it
	PlatePolice         PlateClass = "23"
	PlateArmedPolice    PlateClass = "31"
	PlateMilitary       PlateClass = "32"
	PlateNewEnergyLarge PlateClass = "51" // unverified (GAT1400.md §5)
	PlateNewEnergySmall PlateClass = "52" // unverified
	PlateOther          PlateClass = "99"
)

// GenderCode (GB/T 2261.1), a string on the wire.
type GenderCode string

const (
	GenderUnknown  GenderCode = "0"
	GenderMale     GenderCode = "1"
	GenderFemale   GenderCode = "2"
	GenderUnstated GenderCode = "9"
)

// Values of the Is* status flags (IsDriver, IsSuspiciousPerson, …).
const (
	FlagNo        FlexInt = 0
	FlagYes       FlexInt = 1
	FlagUncertain FlexInt = 2 // what an algorithm that did not judge the question must send
)

// StatusCode is ResponseStatus.StatusCode (ConfirmStatusType).
type StatusCode int

const (
	StatusOK                 StatusCode = 0
	StatusOtherError         StatusCode = 1
	StatusDeviceBusy         StatusCode = 2
	StatusDeviceError        StatusCode = 3
	StatusInvalidOperation   StatusCode = 4 // also "not registered": clients re-register on it
	StatusInvalidXMLFormat   StatusCode = 5
	StatusInvalidXMLContent  StatusCode = 6
	StatusInvalidJSONFormat  StatusCode = 7
	StatusInvalidJSONContent StatusCode = 8
	StatusReboot             StatusCode = 9
)

var statusNames = [...]string{"OK", "OtherError", "Device Busy", "Device Error", "Invalid Operation",
	"Invalid XML Format", "Invalid XML Content", "Invalid JSON Format", "Invalid JSON Content", "Reboot"}

// String is the standard's StatusString for the code.
func (c StatusCode) String() string {
	if c >= 0 && int(c) < len(statusNames) {
		return statusNames[c]
	}
	return "Unknown"
}

// SubscribeDetail values (comma-joined in Subscribe.SubscribeDetail).
const (
	SubscribeDetailDeviceList      = "3"
	SubscribeDetailTollgateList    = "7"
	SubscribeDetailPerson          = "11"
	SubscribeDetailFace            = "12"
	SubscribeDetailMotorVehicle    = "13"
	SubscribeDetailNonMotorVehicle = "14"
)
