package algorithms

import (
	"math"
	"strings"

	"github.com/cityeye/cityeye/models/decode"
)

// Capture decisions: no record exists for an object until its track is confirmed
// (confirmed below), so a flicker of the detector, a cone or a sign never becomes a
// Person record and a record is never withdrawn.

// minTravel is how far (in box heights, measured at the feet: the bottom centre of
// the box) a track must have moved from where it was first seen before a kind that
// moves (a Person) is recorded. Street furniture that a detector takes for a person
// (a cone, a sign on its pole, a bollard) never moves however long it is in view;
// box jitter on a still object stays well under 0.2 heights. A person who stands
// still all the time they are in view is therefore not recorded; one who walks in,
// out or about is.
const minTravel = 0.5

// movingKinds are the kinds recorded only once they have moved (minTravel).
var movingKinds = map[string]bool{"Person": true}

// observeShape updates an object's confirmation evidence with a matched detection.
func (o *object) observeShape(d decode.Detection, inROI bool, high float32) {
	if !inROI {
		return
	}
	if d.Score >= high {
		o.roiHits++
	}
	o.peak = max(o.peak, d.Score)
	x, y := (d.Box.X1+d.Box.X2)/2, d.Box.Y2
	if !o.started {
		o.started, o.x0, o.y0 = true, x, y
		return
	}
	if h := d.Box.H(); h > 0 {
		o.travel = max(o.travel, float32(math.Hypot(float64(x-o.x0), float64(y-o.y0)))/h)
	}
}

// confirmed reports whether an object may have a record: matched with a confident
// detection inside the ROI on minHits frames, at least once at its class's minimum
// score (classScore), and — for a kind that moves — having moved minTravel.
func (c *capture) confirmed(o *object) bool {
	if o.roiHits < c.minHits || o.peak < c.classScore(o.best.Label) {
		return false
	}
	return !movingKinds[o.best.Kind] || o.travel >= minTravel
}

// classScore is the minimum score a track of this label must reach once: the task's
// "score.<label>" threshold, else the algorithm's default for the label, else the
// task's score threshold.
func (c *capture) classScore(label string) float32 {
	if v, ok := c.params.Thresholds["score."+label]; ok {
		return float32(v)
	}
	if v, ok := c.labelScore[label]; ok {
		return max(v, c.score)
	}
	return c.score
}

// validClassThreshold checks a "score.<label>" threshold name and value.
func validClassThreshold(name string, v float64) (ok bool, isClass bool) {
	label, found := strings.CutPrefix(name, "score.")
	if !found {
		return false, false
	}
	return label != "" && v > 0 && v < 1, true
}
