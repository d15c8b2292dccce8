package gat1400

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Wire time layouts: 14 digits, and the 17-digit millisecond form D allows.
const (
	timeLayout      = "20060102150405"
	timeLayoutMilli = "20060102150405.000"
)

// FormatTime renders t as YYYYMMDDhhmmss in t's own location, as do SourceID and
// BusinessID, so callers control the zone. Wire times carry none, so pass t.In(Location)
// unless t is already in CityEye's zone (Asia/Shanghai by default). The "now"-style
// constructors (NewResponseStatus, NewSubscribeNotification) convert for you.
func FormatTime(t time.Time) string { return t.Format(timeLayout) }

// ParseTime reads a 14-digit (YYYYMMDDhhmmss) or 17-digit (…MMM milliseconds) wire time
// in [Location]. Anything else, including RFC 3339, is an error: it is not the standard.
func ParseTime(s string) (time.Time, error) { return ParseTimeIn(s, Location) }

// ParseTimeIn is [ParseTime] for a peer known to use another zone.
func ParseTimeIn(s string, loc *time.Location) (time.Time, error) {
	if i := nonDigit(s); i >= 0 || (len(s) != 14 && len(s) != 17) {
		return time.Time{}, fieldErr("time", "%q is not YYYYMMDDhhmmss or YYYYMMDDhhmmssMMM", s)
	}
	var t time.Time
	var err error
	if len(s) == 17 {
		t, err = time.ParseInLocation(timeLayoutMilli, s[:14]+"."+s[14:], loc)
	} else {
		t, err = time.ParseInLocation(timeLayout, s, loc)
	}
	if err != nil {
		return time.Time{}, fieldErr("time", "%q is not a valid date and time", s)
	}
	return t, nil
}

// serial5 renders a running counter as 5 digits. Counters wrap modulo 100000 rather than
// overflow, because a longer ID would be rejected by every peer.
func serial5(n int) string {
	n %= 100000
	if n < 0 {
		n += 100000
	}
	return fmt.Sprintf("%05d", n)
}

// SourceID builds a 41-digit BasicObjectIdType (SourceID, ImageID, VideoID):
// device(20) + kind(2) + FormatTime(t)(14) + serial(5). Inputs are not checked, so a
// generator never fails mid-pipeline; [Face.Validate] and friends check the result.
func SourceID(device string, kind SourceKind, t time.Time, serial int) string {
	return device + string(kind) + FormatTime(t) + serial5(serial)
}

// ContentID builds a 48-digit ImageCntObjectIdType (FaceID, PersonID, MotorVehicleID …):
// the 41-digit source ID + subtype(2) + serial(5).
func ContentID(sourceID string, subtype Subtype, serial int) string {
	return sourceID + string(subtype) + serial5(serial)
}

// BusinessID builds a 33-digit BusinessObjectIdType (SubscribeID, NotificationID,
// DispositionID): org code(12) + type(2) + FormatTime(t)(14) + serial(5).
func BusinessID(org12 string, typ BusinessType, t time.Time, serial int) string {
	return org12 + string(typ) + FormatTime(t) + serial5(serial)
}

// SourceIDParts is a parsed 41-digit source ID.
type SourceIDParts struct {
	Device DeviceID
	Kind   SourceKind
	Time   time.Time // in Location
	Serial int
}

// ParseSourceID validates a 41-digit source/image ID part by part: a valid device ID,
// kind 01/02/03, a real 14-digit time and a 5-digit serial. Errors: *FieldError "source_id".
func ParseSourceID(s string) (SourceIDParts, error) {
	const f = "source_id"
	if len(s) != 41 {
		return SourceIDParts{}, fieldErr(f, "must be exactly 41 digits, got %d characters", utf8.RuneCountInString(s))
	}
	if i := nonDigit(s); i >= 0 {
		return SourceIDParts{}, fieldErr(f, "position %d is not an ASCII digit", i+1)
	}
	d, err := ParseDeviceID(s[:20])
	if err != nil {
		return SourceIDParts{}, rename(err, f, "device part: ")
	}
	kind := SourceKind(s[20:22])
	if kind != SourceVideo && kind != SourceImage && kind != SourceFile {
		return SourceIDParts{}, fieldErr(f, "position 21-22 kind %s is not 01 video, 02 image or 03 file", kind)
	}
	t, err := ParseTime(s[22:36])
	if err != nil {
		return SourceIDParts{}, rename(err, f, "position 23-36: ")
	}
	n, _ := strconv.Atoi(s[36:])
	return SourceIDParts{Device: d, Kind: kind, Time: t, Serial: n}, nil
}

// ContentIDParts is a parsed 48-digit content ID.
type ContentIDParts struct {
	Source   SourceIDParts
	SourceID string // the leading 41 digits
	Subtype  Subtype
	Serial   int
}

// ParseContentID validates a 48-digit content ID: a valid source ID, a known subtype
// (01-07, 99) and a 5-digit serial. Errors: *FieldError "content_id".
func ParseContentID(s string) (ContentIDParts, error) {
	const f = "content_id"
	if len(s) != 48 {
		return ContentIDParts{}, fieldErr(f, "must be exactly 48 digits, got %d characters", utf8.RuneCountInString(s))
	}
	if i := nonDigit(s); i >= 0 {
		return ContentIDParts{}, fieldErr(f, "position %d is not an ASCII digit", i+1)
	}
	src, err := ParseSourceID(s[:41])
	if err != nil {
		return ContentIDParts{}, rename(err, f, "source part: ")
	}
	st := Subtype(s[41:43])
	if !st.known() {
		return ContentIDParts{}, fieldErr(f, "position 42-43 subtype %s is not a GA/T 1400 content subtype", st)
	}
	n, _ := strconv.Atoi(s[43:])
	return ContentIDParts{Source: src, SourceID: s[:41], Subtype: st, Serial: n}, nil
}
