package api

import (
	"context"
	"image"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/store"
)

// hitImageHeight is the height both halves of a hit's alert image are scaled to.
const hitImageHeight = 360

// hitImage is a hit's alert image, the two pictures side by side: the watched
// photo (faces) or the scene (plates) on the left, the capture's crop on the right,
// so the map shows at a glance what was watched and what was seen. A record with
// no readable image (a peer pushed none) gives nil: the alarm matters more.
func (s *Server) hitImage(ctx context.Context, d *store.Disposition, h watchHit, w store.Watched) ([]byte, error) {
	scene, crop := recordImages(w.Record)
	left := scene
	for _, t := range d.Targets {
		if t.N == h.target && t.Image != "" {
			left = t.Image
		}
	}
	var mats []gocv.Mat
	defer func() {
		for _, m := range mats {
			m.Close()
		}
	}()
	for _, key := range []string{left, crop} {
		if key == "" {
			continue
		}
		b, err := s.Objects.Get(ctx, key)
		if err != nil {
			continue // gone (retention) or unreachable: the alert goes without this half
		}
		m, err := gocv.IMDecode(b, gocv.IMReadColor)
		if err != nil || m.Empty() {
			m.Close()
			continue // an unreadable half is left out, not the alert
		}
		scaled := gocv.NewMat()
		wd := max(1, m.Cols()*hitImageHeight/max(1, m.Rows()))
		gocv.Resize(m, &scaled, image.Pt(wd, hitImageHeight), 0, 0, gocv.InterpolationArea)
		m.Close()
		mats = append(mats, scaled)
	}
	if len(mats) == 0 {
		return nil, nil // nothing to show: the alert has no image, never none at all
	}
	out := mats[0]
	if len(mats) == 2 {
		out = gocv.NewMat()
		mats = append(mats, out)
		gocv.Hconcat(mats[0], mats[1], &out)
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, out, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		return nil, err
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}
