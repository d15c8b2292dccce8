package api

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/testdata"
)

// pngHeader is the start of a PNG that declares w×h RGB pixels: a few dozen bytes
// that a decoder would turn into w×h×3 bytes before finding the data missing.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// Issue 14 item 13: a tiny upload that declares a huge picture is refused from its
// header, before anything is decoded, with a 413 naming the field.
func TestFaceSearchRefusesPixelBomb(t *testing.T) {
	f := newFaceFixture(t)
	code, out := f.search("police_an", pngHeader(10000, 10000), nil, "")
	if msg, _ := out["error"].(string); code != 413 || out["field"] != "image" || !strings.Contains(msg, "10000×10000 pixels") {
		t.Fatalf("100-megapixel PNG: %d %v, want 413 naming image and its size", code, out)
	}
	if code, out := f.search("police_an", []byte("BM\x36\x00\x00\x00"), nil, ""); code != 400 || out["field"] != "image" {
		t.Fatalf("a format whose size is not checked: %d %v, want 400 naming image", code, out)
	}
}

// Searches are bounded, not serialised: with one slot held by a long search another
// search still runs; with every slot held, a search gets a 503 after the wait.
func TestFaceSearchBoundedConcurrency(t *testing.T) {
	f := newFaceFixture(t)
	photo, err := os.ReadFile(testdata.Media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	fs := f.srv.faces()
	held := []*models.Loader{<-fs.slots}
	defer func() {
		for _, l := range held {
			fs.give(l)
		}
	}()
	if code, out := f.search("police_an", photo, nil, ""); code != 200 {
		t.Fatalf("search beside a running one: %d %v", code, out)
	}
	for len(held) < FaceSearchConcurrency {
		held = append(held, <-fs.slots)
	}
	defer func(w time.Duration) { faceSearchWait = w }(faceSearchWait)
	faceSearchWait = 200 * time.Millisecond
	if code, out := f.search("police_an", photo, nil, ""); code != 503 {
		t.Fatalf("search with every slot busy: %d %v, want 503", code, out)
	}
}
