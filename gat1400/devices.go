package gat1400

// Checkpoints (卡口) and their lanes, served from the camera catalogue
// (/VIID/Tollgates, /VIID/Lanes). Field names as the Java server (A) and the C++
// client (C) of GAT1400.md write them.

// Tollgate is a checkpoint (TollgateObject).
type Tollgate struct {
	TollgateID    string    `json:"TollgateID"` // 20 digits
	Name          string    `json:"Name"`
	Longitude     FlexFloat `json:"Longitude"`
	Latitude      FlexFloat `json:"Latitude"`
	PlaceCode     string    `json:"PlaceCode"`     // 6-digit admin division
	Status        string    `json:"Status"`        // "1" in use, "2" out of use, "9" other
	TollgateCat   string    `json:"TollgateCat"`   // 10 international … 99 other
	TollgateUsage FlexInt   `json:"TollgateUsage"` // 80 public security, 81 traffic, 82 other
	LaneNum       FlexInt   `json:"LaneNum"`
	OrgCode       string    `json:"OrgCode,omitempty"`
}

// Lane is one lane of a checkpoint (LaneObject).
type Lane struct {
	TollgateID string  `json:"TollgateID"`
	LaneNo     FlexInt `json:"LaneNo"`
	Name       string  `json:"Name"`
	Direction  string  `json:"Direction,omitempty"`
	Desc       string  `json:"Desc,omitempty"`
	MaxSpeed   FlexInt `json:"MaxSpeed,omitempty"`
	CityPass   FlexInt `json:"CityPass,omitempty"`
	ApeID      string  `json:"ApeID"` // the camera that watches the lane
}

type TollgateListObject struct {
	TollgateObject []Tollgate `json:"TollgateObject"`
}
type TollgateList struct {
	TollgateListObject TollgateListObject `json:"TollgateListObject"`
}

func NewTollgateList(ts ...Tollgate) TollgateList {
	return TollgateList{TollgateListObject{TollgateObject: nonNil(ts)}}
}

type LaneListObject struct {
	LaneObject []Lane `json:"LaneObject"`
}
type LaneList struct {
	LaneListObject LaneListObject `json:"LaneListObject"`
}

func NewLaneList(ls ...Lane) LaneList { return LaneList{LaneListObject{LaneObject: nonNil(ls)}} }
