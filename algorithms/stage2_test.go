package algorithms

import (
	"encoding/json"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/cityeye/cityeye/models/decode"
)

// Issue 23 item 3: second-stage results reach the GA/T 1400 fields the task maps
// them to: a vehicle-type classifier's verdict (translated by values) and an
// attribute model's colour group land in a vehicle capture's attributes, over the
// built-in colour estimate.
func TestStage2ResultsReachCaptureFields(t *testing.T) {
	p, err := ParseParams(json.RawMessage(`{"stage2":[
		{"name":"vtype","model":"vehicle-type","classes":["car"],"fields":{"":"vehicle_class"},"values":{"suv":"K31"}},
		{"name":"vattr","model":"vehicle-attrs","classes":["car"],"fields":{"colour":"vehicle_color"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := Lookup("person_vehicle_capture")
	a, err := spec.New("t", p)
	if err != nil {
		t.Fatal(err)
	}
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 40, 200, 0), 360, 640, gocv.MatTypeCV8UC3) // a red scene
	defer frame.Close()
	car := decode.Detection{Label: "car", Score: 0.9, Box: decode.Box{X1: 200, Y1: 150, X2: 360, Y2: 260},
		Stage2: map[string]decode.Stage2{
			"vtype": {Classes: []decode.Class{{Label: "suv", Score: 0.8}}},
			"vattr": {Attributes: decode.Attributes{"colour": {{Label: "white", Score: 0.7}}}}}}
	var caps []Capture
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for i := range 8 {
		car.Box.X1 += 4
		car.Box.X2 += 4
		out := a.Process(Frame{Mat: frame, Time: t0.Add(time.Duration(i) * 200 * time.Millisecond)}, map[string][]decode.Detection{"nanodet": {car}})
		caps = append(caps, out.Captures...)
	}
	caps = append(caps, a.Close().Captures...)
	if len(caps) == 0 {
		t.Fatal("no capture")
	}
	for _, c := range caps {
		if c.Attributes[AttrVehicleClass] != "K31" || c.Attributes[AttrVehicleColor] != "white" {
			t.Errorf("capture attributes %v, want vehicle_class K31 and vehicle_color white", c.Attributes)
		}
		c.Frame.Close()
	}
}

// Bad stages name the field.
func TestStage2Validation(t *testing.T) {
	for _, c := range []struct{ stage, field string }{
		{`{"model":"m","classes":["a"]}`, "params.stage2[0].name"},
		{`{"name":"x","classes":["a"]}`, "params.stage2[0].model"},
		{`{"name":"x","model":"m"}`, "params.stage2[0].classes"},
		{`{"name":"x","model":"m","classes":["a"],"region":[0.5,0,0.2,1]}`, "params.stage2[0].region"},
		{`{"name":"x","model":"m","classes":["a"],"every":-1}`, "params.stage2[0].every"},
	} {
		_, err := ParseParams(json.RawMessage(`{"stage2":[` + c.stage + `]}`))
		if fe, ok := err.(*FieldError); !ok || fe.Field != c.field {
			t.Errorf("%s: %v, want %s", c.stage, err, c.field)
		}
	}
}
