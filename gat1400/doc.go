// Package gat1400 models the GA/T 1400 (视图库, VIID) records CityEye writes and the
// GB/T 28181 device IDs they carry: ID composition, code tables, JSON objects and list
// envelopes with the standard's exact field names, lenient decoding and validation.
//
// It follows /work/shared/reference/GAT1400.md, which was distilled from open-source
// implementations (the standard's text itself was not available). Where those
// implementations disagree the package reads every variant seen and writes the one the
// reference calls safest.
//
// Times on the wire carry no zone. CityEye writes and reads them in [Location]
// (Asia/Shanghai unless configured), which is what Chinese VIID peers assume.
package gat1400

import (
	"fmt"
	"time"
)

// Protocol constants for HTTP handlers and clients.
const (
	// ContentType is the media type GA/T 1400 peers send. Accept any JSON-ish variant
	// (application/viid+json, application/json;charset=UTF-8) on input.
	ContentType = "application/VIID+JSON"
	// HeaderUserIdentify carries the sender's 20-digit ID on every request after Register.
	HeaderUserIdentify = "User-Identify"
)

// Location is the zone wire times are written and parsed in. It defaults to
// Asia/Shanghai (a fixed UTC+8 zone if the tz database is missing, which is identical
// for every date since China dropped DST in 1991). Set it once at start-up, before any
// concurrent use, if a deployment must differ.
var Location = loadShanghai()

func loadShanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// FieldError reports one invalid field. Field is the JSON field name for objects
// (e.g. "FaceID", "SubImageList.SubImageInfoObject[0].ImageID") or a snake_case name
// for bare values ("device_id", "source_id", "content_id", "time"), so API handlers can
// echo it to the peer unchanged.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// rename moves an error produced for a bare value onto a named field, keeping the reason.
func rename(err error, field, prefix string) error {
	if fe, ok := err.(*FieldError); ok {
		return &FieldError{Field: field, Msg: prefix + fe.Msg}
	}
	if err != nil {
		return &FieldError{Field: field, Msg: prefix + err.Error()}
	}
	return nil
}
