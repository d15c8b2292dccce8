package gat1400

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The camera capture worked example in GAT1400.md §1 (G).
const (
	exDevice   = "34020000001190000001"
	exSourceID = "34020000001190000001" + "02" + "20190711150344" + "00060"
	exFaceID   = exSourceID + "06" + "00061"
)

var exTime = time.Date(2019, 7, 11, 15, 3, 44, 0, Location)

func TestWorkedExampleIDs(t *testing.T) {
	src := SourceID(exDevice, SourceImage, exTime, 60)
	if src != exSourceID || len(src) != 41 {
		t.Fatalf("SourceID = %s (%d), want %s", src, len(src), exSourceID)
	}
	face := ContentID(src, SubtypeFace, 61)
	if face != exFaceID || len(face) != 48 {
		t.Fatalf("ContentID = %s (%d), want %s", face, len(face), exFaceID)
	}
	// The face crop's ImageID is the SourceID with serial 00062.
	if crop := SourceID(exDevice, SourceImage, exTime, 62); crop != exSourceID[:36]+"00062" {
		t.Errorf("crop ImageID = %s", crop)
	}
	// B: deviceId+"02"+time+"00001", then "02"+"00001" for a motor vehicle.
	if mv := ContentID(SourceID(exDevice, "02", exTime, 1), "02", 1); mv != exDevice+"02"+"20190711150344"+"00001"+"02"+"00001" {
		t.Errorf("motor vehicle ID = %s", mv)
	}
	// F: a 12-digit org code + 03 subscription.
	sub := BusinessID("360000000000", BusinessSubscribe, exTime, 7)
	if sub != "36000000000003"+"20190711150344"+"00007" || len(sub) != 33 {
		t.Errorf("BusinessID = %s (%d)", sub, len(sub))
	}
}

func TestSourceIDUsesTimeLocationAndWrapsSerial(t *testing.T) {
	utc := exTime.UTC() // 07:03:44 UTC: FormatTime does not convert
	if got := SourceID(exDevice, SourceImage, utc, 100061); got[22:36] != "20190711070344" || got[36:] != "00061" {
		t.Errorf("SourceID(UTC, 100061) = %s", got)
	}
	if got := SourceID(exDevice, SourceImage, exTime, -1); got[36:] != "99999" || len(got) != 41 {
		t.Errorf("negative serial gave %s", got)
	}
}

func TestParseSourceAndContentID(t *testing.T) {
	c, err := ParseContentID(exFaceID)
	if err != nil {
		t.Fatal(err)
	}
	if c.SourceID != exSourceID || c.Subtype != SubtypeFace || c.Serial != 61 ||
		c.Source.Kind != SourceImage || c.Source.Serial != 60 || c.Source.Device.String() != exDevice ||
		!c.Source.Time.Equal(exTime) {
		t.Errorf("ParseContentID = %+v", c)
	}
	bad := []struct{ name, id, field, reason string }{
		{"source 40", exSourceID[:40], "source_id", "exactly 41 digits, got 40"},
		{"source letter", exSourceID[:40] + "x", "source_id", "position 41"},
		{"source kind 05", exDevice + "05" + exSourceID[22:], "source_id", "kind 05"},
		{"source month 13", exDevice + "02" + "20191311150344" + "00060", "source_id", "position 23-36"},
		{"source device", "99" + exSourceID[2:], "source_id", "device part: position 1-2 province code 99"},
		{"content 47", exFaceID[:47], "content_id", "exactly 48 digits"},
		{"content subtype 08", exSourceID + "08" + "00061", "content_id", "subtype 08"},
		{"content bad source", exDevice + "04" + exFaceID[22:], "content_id", "source part: position 21-22 kind 04"},
	}
	for _, tc := range bad {
		var err error
		if tc.field == "source_id" {
			_, err = ParseSourceID(tc.id)
		} else {
			_, err = ParseContentID(tc.id)
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.reason) {
			t.Errorf("%s: err = %v, want %s: …%s…", tc.name, err, tc.field, tc.reason)
		}
	}
}

func TestTimeFormats(t *testing.T) {
	if s := FormatTime(exTime); s != "20190711150344" {
		t.Errorf("FormatTime = %s", s)
	}
	t14, err := ParseTime("20190711150344")
	if err != nil || !t14.Equal(exTime) {
		t.Errorf("ParseTime 14 = %v, %v", t14, err)
	}
	if _, off := t14.Zone(); off != 8*3600 {
		t.Errorf("zone offset %d, want UTC+8 (Asia/Shanghai)", off)
	}
	t17, err := ParseTime("20190711150344123")
	if err != nil || !t17.Equal(exTime.Add(123*time.Millisecond)) {
		t.Errorf("ParseTime 17 = %v, %v", t17, err)
	}
	tz, _ := ParseTimeIn("20190711150344", time.UTC)
	if !tz.Equal(exTime.Add(8 * time.Hour)) {
		t.Errorf("ParseTimeIn UTC = %v", tz)
	}
	for _, s := range []string{"", "2019071115034", "201907111503441", "2019-07-11T15:03:44+08:00", "20190230150344", "20190711250344"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}
