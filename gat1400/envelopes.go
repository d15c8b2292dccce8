package gat1400

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// List envelopes: {"<X>ListObject":{"<X>Object":[…]}}, the shape every implementation in
// the reference agrees on. The inner <X>ListObject types are reused inside
// SubscribeNotification ("FaceObjectList":{"FaceObject":[…]}). New<X>List builds the
// whole body for POST /VIID/<X>s or a GET answer.

type FaceListObject struct {
	FaceObject []Face `json:"FaceObject"`
}
type FaceList struct {
	FaceListObject FaceListObject `json:"FaceListObject"`
}

func NewFaceList(faces ...Face) FaceList {
	return FaceList{FaceListObject{FaceObject: nonNil(faces)}}
}

type PersonListObject struct {
	PersonObject []Person `json:"PersonObject"`
}
type PersonList struct {
	PersonListObject PersonListObject `json:"PersonListObject"`
}

func NewPersonList(persons ...Person) PersonList {
	return PersonList{PersonListObject{PersonObject: nonNil(persons)}}
}

type MotorVehicleListObject struct {
	MotorVehicleObject []MotorVehicle `json:"MotorVehicleObject"`
}
type MotorVehicleList struct {
	MotorVehicleListObject MotorVehicleListObject `json:"MotorVehicleListObject"`
}

func NewMotorVehicleList(vehicles ...MotorVehicle) MotorVehicleList {
	return MotorVehicleList{MotorVehicleListObject{MotorVehicleObject: nonNil(vehicles)}}
}

type NonMotorVehicleListObject struct {
	NonMotorVehicleObject []NonMotorVehicle `json:"NonMotorVehicleObject"`
}
type NonMotorVehicleList struct {
	NonMotorVehicleListObject NonMotorVehicleListObject `json:"NonMotorVehicleListObject"`
}

func NewNonMotorVehicleList(vehicles ...NonMotorVehicle) NonMotorVehicleList {
	return NonMotorVehicleList{NonMotorVehicleListObject{NonMotorVehicleObject: nonNil(vehicles)}}
}

type APEListObject struct {
	APEObject []APE `json:"APEObject"`
}
type APEList struct {
	APEListObject APEListObject `json:"APEListObject"`
}

func NewAPEList(apes ...APE) APEList { return APEList{APEListObject{APEObject: nonNil(apes)}} }

type SubscribeListObject struct {
	SubscribeObject []Subscribe `json:"SubscribeObject"`
}
type SubscribeList struct {
	SubscribeListObject SubscribeListObject `json:"SubscribeListObject"`
}

func NewSubscribeList(subs ...Subscribe) SubscribeList {
	return SubscribeList{SubscribeListObject{SubscribeObject: nonNil(subs)}}
}

type SubscribeNotificationListObject struct {
	SubscribeNotificationObject []SubscribeNotification `json:"SubscribeNotificationObject"`
}
type SubscribeNotificationList struct {
	SubscribeNotificationListObject SubscribeNotificationListObject `json:"SubscribeNotificationListObject"`
}

func NewSubscribeNotificationList(ns ...SubscribeNotification) SubscribeNotificationList {
	return SubscribeNotificationList{SubscribeNotificationListObject{SubscribeNotificationObject: nonNil(ns)}}
}

// ResponseStatusEnvelope is the single answer to Register, UnRegister and Keepalive.
type ResponseStatusEnvelope struct {
	ResponseStatusObject ResponseStatus `json:"ResponseStatusObject"`
}

type ResponseStatusListObject struct {
	ResponseStatusObject []ResponseStatus `json:"ResponseStatusObject"`
}

// ResponseStatusList is the answer to batch POST/PUT/DELETE: one entry per object.
type ResponseStatusList struct {
	ResponseStatusListObject ResponseStatusListObject `json:"ResponseStatusListObject"`
}

func NewResponseStatusList(statuses ...ResponseStatus) ResponseStatusList {
	return ResponseStatusList{ResponseStatusListObject{ResponseStatusObject: nonNil(statuses)}}
}

// DecodeResponseStatuses reads a peer's answer in either shape: the list, or a single
// ResponseStatusObject, which some platforms (a Dahua-facing client) return even for
// batch writes. A list whose ResponseStatusObject is a lone object is accepted too.
func DecodeResponseStatuses(data []byte) ([]ResponseStatus, error) {
	var probe struct {
		List   *struct{ ResponseStatusObject json.RawMessage } `json:"ResponseStatusListObject"`
		Single *ResponseStatus                                 `json:"ResponseStatusObject"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	switch {
	case probe.List != nil:
		raw := bytes.TrimSpace(probe.List.ResponseStatusObject)
		if len(raw) > 0 && raw[0] == '{' {
			var one ResponseStatus
			err := json.Unmarshal(raw, &one)
			return []ResponseStatus{one}, err
		}
		var list []ResponseStatus
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &list); err != nil {
				return nil, err
			}
		}
		return list, nil
	case probe.Single != nil:
		return []ResponseStatus{*probe.Single}, nil
	}
	return nil, fmt.Errorf("gat1400: no ResponseStatusObject or ResponseStatusListObject in response")
}

// nonNil makes an empty list encode as [] rather than null, which Java peers choke on.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
