package testdata

import (
	"encoding/base64"
	"os"
	"testing"
	"time"

	"github.com/cityeye/cityeye/gat1400"
)

// VIIDFace builds a valid GA/T 1400 Face of device shot at t, numbered serial, with
// its scene image (a real photo) inline as base64, as a camera or lower platform
// pushes it.
func VIIDFace(t testing.TB, device string, shot time.Time, serial int) gat1400.Face {
	t.Helper()
	img, err := os.ReadFile(Media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	src := gat1400.SourceID(device, gat1400.SourceImage, shot, serial)
	ts := gat1400.FormatTime(shot)
	return gat1400.Face{FaceID: gat1400.ContentID(src, gat1400.SubtypeFace, 1), InfoKind: gat1400.InfoKindAuto, SourceID: src, DeviceID: device,
		Box: gat1400.Box{LeftTopX: 163, LeftTopY: 125, RightBtmX: 366, RightBtmY: 328}, ShotTime: ts, StatusFlags: gat1400.UncertainFlags(),
		SubImageList: gat1400.NewSubImageList(gat1400.SubImageInfo{ImageID: src, EventSort: gat1400.EventFaceDetection, DeviceID: device,
			Type: gat1400.ImageScene, FileFormat: gat1400.FormatJpeg, ShotTime: ts, Width: 512, Height: 512, Data: base64.StdEncoding.EncodeToString(img)})}
}
