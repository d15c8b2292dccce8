package gat1400

import "encoding/json"

// Dispositions (布控) and the notifications of their hits, with the field names the
// Java server (A), the C header (D) and other platforms agree on. Similaritydegree
// (face threshold) is the extension several platforms add; PlateMatch is CityEye's.

// Business types of the 33-digit IDs CityEye gives dispositions and their
// notifications. Not verified against the standard: only 03 (subscription) was
// read off a real ID (GAT1400.md §1).
const (
	BusinessDisposition             BusinessType = "01"
	BusinessDispositionNotification BusinessType = "02"
)

// Disposition categories (DispositionCategory).
const (
	DispositionPerson       = "1"
	DispositionFace         = "2"
	DispositionMotorVehicle = "3"
	DispositionNonMotor     = "4"
	DispositionKeyword      = "5"
)

// Disposition is a watch list (DispositionObject). OperateType 0 sets it, 1
// withdraws it (撤控, PUT /VIID/Dispositions/{ID}).
type Disposition struct {
	DispositionID       string       `json:"DispositionID"` // 33 digits
	Title               string       `json:"Title"`
	DispositionCategory FlexString   `json:"DispositionCategory"`
	TargetFeature       string       `json:"TargetFeature,omitempty"` // plates, ";"- or ","-separated
	TargetImageURI      string       `json:"TargetImageURI,omitempty"`
	PriorityLevel       FlexInt      `json:"PriorityLevel"` // 1 highest … 3
	ApplicantName       string       `json:"ApplicantName,omitempty"`
	ApplicantInfo       string       `json:"ApplicantInfo,omitempty"`
	ApplicantOrg        string       `json:"ApplicantOrg,omitempty"`
	BeginTime           string       `json:"BeginTime"`
	EndTime             string       `json:"EndTime"`
	CreateTime          string       `json:"CreateTime,omitempty"`
	OperateType         FlexInt      `json:"OperateType"`
	DispositionStatus   *FlexInt     `json:"DispositionStatus,omitempty"` // read-only: 0 in force, 1 withdrawn, 2 expired
	DispositionRange    FlexString   `json:"DispositionRange"`            // 1 tollgates/devices (TollgateList), 2 areas (DispositionArea)
	TollgateList        string       `json:"TollgateList,omitempty"`      // ";"-separated device IDs
	DispositionArea     string       `json:"DispositionArea,omitempty"`   // ";"-separated area codes
	ReceiveAddr         string       `json:"ReceiveAddr,omitempty"`
	ReceiveMobile       string       `json:"ReceiveMobile,omitempty"`
	Reason              string       `json:"Reason"`
	RemoveOrg           string       `json:"DispositionRemoveOrg,omitempty"`
	RemovePerson        string       `json:"DispositionRemovePerson,omitempty"`
	RemoveTime          string       `json:"DispositionRemoveTime,omitempty"`
	RemoveReason        string       `json:"DispositionRemoveReason,omitempty"`
	SubImageList        SubImageList `json:"SubImageList,omitzero"` // faces: the watched photos (Data)
	Similaritydegree    FlexFloat    `json:"Similaritydegree,omitempty"`
	PlateMatch          string       `json:"PlateMatch,omitempty"` // exact (default) or fuzzy
}

type DispositionListObject struct {
	DispositionObject []Disposition `json:"DispositionObject"`
}
type DispositionList struct {
	DispositionListObject DispositionListObject `json:"DispositionListObject"`
}

func NewDispositionList(ds ...Disposition) DispositionList {
	return DispositionList{DispositionListObject{DispositionObject: nonNil(ds)}}
}

// DispositionNotification reports one hit to the disposition's ReceiveAddr: the
// object caught, as stored (MotorVehicleObject, PersonObject; FaceObject for a
// face, which the standard's list lacks and the platforms that watch faces add).
type DispositionNotification struct {
	NotificationID     string          `json:"NotificationID"` // 33 digits
	DispositionID      string          `json:"DispositionID"`
	Title              string          `json:"Title"`
	TriggerTime        string          `json:"TriggerTime"`
	CntObjectID        string          `json:"CntObjectID"` // the caught record's 48-character ID
	PersonObject       json.RawMessage `json:"PersonObject,omitempty"`
	FaceObject         json.RawMessage `json:"FaceObject,omitempty"`
	MotorVehicleObject json.RawMessage `json:"MotorVehicleObject,omitempty"`
}

type DispositionNotificationListObject struct {
	DispositionNotificationObject []DispositionNotification `json:"DispositionNotificationObject"`
}
type DispositionNotificationList struct {
	DispositionNotificationListObject DispositionNotificationListObject `json:"DispositionNotificationListObject"`
}

func NewDispositionNotificationList(ns ...DispositionNotification) DispositionNotificationList {
	return DispositionNotificationList{DispositionNotificationListObject{DispositionNotificationObject: nonNil(ns)}}
}
