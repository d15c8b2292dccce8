package algorithms

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/cityeye/cityeye/models/decode"
)

// Stage2 declares a second-stage model of a task's pipeline (as DeepStream's
// secondary inference): it runs on crops of the frame model's detections of chosen
// classes, batched across streams like frame models and shared by the tasks that
// declare the same stage; its result attaches to the detection
// (decode.Detection.Stage2[Name]) and is kept per tracked object, computed once per
// track or again every Every frames. Algorithms read it as rules' labels
// ("name:value") and captures copy it into GA/T 1400 fields (Fields).
type Stage2 struct {
	Name  string `json:"name"`  // the result's key on the detection
	Model string `json:"model"` // model name; params.models picks the build
	// On is the frame model whose detections are cropped (default: the algorithm's
	// first model).
	On      string   `json:"on,omitempty"`
	Classes []string `json:"classes"` // detection labels whose crops it runs on
	// Region is the part of the box cropped, as fractions x1, y1, x2, y2 of it (the
	// head of a standing person: [0.2, 0, 0.8, 0.22]); default the whole box.
	Region  *[4]float64 `json:"region,omitempty"`
	Padding float64     `json:"padding,omitempty"`  // added on each side, a fraction of the crop's size
	MinSize int         `json:"min_size,omitempty"` // pixels, the crop's shorter side; smaller are skipped
	Every   int         `json:"every,omitempty"`    // 0: once per track; N: again every N frames of the track
	// Fields copies the result into capture attributes: "" (a classifier's top class,
	// a recogniser's text) or an attribute group's name → the attribute
	// (vehicle_color, vehicle_class, coat_color, gender…).
	Fields map[string]string `json:"fields,omitempty"`
	// Values translates the model's labels into the attribute's values.
	Values map[string]string `json:"values,omitempty"`
}

// Person attributes only a second-stage model gives (params.stage2 fields): colour
// names, for GA/T 1400 Person HairColor and CapColor. Gender and age reach Person
// GenderCode and AgeLowerLimit/AgeUpLimit through AttrGender, AttrAgeLower, AttrAgeUpper.
const (
	AttrHairColor = "hair_color"
	AttrCapColor  = "cap_color"
)

var stageNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// CheckStage2 validates a task's stages.
func CheckStage2(stages []Stage2, field string) error {
	seen := map[string]bool{}
	for i, s := range stages {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !stageNameRE.MatchString(s.Name) || seen[s.Name]:
			return &FieldError{f + ".name", "a unique name of lowercase letters, digits, '_' or '-'"}
		case s.Model == "":
			return &FieldError{f + ".model", "the crop model's name"}
		case len(s.Classes) == 0:
			return &FieldError{f + ".classes", "the detection labels whose crops it runs on"}
		case s.Padding < 0 || s.Padding > 1:
			return &FieldError{f + ".padding", "a fraction in [0, 1]"}
		case s.MinSize < 0 || s.MinSize > 4096:
			return &FieldError{f + ".min_size", "pixels in [0, 4096]"}
		case s.Every < 0 || s.Every > 10000:
			return &FieldError{f + ".every", "0 (once per track) or a number of frames"}
		}
		if r := s.Region; r != nil && !(0 <= r[0] && r[0] < r[2] && r[2] <= 1 && 0 <= r[1] && r[1] < r[3] && r[3] <= 1) {
			return &FieldError{f + ".region", "fractions x1 < x2 and y1 < y2 in [0, 1]"}
		}
		seen[s.Name] = true
	}
	return nil
}

// Stage2Models lists the crop models of a task's stages (for the contract checks).
func (p Params) Stage2Models() []string {
	var out []string
	for _, s := range p.Stage2 {
		if !slices.Contains(out, s.Model) {
			out = append(out, s.Model)
		}
	}
	return out
}

// Stage2Attributes is what the task's stages found on d, as capture attributes.
func (p Params) Stage2Attributes(d decode.Detection) map[string]string {
	out := map[string]string{}
	for _, s := range p.Stage2 {
		r, ok := d.Stage2[s.Name]
		if !ok {
			continue
		}
		for from, attr := range s.Fields {
			v := ""
			switch {
			case from == "" && len(r.Classes) > 0:
				v = r.Classes[0].Label
			case from == "":
				v = r.Text
			case len(r.Attributes[from]) > 0:
				v = r.Attributes[from][0].Label
			}
			if t, ok := s.Values[v]; ok {
				v = t
			}
			if v != "" {
				out[attr] = v
			}
		}
	}
	return out
}

// Staged is an algorithm that declares second stages of its own (the kitchen's hat
// classifier on head crops); the task's params.stage2 come after them.
type Staged interface {
	Stages() []Stage2
}

// StagesOf is every second stage a task runs: the algorithm's own, then the task's.
func StagesOf(a Algorithm, p Params) []Stage2 {
	var out []Stage2
	if s, ok := a.(Staged); ok {
		out = append(out, s.Stages()...)
	}
	return append(out, p.Stage2...)
}
