package alert

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/cityeye/cityeye/algorithms"
	"github.com/cityeye/cityeye/algorithms/rules"
)

// Options are detector_alert's parameters (params.options): which model to run and
// which of its labels raise which alert kind. Everything else is the rules framework
// from the common parameters (zones, lines, persistence, cooldown, windows), which a
// rule may narrow.
type Options struct {
	// Model is the detector's model name; params.models picks the build (a vendor's
	// published detector: {"garbage-det": "acme/garbage-det"}).
	Model string `json:"model"`
	// Rules: one alert kind each. Absent: every label the model reports raises
	// "<model>.<label>" at level 2.
	Rules []Rule `json:"rules,omitempty"`
}

// Rule is one alert kind.
type Rule struct {
	Kind string `json:"kind"` // e.g. city.garbage_overflow; default <model>.<first label>
	// Labels trigger it: a detection's label, or label:value of a second-stage result
	// (head:head_no_hat, the hat classifier's verdict on a head crop).
	Labels   []string `json:"labels"`
	MinScore float64  `json:"min_score,omitempty"` // default thresholds.score, else 0.5
	MinCount int      `json:"min_count,omitempty"` // detections in the zone at once, default 1
	Level    int      `json:"level,omitempty"`     // 1 info, 2 warning (default), 3 critical
	// Levels escalate: the highest level whose count is reached.
	Levels []LevelStep `json:"levels,omitempty"`
	// Zones limits it to these of params.zones (default: all, or the whole frame).
	Zones []string `json:"zones,omitempty"`
	// Lines makes it a tripwire rule: a tracked object of these labels crossing one
	// of these params.lines (in the line's direction) raises it.
	Lines           []string           `json:"lines,omitempty"`
	Persistence     *rules.Persistence `json:"persistence,omitempty"` // default params.persistence, else at once
	CooldownSeconds float64            `json:"cooldown_seconds,omitempty"`
}

// LevelStep raises the alert's level once MinCount detections are present.
type LevelStep struct {
	MinCount int `json:"min_count"`
	Level    int `json:"level"`
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	kindRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+$`)
)

func fieldErr(f, format string, args ...any) error {
	return &algorithms.FieldError{Field: "params.options." + f, Msg: fmt.Sprintf(format, args...)}
}

// parse decodes and checks options against the task's zones and lines.
func parse(p algorithms.Params) (Options, error) {
	var o Options
	if err := algorithms.DecodeOptions(p.Options, &o); err != nil {
		return o, err
	}
	if !nameRE.MatchString(o.Model) {
		return o, fieldErr("model", "the detector's model name (lowercase letters, digits, '.', '_' or '-'); params.models picks a vendor's build")
	}
	kinds := map[string]bool{}
	for i := range o.Rules {
		r := &o.Rules[i]
		f := fmt.Sprintf("rules[%d]", i)
		if len(r.Labels) == 0 {
			return o, fieldErr(f+".labels", "at least one label that triggers it")
		}
		if r.Kind == "" {
			r.Kind = o.Model + "." + r.Labels[0]
		}
		if !kindRE.MatchString(r.Kind) || kinds[r.Kind] {
			return o, fieldErr(f+".kind", "a unique dotted name such as city.garbage_overflow")
		}
		kinds[r.Kind] = true
		if r.Level == 0 {
			r.Level = 2
		}
		if r.Level < 1 || r.Level > 3 {
			return o, fieldErr(f+".level", "1 info, 2 warning or 3 critical")
		}
		for j, s := range r.Levels {
			if s.MinCount < 1 || s.Level < 1 || s.Level > 3 {
				return o, fieldErr(fmt.Sprintf("%s.levels[%d]", f, j), "min_count ≥ 1 and level 1-3")
			}
		}
		if r.MinScore < 0 || r.MinScore >= 1 || r.MinCount < 0 || r.MinCount > 1000 {
			return o, fieldErr(f, "min_score in [0,1), min_count in [0,1000]")
		}
		for j, z := range r.Zones {
			if !slices.ContainsFunc(p.Zones, func(pz rules.Zone) bool { return pz.Name == z }) {
				return o, fieldErr(fmt.Sprintf("%s.zones[%d]", f, j), "%q is not one of params.zones", z)
			}
		}
		for j, l := range r.Lines {
			if !slices.ContainsFunc(p.Lines, func(pl rules.Line) bool { return pl.Name == l }) {
				return o, fieldErr(fmt.Sprintf("%s.lines[%d]", f, j), "%q is not one of params.lines", l)
			}
		}
		if r.Persistence != nil {
			if err := r.Persistence.Validate(); err != nil {
				return o, fieldErr(f+".persistence", "%v", err)
			}
		}
		if r.CooldownSeconds < 0 || r.CooldownSeconds > 86400 {
			return o, fieldErr(f+".cooldown_seconds", "in [0, 86400]")
		}
	}
	return o, nil
}
