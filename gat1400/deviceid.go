package gat1400

import (
	"strconv"
	"unicode/utf8"
)

// DeviceID is a parsed GB/T 28181 20-digit code (used for DeviceID, ApeID, TollgateID,
// VIIDServerID). Positions, 1-based: center 1-8, industry 9-10, type 11-13,
// network 14, serial 15-20.
type DeviceID struct {
	Center   string // 8 digits: province 2, city 2, district 2, grassroots unit 2 (GB/T 2260)
	Industry string // 2 digits, e.g. 00 public-security road, 05 traffic checkpoint
	Type     string // 3 digits, e.g. 131 camera, 132 IPC, 121 video checkpoint, 503 VIID
	Network  string // 1 digit, 0-8
	Serial   string // 6 digits
}

// ParseDeviceID validates s as a GB/T 28181 ID: exactly 20 ASCII digits, a real
// province-level GB/T 2260 code, a known device type (see [IsKnownDeviceType]) and a
// network digit 0-8. The standard has no checksum, so this is as strict as one can be
// without a device registry. Errors are *FieldError with Field "device_id".
func ParseDeviceID(s string) (DeviceID, error) {
	if len(s) != 20 {
		return DeviceID{}, fieldErr("device_id", "must be exactly 20 digits, got %d characters", utf8.RuneCountInString(s))
	}
	if i := nonDigit(s); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return DeviceID{}, fieldErr("device_id", "position %d is %q, not an ASCII digit", i+1, r)
	}
	d := DeviceID{Center: s[0:8], Industry: s[8:10], Type: s[10:13], Network: s[13:14], Serial: s[14:20]}
	if !isProvince(s[0:2]) {
		return DeviceID{}, fieldErr("device_id", "position 1-2 province code %s is not a GB/T 2260 province-level code", s[0:2])
	}
	if !IsKnownDeviceType(d.Type) {
		return DeviceID{}, fieldErr("device_id", "position 11-13 type code %s is not a GB/T 28181 device type", d.Type)
	}
	if d.Network > "8" {
		return DeviceID{}, fieldErr("device_id", "position 14 network code %s is not 0-8", d.Network)
	}
	return d, nil
}

// String reassembles the 20-digit ID.
func (d DeviceID) String() string { return d.Center + d.Industry + d.Type + d.Network + d.Serial }

// AdminDivision is the 6-digit GB/T 2260 division (province+city+district), the key
// the catalogue and 分权分域 permissions are split by.
func (d DeviceID) AdminDivision() string { return d.Center[:6] }

// Province is the 2-digit province-level code.
func (d DeviceID) Province() string { return d.Center[:2] }

// IsCamera reports whether the device produces images itself, so its ID may appear as
// the DeviceID of a capture: 131 camera, 132 IPC, 121 video checkpoint, 122 multi-lens
// device, and 119, which GB/T 28181 reserves but real capture cameras report (GAT1400.md §7).
func (d DeviceID) IsCamera() bool {
	switch d.Type {
	case "119", "121", "122", "131", "132":
		return true
	}
	return false
}

// IsKnownDeviceType reports whether a 3-digit type code is one CityEye accepts:
//   - 111-130 front-end main devices (the whole block the standard assigns, so reserved
//     119 and 126-129 pass; 119 is used by real capture cameras);
//   - 131-143 front-end peripherals as enumerated by wvp (GB/T 28181-2022 adds 140-143);
//   - 200-216 platform devices (the enumerated block; 215 business group, 216 virtual org);
//   - 300 central user, 400 terminal user;
//   - 500-505 external servers (503 is a VIID server).
//
// The standard's "extension" ranges (e.g. 144-199, 217-299, 506-999) are rejected: no
// peer in the reference uses them and accepting them would make the check meaningless.
func IsKnownDeviceType(code string) bool {
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 {
		return false
	}
	switch {
	case n >= 111 && n <= 143, n >= 200 && n <= 216, n == 300, n == 400, n >= 500 && n <= 505:
		return true
	}
	return false
}

// isProvince checks GB/T 2260 province-level codes: 11-15, 21-23, 31-37, 41-46,
// 50-54, 61-65, 71 Taiwan, 81 Hong Kong, 82 Macao.
func isProvince(p string) bool {
	n, err := strconv.Atoi(p)
	if err != nil {
		return false
	}
	switch {
	case n >= 11 && n <= 15, n >= 21 && n <= 23, n >= 31 && n <= 37, n >= 41 && n <= 46,
		n >= 50 && n <= 54, n >= 61 && n <= 65, n == 71, n == 81, n == 82:
		return true
	}
	return false
}

// nonDigit returns the index of the first byte that is not '0'-'9', or -1.
func nonDigit(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}
