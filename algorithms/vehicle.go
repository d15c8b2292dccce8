package algorithms

import (
	"fmt"
	"image"
	"strconv"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// Vehicle second stage.
const (
	maxPlateReads = 5             // OCR runs per vehicle track at most
	plateReadGap  = time.Second   // between reads on frames that are not emitted
	plateMargin   = float32(0.05) // the vehicle crop OCR reads is the box grown by this much
	minPlateSide  = float32(48)   // vehicles smaller than this (shorter side) are not read
)

type vehicleState struct {
	votes    PlateVote
	reads    int
	lastRead time.Time
	readShot time.Time    // the best shot last read, so an emission does not read it twice
	plates   []decode.Box // plate boxes read on that shot (frame pixels): not body colour
}

// readPlate runs OCR on the vehicle's crop of frame and adds the valid plates to the
// vote, with the colour of each plate's pixels.
func (c *capture) readPlate(o *object, frame gocv.Mat, box decode.Box, t time.Time) {
	v := o.vehicle
	if c.run == nil || v.reads >= maxPlateReads || min(box.W(), box.H()) < minPlateSide {
		return
	}
	v.reads++
	v.lastRead = t
	mx, my := plateMargin*box.W(), plateMargin*box.H()
	r := image.Rect(int(box.X1-mx), int(box.Y1-my), int(box.X2+mx+0.5), int(box.Y2+my+0.5)).Intersect(image.Rect(0, 0, frame.Cols(), frame.Rows()))
	if r.Dx() < 8 || r.Dy() < 8 {
		return
	}
	roi := frame.Region(r)
	crop := roi.Clone()
	roi.Close()
	defer crop.Close()
	lines, err := c.run.ReadText(crop)
	if err != nil {
		c.warn("ocr", err)
		return
	}
	for _, p := range PlateCandidates(lines) {
		p.Color = PlateColor(crop, p.Box)
		p.Box = decode.Box{X1: p.Box.X1 + float32(r.Min.X), Y1: p.Box.Y1 + float32(r.Min.Y), X2: p.Box.X2 + float32(r.Min.X), Y2: p.Box.Y2 + float32(r.Min.Y)}
		v.votes.Add(p)
		if t.Equal(o.best.Shot) {
			v.plates = append(v.plates, p.Box)
		}
	}
}

// newVehicleCapture is person/vehicle capture with the motor-vehicle second stage:
// plate reads (OCR on the vehicle crop, on each emitted best shot and on up to
// maxPlateReads frames in all, valid mainland plates only, voted over the track) and
// the body colour of the best shot; people get their coat and trousers colours.
func newVehicleCapture(taskID string, p Params) *capture {
	c := newCapture(taskID, "nanodet", map[string]string{
		"person": "Person", "car": "MotorVehicle", "bus": "MotorVehicle", "truck": "MotorVehicle",
		"motorcycle": "NonMotorVehicle", "bicycle": "NonMotorVehicle",
	}, p, 0.4, true)
	// nanodet takes cones, signs and trees in the wind for people at scores up to
	// the mid 0.4s (measured on vtest.avi and the tree clip): a person track
	// must reach 0.5 once to be recorded
	c.labelScore = map[string]float32{"person": 0.5}
	c.observe = func(c *capture, o *object, f Frame, d decode.Detection, improved bool) {
		if o.best.Kind != "MotorVehicle" {
			return
		}
		if o.vehicle == nil {
			o.vehicle = &vehicleState{}
		}
		v := o.vehicle
		// a few reads between emissions, on new best shots, while there is budget
		// left for the emissions' own reads and no plate is agreed on yet
		if improved && o.hits >= c.minHits && o.emitted && v.reads < maxPlateReads-1 && f.Time.Sub(v.lastRead) >= plateReadGap {
			if r, ok := v.votes.Result(); !ok || r.Agreeing < 2 {
				v.readShot, v.plates = o.best.Shot, nil
				c.readPlate(o, f.Mat, d.Box, f.Time)
			}
		}
	}
	c.enrich = func(c *capture, o *object) {
		if o.best.Kind == "Person" {
			coat, trousers := ClothingColors(o.best.Frame, o.best.Box)
			o.setAttr(AttrCoatColor, coat)
			o.setAttr(AttrTrousersColor, trousers)
			return
		}
		if o.best.Kind != "MotorVehicle" {
			return
		}
		if o.vehicle == nil {
			o.vehicle = &vehicleState{}
		}
		v := o.vehicle
		if !v.readShot.Equal(o.best.Shot) {
			v.readShot, v.plates = o.best.Shot, nil
			c.readPlate(o, o.best.Frame, o.best.Box, o.best.Shot)
		}
		if r, ok := v.votes.Result(); ok {
			o.setAttr(AttrPlateNo, r.Text)
			o.setAttr(AttrPlateColor, r.Color)
			o.setAttr(AttrPlateReliability, strconv.Itoa(r.Reliability))
			o.setAttr(AttrPlateReads, fmt.Sprintf("%d/%d", r.Agreeing, r.Reads))
		}
		name, dark := VehicleColor(o.best.Frame, o.best.Box, v.plates...)
		o.setAttr(AttrVehicleColor, name)
		depth := ""
		if name != "" {
			depth = map[bool]string{true: "dark", false: "light"}[dark]
		}
		o.setAttr(AttrVehicleColorDepth, depth)
	}
	return c
}
