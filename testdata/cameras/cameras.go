// Package cameras makes valid catalogue entries for tests and benchmarks.
package cameras

import (
	"fmt"

	"github.com/cityeye/cityeye/store"
)

// Valid is a valid catalogue entry number i, owned by owner, in the 6-digit
// division: an IPC (type 132) whose centre code is the division's, every appendix-5
// field filled. Tests change the fields they are about.
func Valid(i int, owner, division string) store.Camera {
	return store.Camera{
		DeviceID: fmt.Sprintf("%s0000132%07d", division, i%10_000_000), Name: fmt.Sprintf("测试路口%d号 北向", i), AdminDivision: division,
		GrassrootsCode: division + "001", Builder: "汕尾市公安局", Manager: "汕尾市公安局城区分局", ManagerPhone: "0660-3366110",
		Contractor: "海康威视/中国电信", Maintainer: "佳都科技", PointType: 1, PlatformCode: division + "00002000000001",
		IndustryCode: "06", CameraType: 3, OnlineState: 1, Address: fmt.Sprintf("广东省汕尾市城区人民路%d号", i), PositionTypes: "A0101,B0101",
		CoordSystem: "WGS84", Longitude: 115.3 + float64(i%1000)/10000, Latitude: 22.7 + float64(i%997)/10000,
		IPv4: fmt.Sprintf("10.%d.%d.%d", i/65536%256, i/256%256, i%256), MAC: fmt.Sprintf("f8:a4:5f:%02x:%02x:%02x", i/65536%256, i/256%256, i%256),
		Indoor: 1, Direction: 1 + i%9, PoleNumber: fmt.Sprintf("%s00%04d", division, i%10000), AccessNetwork: 2, RetentionDays: 30,
		Sharing: 1, Permissions: "1,2,3", Vendor: 1 + i%17, Codec: 2, DeviceStatus: 1, OwnerDept: owner,
	}
}
