package gat1400

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDeviceIDValid(t *testing.T) {
	for _, tc := range []struct {
		id, division, typ string
		camera            bool
	}{
		{"34020000001320000001", "340200", "132", true},  // IPC
		{"33010101001210000001", "330101", "121", true},  // video checkpoint (C)
		{"44150200001310000001", "441502", "131", true},  // camera, Shanwei division
		{"34020000001190000001", "340200", "119", true},  // real capture camera (G)
		{"34020000002000000001", "340200", "200", false}, // central signalling server
		{"44150200005030000001", "441502", "503", false}, // VIID server
	} {
		d, err := ParseDeviceID(tc.id)
		if err != nil {
			t.Fatalf("ParseDeviceID(%s): %v", tc.id, err)
		}
		if d.String() != tc.id || d.AdminDivision() != tc.division || d.Type != tc.typ || d.IsCamera() != tc.camera {
			t.Errorf("%s: got %+v division=%s camera=%v", tc.id, d, d.AdminDivision(), d.IsCamera())
		}
	}
	d, _ := ParseDeviceID("34020000001320000001")
	want := DeviceID{Center: "34020000", Industry: "00", Type: "132", Network: "0", Serial: "000001"}
	if d != want || d.Province() != "34" {
		t.Errorf("split = %+v, want %+v", d, want)
	}
}

func TestParseDeviceIDInvalid(t *testing.T) {
	for _, tc := range []struct{ name, id, reason string }{
		{"19 digits", "3402000000132000000", "exactly 20 digits, got 19"},
		{"21 digits", "340200000013200000011", "got 21"},
		{"empty", "", "got 0"},
		{"letters", "3402000000132000000A", `position 20 is 'A'`},
		{"non-ASCII digit", "３4020000001320000001"[:20], "not an ASCII digit"},
		{"province 99", "99020000001320000001", "province code 99 is not a GB/T 2260"},
		{"province 00", "00020000001320000001", "province code 00"},
		{"type 999", "34020000009990000001", "position 11-13 type code 999 is not a GB/T 28181 device type"},
		{"type 100", "34020000001000000001", "type code 100"},
		{"type 217 (platform extension)", "34020000002170000001", "type code 217"},
		{"network 9", "34020000001329000001", "position 14 network code 9 is not 0-8"},
	} {
		_, err := ParseDeviceID(tc.id)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FieldError", tc.name, err)
			continue
		}
		if fe.Field != "device_id" || !strings.Contains(fe.Msg, tc.reason) {
			t.Errorf("%s: got %q, want field device_id and %q", tc.name, fe.Error(), tc.reason)
		}
	}
}

func TestIsKnownDeviceType(t *testing.T) {
	for code, want := range map[string]bool{
		"111": true, "118": true, "119": true, "130": true, "131": true, "132": true, "135": true, "143": true,
		"200": true, "216": true, "300": true, "400": true, "500": true, "503": true, "505": true,
		"110": false, "144": false, "199": false, "217": false, "301": false, "506": false, "999": false,
		"13": false, "13a": false,
	} {
		if got := IsKnownDeviceType(code); got != want {
			t.Errorf("IsKnownDeviceType(%q) = %v, want %v", code, got, want)
		}
	}
}
