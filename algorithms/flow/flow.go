// Package flow is the people_flow algorithm (客流统计): it follows people with the
// same tracker as person capture and counts them across counting lines, in each
// direction, records the counts and each zone's occupancy per interval as measures
// for the map's trends, and alerts when a zone stays crowded.
package flow

import (
	"encoding/json"
	"math"
	"time"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/rules"
	"github.com/cityeye/cityeye/algorithms/track"
	"github.com/cityeye/cityeye/models/decode"
)

// Name is the algorithm; Model the detector it runs; Label the class it follows.
const (
	Name  = "people_flow"
	Model = "nanodet"
	Label = "person"
)

// Alert kind and defaults.
const (
	AlertKind        = "flow.crowding"
	DefaultScore     = 0.4
	DefaultMinSize   = 16 // pixels, both box sides
	DefaultIntervalS = 60.0
	DefaultPersist   = 10 * time.Second
	DefaultCooldown  = 5 * time.Minute
)

// Measure names: crossings.<line>.<left|right> (people per interval, "left" being
// from the right of the line's A→B to its left, as in rules.Line), people.<zone>
// (mean people in the zone over the interval; "people" for the ROI) and, with an
// area, density.<zone> in persons/m².
func crossingMeasure(line, dir string) string { return "crossings." + line + "." + dir }

func zoneMeasure(kind, zone string) string {
	if zone == "" {
		return kind
	}
	return kind + "." + zone
}

type person struct {
	off map[string]rules.Point // per line: the last feet position strictly off it
}

type alg struct {
	params   algorithms.Params
	opts     Options
	minSize  float32
	tracker  *track.Tracker
	people   map[uint64]*person
	crowd    *rules.Persist
	cooldown *rules.Cooldown

	start     time.Time            // of the current interval
	crossings map[string]int       // measure name → count in the interval
	occupancy map[string][]float64 // zone → people per frame in the interval
}

// New builds a task's instance.
func New(_ string, p algorithms.Params) (algorithms.Algorithm, error) {
	o, err := ParseOptions(p)
	if err != nil {
		return nil, err
	}
	a := &alg{params: p, opts: o, minSize: float32(p.Threshold("min_size", DefaultMinSize)),
		tracker: track.New(track.Config{FPS: p.SampleFPS, High: float32(p.Threshold("score", DefaultScore))}),
		people:  map[uint64]*person{},
	}
	a.crowd, a.cooldown = p.Rules(rules.Persistence{Seconds: DefaultPersist.Seconds()}, DefaultCooldown)
	a.reset(time.Time{})
	return a, nil
}

func (a *alg) reset(t time.Time) {
	a.start = t
	a.crossings = map[string]int{}
	a.occupancy = map[string][]float64{}
}

func (a *alg) Models() []string { return []string{Model} }

// feet is a track's filtered position where it stands (bottom centre), normalised.
func feet(k *track.Track, w, h float64) rules.Point {
	b := k.Predicted() // after the update: the filtered state
	return rules.Point{float64(b.X1+b.X2) / 2 / w, float64(b.Y2) / h}
}

func (a *alg) Process(f algorithms.Frame, all map[string][]decode.Detection) algorithms.Output {
	var out algorithms.Output
	if a.start.IsZero() {
		a.start = f.Time
	}
	w, h := float64(f.Mat.Cols()), float64(f.Mat.Rows())
	var dets []decode.Detection
	var feats [][]float32
	for _, d := range all[Model] {
		if d.Label == Label && d.Box.W() >= a.minSize && d.Box.H() >= a.minSize {
			dets = append(dets, d)
			feats = append(feats, algorithms.Appearance(f.Mat, d.Box))
		}
	}
	a.tracker.SetBounds(f.Mat.Cols(), f.Mat.Rows())
	assigned, ended := a.tracker.Update(f.Time, dets, feats)
	count := map[string]int{}
	seen := map[uint64]bool{}
	var boxes map[string][]algorithms.Box
	for i, k := range assigned {
		if k == nil || seen[k.ID] {
			continue
		}
		seen[k.ID] = true
		pp := a.people[k.ID]
		if pp == nil {
			pp = &person{off: map[string]rules.Point{}}
			a.people[k.ID] = pp
		}
		pt := feet(k, w, h)
		for _, l := range a.params.Lines {
			prev, ok := pp.off[l.Name]
			if ok && k.Confirmed {
				for _, dir := range []string{"left", "right"} {
					if (l.Direction == "" || l.Direction == "any" || l.Direction == dir) && (rules.Line{A: l.A, B: l.B, Direction: dir}).Crossed(prev, pt) {
						a.crossings[crossingMeasure(l.Name, dir)]++
					}
				}
			}
			if l.Side(pt) != 0 {
				pp.off[l.Name] = pt
			}
		}
		if !k.Confirmed {
			continue
		}
		if zone, ok := a.params.Zone(pt[0], pt[1]); ok {
			count[zone]++
			if boxes == nil {
				boxes = map[string][]algorithms.Box{}
			}
			boxes[zone] = append(boxes[zone], algorithms.Box{Label: Label, Score: dets[i].Score, Box: dets[i].Box})
		}
	}
	for _, k := range ended {
		delete(a.people, k.ID)
	}
	for _, zone := range a.zones() {
		n := count[zone]
		a.occupancy[zone] = append(a.occupancy[zone], float64(n))
		if a.opts.CrowdCount == 0 {
			continue
		}
		if a.crowd.Observe(zone, f.Time, n >= a.opts.CrowdCount) && a.cooldown.Allow(zone, f.Time) {
			al := algorithms.Alert{Kind: AlertKind, Level: 2, Zone: zone, Time: f.Time, Boxes: boxes[zone], Frame: f.Mat.Clone(),
				Details: map[string]any{"people": n, "crowd_count": a.opts.CrowdCount, "model": Model}}
			if area, ok := a.opts.ZoneAreaM2[zone]; ok {
				al.Details["density_per_m2"] = round2(float64(n) / area)
			}
			out.Alerts = append(out.Alerts, al)
		}
	}
	if f.Time.Sub(a.start) >= time.Duration(a.opts.IntervalS*float64(time.Second)) {
		out.Measures = a.measures(f.Time)
		a.reset(f.Time)
	}
	return out
}

// zones lists the zones occupancy is measured in: the task's zones, or the ROI ("").
func (a *alg) zones() []string {
	if len(a.params.Zones) == 0 {
		return []string{""}
	}
	out := make([]string, len(a.params.Zones))
	for i, z := range a.params.Zones {
		out[i] = z.Name
	}
	return out
}

// measures closes the interval: every line's count in each direction it counts
// (zeros included: no one passing is a fact for the trend) and each zone's mean
// occupancy (and density with an area).
func (a *alg) measures(t time.Time) []algorithms.Measure {
	var ms []algorithms.Measure
	for _, l := range a.params.Lines {
		for _, dir := range []string{"left", "right"} {
			if l.Direction == "" || l.Direction == "any" || l.Direction == dir {
				name := crossingMeasure(l.Name, dir)
				ms = append(ms, algorithms.Measure{Name: name, Value: float64(a.crossings[name]), Unit: "persons", Time: t})
			}
		}
	}
	for _, zone := range a.zones() {
		occ := a.occupancy[zone]
		if len(occ) == 0 {
			continue
		}
		var sum float64
		for _, v := range occ {
			sum += v
		}
		mean := sum / float64(len(occ))
		ms = append(ms, algorithms.Measure{Name: zoneMeasure("people", zone), Value: round2(mean), Unit: "persons", Time: t})
		if area, ok := a.opts.ZoneAreaM2[zone]; ok {
			ms = append(ms, algorithms.Measure{Name: zoneMeasure("density", zone), Value: round2(mean / area), Unit: "persons/m2", Time: t})
		}
	}
	return ms
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// Close records the last, partial interval.
func (a *alg) Close() algorithms.Output {
	if a.start.IsZero() {
		return algorithms.Output{}
	}
	return algorithms.Output{Measures: a.measures(a.start.Add(time.Duration(a.opts.IntervalS * float64(time.Second))))}
}

func init() {
	algorithms.Register(algorithms.Spec{
		Name:    Name,
		Title:   "people flow",
		TitleZH: "客流统计",
		Summary: "Counts the people crossing the drawn lines in each direction and the people in each zone per interval; " +
			"alerts when a zone stays crowded (crowd_count).",
		SummaryZH:      "按统计周期记录穿越所画检测线的双向人数和各区域内的人数；区域内人数持续达到 crowd_count 时告警。",
		OptionsExample: json.RawMessage(`{"interval_s":60,"crowd_count":20,"zone_area_m2":{"":120}}`),
		Description: "People flow (客流统计): follows people (COCO NanoDet, the capture tracker) and counts them across params.lines in each direction " +
			"(a crossing of the feet point, counted once per move across), records per interval (options.interval_s, default 60 s) " +
			"crossings.<line>.<left|right> and the mean people per zone (people.<zone>; density.<zone> in persons/m² with options.zone_area_m2), " +
			"and raises " + AlertKind + " when options.crowd_count people or more stay in a zone for params.persistence (default 10 s); cooldown 5 min per zone.",
		Models:    []string{Model},
		Contracts: []algorithms.Contract{{Name: Model, Task: "detection", Stage: "frame", Labels: []string{Label}}},
		Outputs:   []string{AlertKind, "crossings.<line>.<dir>", "people.<zone>", "density.<zone>"},
		Params: []algorithms.ParamDoc{
			{Name: "interval_s", Type: "number", Description: "seconds per measure (counts and occupancy), 1–3600, default 60"},
			{Name: "crowd_count", Type: "integer", Description: "people in a zone that, persisting, raise " + AlertKind + "; 0 = off"},
			{Name: "zone_area_m2", Type: "object", Description: "zone name → walkable area in m² for density (\"\" = the ROI without zones)"},
		},
		New: New,
	})
}
