package gat1400

import (
	"testing"
	"time"
)

func TestColorTypeByName(t *testing.T) {
	want := map[string]ColorType{"black": "1", "white": "2", "grey": "3", "gray": "3", "red": "4", "blue": "5", "yellow": "6",
		"orange": "7", "brown": "8", "green": "9", "purple": "10", "cyan": "11", "pink": "12", "transparent": "13", "other": "99"}
	for name, code := range want {
		if got, ok := ColorTypeByName(name); !ok || got != code {
			t.Errorf("%s: %q %v, want %q", name, got, ok, code)
		}
	}
	for _, name := range []string{"", "silver", "Blue"} {
		if got, ok := ColorTypeByName(name); ok {
			t.Errorf("%q mapped to %q", name, got)
		}
	}
}

// The vehicle class codes fit VehicleClass (3 characters, GA 24.4 letter + 2) and a
// MotorVehicle with a plate and colours validates.
func TestVehicleClassCodes(t *testing.T) {
	for _, c := range []string{VehicleClassLargeBus, VehicleClassSmallSedan, VehicleClassHeavyTruck, VehicleClassLightTruck, VehicleClassMotorcycle, VehicleClassOther} {
		if len(c) != 3 || c[0] < 'A' || c[0] > 'Z' {
			t.Errorf("vehicle class %q", c)
		}
	}
	src := SourceID("44150200001310000001", SourceImage, mustTime(t, "20261122080000"), 1)
	v := MotorVehicle{MotorVehicleID: ContentID(src, SubtypeMotorVehicle, 1), InfoKind: InfoKindAuto, SourceID: src, DeviceID: "44150200001310000001",
		Box: Box{LeftTopX: 1, LeftTopY: 1, RightBtmX: 100, RightBtmY: 80}, HasPlate: true, PlateNo: "粤BD12345", PlateColor: ColorGreen,
		PlateReliability: 87, VehicleClass: VehicleClassSmallSedan, VehicleColor: ColorBlack, VehicleColorDepth: "0"}
	if err := v.Validate(); err != nil {
		t.Fatal(err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
