package flow

import (
	"strconv"

	"github.com/cityeye/cityeye/algorithms"
)

// Options are people_flow's own parameters (params.options). Counting lines are the
// task's params.lines and the zones its params.zones (the ROI, or the whole frame,
// without zones).
type Options struct {
	// IntervalS: counts and occupancy are recorded as measures once per this many
	// seconds (default 60).
	IntervalS float64 `json:"interval_s,omitempty"`
	// CrowdCount raises flow.crowding when this many people or more stay in a zone
	// (params.persistence, default 10 s); 0 = no crowding alert.
	CrowdCount int `json:"crowd_count,omitempty"`
	// ZoneAreaM2 gives a zone's walkable area in m² (the ROI's under ""), so that
	// density is recorded in persons/m² besides the count.
	ZoneAreaM2 map[string]float64 `json:"zone_area_m2,omitempty"`
}

func fieldErr(f, msg string) error {
	return &algorithms.FieldError{Field: "params.options." + f, Msg: msg}
}

// ParseOptions decodes and validates the options against the task's zones.
func ParseOptions(p algorithms.Params) (Options, error) {
	var o Options
	if err := algorithms.DecodeOptions(p.Options, &o); err != nil {
		return o, err
	}
	switch {
	case o.IntervalS == 0:
		o.IntervalS = DefaultIntervalS
	case o.IntervalS < 1 || o.IntervalS > 3600:
		return o, fieldErr("interval_s", "in [1, 3600] seconds")
	}
	if o.CrowdCount < 0 || o.CrowdCount > 10000 {
		return o, fieldErr("crowd_count", "in [0, 10000] people")
	}
	known := map[string]bool{}
	for _, z := range p.Zones {
		known[z.Name] = true
	}
	if len(p.Zones) == 0 {
		known[""] = true
	}
	for name, a := range o.ZoneAreaM2 {
		if !known[name] {
			return o, fieldErr("zone_area_m2."+name, "no such zone in params.zones (\"\" is the ROI when there are no zones)")
		}
		if a <= 0 || a > 1e6 {
			return o, fieldErr("zone_area_m2."+name, "in (0, 1e6] m²")
		}
	}
	if len(p.Lines) == 0 && o.CrowdCount == 0 && len(p.Zones) == 0 && len(p.ROI) == 0 {
		return o, &algorithms.FieldError{Field: "params.lines", Msg: "people_flow needs counting lines, zones, an ROI or options.crowd_count"}
	}
	names := map[string]bool{}
	for i, l := range p.Lines {
		if l.Name == "" || names[l.Name] {
			return o, &algorithms.FieldError{Field: "params.lines[" + strconv.Itoa(i) + "].name", Msg: "each counting line needs a unique name"}
		}
		names[l.Name] = true
	}
	return o, nil
}
