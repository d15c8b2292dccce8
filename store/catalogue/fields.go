// Package catalogue reads and writes the city's camera catalogue (resource directory,
// seed 003 appendix 5) as CSV or XLSX with Chinese or English headers, and checks
// every field of every row: a file is taken whole or refused with each row's errors.
package catalogue

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cityeye/cityeye/gat1400"
	"github.com/cityeye/cityeye/store"
)

// Field is one column: its English key, the appendix's Chinese name, whether a row
// must fill it, and how its text becomes a Camera field.
type Field struct {
	Key      string
	Chinese  string
	Required bool
	set      func(c *store.Camera, v string) error
	get      func(c *store.Camera) string
}

var (
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	positionRE = regexp.MustCompile(`^[A-Z][0-9]{4}$`)
	macRE      = regexp.MustCompile(`^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$`)
	phoneRE    = regexp.MustCompile(`^[0-9+\-() ]{3,20}$`)
)

// text accepts up to max characters (the appendix's string(n)); required ones not blank.
func text(max int, f func(c *store.Camera) *string) (func(*store.Camera, string) error, func(*store.Camera) string) {
	return func(c *store.Camera, v string) error {
			if n := len([]rune(v)); n > max {
				return fmt.Errorf("%d characters, at most %d", n, max)
			}
			*f(c) = v
			return nil
		}, func(c *store.Camera) string {
			return *f(c)
		}
}

// code accepts one of the allowed integers, described for the error.
func code(allowed []int, desc string, f func(c *store.Camera) *int) (func(*store.Camera, string) error, func(*store.Camera) string) {
	return func(c *store.Camera, v string) error {
			if v == "" {
				*f(c) = 0
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || !slices.Contains(allowed, n) {
				return fmt.Errorf("%q is not one of %s", v, desc)
			}
			*f(c) = n
			return nil
		}, func(c *store.Camera) string {
			if *f(c) == 0 {
				return ""
			}
			return strconv.Itoa(*f(c))
		}
}

func span(lo, hi int, extra ...int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return append(out, extra...)
}

// coordinate accepts a number in [-lim, lim] with at most 6 decimals.
func coordinate(lim float64, f func(c *store.Camera) *float64) (func(*store.Camera, string) error, func(*store.Camera) string) {
	return func(c *store.Camera, v string) error {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || x < -lim || x > lim {
				return fmt.Errorf("%q is not a number in [-%g, %g]", v, lim, lim)
			}
			if _, frac, ok := strings.Cut(v, "."); ok && len(frac) > 6 {
				return fmt.Errorf("%q has %d decimals, at most 6", v, len(frac))
			}
			*f(c) = x
			return nil
		}, func(c *store.Camera) string {
			return strconv.FormatFloat(*f(c), 'f', 6, 64)
		}
}

// check wraps a text setter with a format check that runs on non-empty values.
func check(set func(*store.Camera, string) error, ok func(string) error) func(*store.Camera, string) error {
	return func(c *store.Camera, v string) error {
		if v != "" {
			if err := ok(v); err != nil {
				return err
			}
		}
		return set(c, v)
	}
}

func field(key, chinese string, required bool, set func(*store.Camera, string) error, get func(*store.Camera) string) Field {
	return Field{Key: key, Chinese: chinese, Required: required, set: set, get: get}
}

// with builds a field from a (setter, getter) pair and an optional format check.
func with(key, chinese string, required bool, sg func() (func(*store.Camera, string) error, func(*store.Camera) string), ok func(string) error) Field {
	set, get := sg()
	if ok != nil {
		set = check(set, ok)
	}
	return field(key, chinese, required, set, get)
}

// Fields are the catalogue's columns in the appendix's order, then the CityEye
// owner department and the optional pull URL.
var Fields = []Field{
	with("device_id", "设备编码", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(20, func(c *store.Camera) *string { return &c.DeviceID })
	}, checkDeviceID),
	with("name", "设备名称", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(100, func(c *store.Camera) *string { return &c.Name })
	}, nil),
	with("admin_division", "行政区划", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(6, func(c *store.Camera) *string { return &c.AdminDivision })
	}, digits(6, 6)),
	with("grassroots_code", "基层组织编码", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(10, func(c *store.Camera) *string { return &c.GrassrootsCode })
	}, digits(1, 10)),
	with("builder", "建设单位", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(256, func(c *store.Camera) *string { return &c.Builder })
	}, nil),
	with("manager", "管理单位", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(256, func(c *store.Camera) *string { return &c.Manager })
	}, nil),
	with("manager_phone", "管理单位联系方式", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(20, func(c *store.Camera) *string { return &c.ManagerPhone })
	}, matches(phoneRE, "a telephone number (digits, +, -, spaces, brackets)")),
	with("contractor", "承建单位", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(256, func(c *store.Camera) *string { return &c.Contractor })
	}, nil),
	with("maintainer", "维护单位", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(256, func(c *store.Camera) *string { return &c.Maintainer })
	}, nil),
	with("point_type", "监控点位类型", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code([]int{1, 2, 3, 9}, "1, 2, 3 (first to third class), 9 (other)", func(c *store.Camera) *int { return &c.PointType })
	}, nil),
	with("platform_code", "平台编码", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(128, func(c *store.Camera) *string { return &c.PlatformCode })
	}, digits(20, 20)),
	with("industry_code", "摄像机所属部门/行业", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(30, func(c *store.Camera) *string { return &c.IndustryCode })
	}, industry),
	with("camera_type", "摄像机类型", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code(span(1, 5, 99), "1 PTZ dome, 2 fixed dome, 3 fixed bullet, 4 PTZ bullet, 5 checkpoint, 99 other", func(c *store.Camera) *int { return &c.CameraType })
	}, nil),
	with("online_state", "联网状态", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code([]int{1, 2}, "1 online, 2 offline", func(c *store.Camera) *int { return &c.OnlineState })
	}, nil),
	with("address", "安装地址", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(100, func(c *store.Camera) *string { return &c.Address })
	}, nil),
	with("position_types", "摄像机位置类型", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(255, func(c *store.Camera) *string { return &c.PositionTypes })
	}, positions),
	with("coord_system", "经纬度类型", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(30, func(c *store.Camera) *string { return &c.CoordSystem })
	}, coordSystem),
	with("longitude", "经度", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return coordinate(180, func(c *store.Camera) *float64 { return &c.Longitude })
	}, nil),
	with("latitude", "纬度", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return coordinate(90, func(c *store.Camera) *float64 { return &c.Latitude })
	}, nil),
	with("ipv4", "IPV4地址", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(32, func(c *store.Camera) *string { return &c.IPv4 })
	}, ipv4),
	with("mac", "MAC地址", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(48, func(c *store.Camera) *string { return &c.MAC })
	}, matches(macRE, "six hexadecimal pairs such as f8:a4:5f:ff:2d:4f")),
	with("indoor", "摄像机安装位置室内外", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code([]int{1, 2}, "1 outdoor, 2 indoor", func(c *store.Camera) *int { return &c.Indoor })
	}, nil),
	with("direction", "摄像机监控方位", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code(span(1, 9), "1-9 (1 east … 8 north-west, 9 other)", func(c *store.Camera) *int { return &c.Direction })
	}, nil),
	with("pole_number", "立杆编号", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(12, func(c *store.Camera) *string { return &c.PoleNumber })
	}, digits(12, 12)),
	with("access_network", "接入网络", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code(span(1, 9, 99), "1-9, 99 (1 public-security network … 9 other police network, 99 other)", func(c *store.Camera) *int { return &c.AccessNetwork })
	}, nil),
	field("retention_days", "录像保存天数", true, func(c *store.Camera, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			return fmt.Errorf("%q is not a number of days in [1, 3650]", v)
		}
		c.RetentionDays = n
		return nil
	}, func(c *store.Camera) string { return strconv.Itoa(c.RetentionDays) }),
	with("sharing", "共享属性", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code([]int{0, 1, 2}, "0 conditional, 1 unconditional, 2 not shared", func(c *store.Camera) *int { return &c.Sharing })
	}, nil),
	with("permissions", "默认权限", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(20, func(c *store.Camera) *string { return &c.Permissions })
	}, permissions),
	with("vendor", "设备厂商", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code(span(1, 17, 99), "1-17, 99 (1 Hikvision, 2 Dahua … 17 Gosuncn, 99 other)", func(c *store.Camera) *int { return &c.Vendor })
	}, nil),
	with("codec", "摄像机编码格式", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code(span(1, 5), "1 MPEG-4, 2 H.264, 3 SVAC, 4 H.265, 5 other", func(c *store.Camera) *int { return &c.Codec })
	}, nil),
	with("device_status", "设备状态", true, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return code([]int{1, 2, 3}, "1 in use, 2 repair, 3 removed", func(c *store.Camera) *int { return &c.DeviceStatus })
	}, nil),
	with("owner_department", "所属部门ID", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(32, func(c *store.Camera) *string { return &c.OwnerDept })
	}, nil),
	with("url", "视频流地址", false, func() (func(*store.Camera, string) error, func(*store.Camera) string) {
		return text(1024, func(c *store.Camera) *string { return &c.URL })
	}, nil),
}

func digits(lo, hi int) func(string) error {
	return func(v string) error {
		if !digitsRE.MatchString(v) || len(v) < lo || len(v) > hi {
			if lo == hi {
				return fmt.Errorf("%q is not %d digits", v, lo)
			}
			return fmt.Errorf("%q is not %d to %d digits", v, lo, hi)
		}
		return nil
	}
}

func matches(re *regexp.Regexp, want string) func(string) error {
	return func(v string) error {
		if !re.MatchString(v) {
			return fmt.Errorf("%q is not %s", v, want)
		}
		return nil
	}
}

func checkDeviceID(v string) error {
	d, err := gat1400.ParseDeviceID(v)
	if err != nil {
		if fe, ok := err.(*gat1400.FieldError); ok {
			return fmt.Errorf("%s", fe.Msg)
		}
		return err
	}
	if !d.IsCamera() {
		return fmt.Errorf("type code %s is not a camera or checkpoint (131, 132, 121 …)", d.Type)
	}
	return nil
}

func industry(v string) error {
	n, err := strconv.Atoi(v)
	if len(v) != 2 || err != nil || !(n >= 1 && n <= 32 || n == 99) {
		return fmt.Errorf("%q is not a department code 01-32 or 99", v)
	}
	return nil
}

func positions(v string) error {
	for _, p := range strings.Split(v, ",") {
		if !positionRE.MatchString(strings.TrimSpace(p)) {
			return fmt.Errorf("%q is not a comma-separated list of area codes such as A0101,B0101", v)
		}
	}
	return nil
}

func coordSystem(v string) error {
	if v != "WGS84" && v != "CGCS2000" {
		return fmt.Errorf("%q is not WGS84 or CGCS2000", v)
	}
	return nil
}

func ipv4(v string) error {
	if ip := net.ParseIP(v); ip == nil || ip.To4() == nil || strings.Count(v, ".") != 3 {
		return fmt.Errorf("%q is not a dotted IPv4 address such as 192.168.1.1", v)
	}
	return nil
}

func permissions(v string) error {
	seen := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if len(p) != 1 || p < "1" || p > "5" || seen[p] {
			return fmt.Errorf("%q is not distinct values 1-5 separated by commas (1 live view, 2 playback, 3 download, 4 PTZ, 5 clip sharing)", v)
		}
		seen[p] = true
	}
	return nil
}

// crossCheck is what one field alone cannot say: the device ID's centre code and the
// pole number lie in the camera's division or a division above it.
func crossCheck(c *store.Camera) (string, error) {
	if !within(c.DeviceID[:6], c.AdminDivision) {
		return "device_id", fmt.Errorf("centre code %s is not admin division %s nor a division above it", c.DeviceID[:6], c.AdminDivision)
	}
	if c.PoleNumber != "" && !within(c.PoleNumber[:6], c.AdminDivision) {
		return "pole_number", fmt.Errorf("division part %s is not admin division %s nor a division above it", c.PoleNumber[:6], c.AdminDivision)
	}
	return "", nil
}

// within reports whether centre is division or one of its parents (441500 and 440000
// for 441502), by the GB/T 2260 rule that a parent ends in zeros.
func within(centre, division string) bool {
	return centre == division || (centre != "000000" && strings.HasPrefix(division, trimPairs(centre)) && strings.HasSuffix(centre, "00"))
}

func trimPairs(code string) string {
	for len(code) >= 2 && strings.HasSuffix(code, "00") {
		code = code[:len(code)-2]
	}
	return code
}
