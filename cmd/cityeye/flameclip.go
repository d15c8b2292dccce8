package main

import (
	"image"
	"image/color"
	"math/rand/v2"

	"gocv.io/x/gocv"
)

// writeFlameClip writes a 12 s clip of a hillside with a flickering flame (MJPG in
// AVI): the fire algorithm's model-free baseline raises fire.fire on it. The demo
// loops it as a camera so the console's map shows live alerts; tests use it too.
func writeFlameClip(path string) error {
	w, err := gocv.VideoWriterFile(path, "MJPG", 10, 640, 360, true)
	if err != nil {
		return err
	}
	defer w.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	orange, yellow := color.RGBA{R: 255, G: 120, B: 20, A: 255}, color.RGBA{R: 255, G: 230, B: 80, A: 255}
	for i := range 120 {
		m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(150, 140, 130, 0), 360, 640, gocv.MatTypeCV8UC3)
		gocv.Rectangle(&m, image.Rect(0, 150, 640, 360), color.RGBA{R: 40, G: 70, B: 35, A: 255}, -1)
		if i%2 == 0 || rng.IntN(3) == 0 { // the flame flickers
			wd, h := 35+rng.IntN(25), 55+rng.IntN(40)
			gocv.Ellipse(&m, image.Pt(320+rng.IntN(8)-4, 250-h/2), image.Pt(wd/2, h/2), 0, 0, 360, orange, -1)
			gocv.Ellipse(&m, image.Pt(320, 250-h/3), image.Pt(wd/4, h/4), 0, 0, 360, yellow, -1)
		}
		if err := w.Write(m); err != nil {
			m.Close()
			return err
		}
		m.Close()
	}
	return nil
}
