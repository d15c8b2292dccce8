package decode

import (
	"fmt"
	"slices"
)

// AttributeGroup is one head of a multi-head attribute model (a person-attribute or
// vehicle model): its values are Count consecutive values of Output from Offset on,
// named by Labels. "softmax" (or "argmax", already probabilities) heads pick one value;
// "sigmoid" (or "multi", already probabilities) heads are multi-label: every value
// scoring at least Threshold (default 0.5).
type AttributeGroup struct {
	Name       string   `json:"name"`
	Output     string   `json:"output,omitempty"` // "" : the first output
	Offset     int      `json:"offset,omitempty"`
	Labels     []string `json:"labels"`
	Activation string   `json:"activation"`
	Threshold  float32  `json:"threshold,omitempty"`
}

// AttributesConfig is the "attributes" decoder's config.
type AttributesConfig struct {
	Groups []AttributeGroup `json:"groups"`
}

// Attributes is one image's result: group name → the values it chose, best first.
type Attributes map[string][]Class

var activations = []string{"softmax", "argmax", "sigmoid", "multi"}

// Check validates the groups.
func (c AttributesConfig) Check() error {
	if len(c.Groups) == 0 {
		return fmt.Errorf("attributes: groups are required")
	}
	seen := map[string]bool{}
	for i, g := range c.Groups {
		switch {
		case g.Name == "" || seen[g.Name]:
			return fmt.Errorf("attributes: groups[%d] needs a unique name", i)
		case len(g.Labels) == 0 || g.Offset < 0:
			return fmt.Errorf("attributes: groups[%d] needs labels and a non-negative offset", i)
		case !slices.Contains(activations, g.Activation):
			return fmt.Errorf("attributes: groups[%d].activation %q: softmax, argmax, sigmoid or multi", i, g.Activation)
		}
		seen[g.Name] = true
	}
	return nil
}

// DecodeAttributes reads batch index b.
func DecodeAttributes(c AttributesConfig, outs []Output, b int) (Attributes, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	res := Attributes{}
	for _, g := range c.Groups {
		o, ok := ByName(outs, g.Output)
		if !ok || len(o.Shape) == 0 || o.Shape[0] <= int64(b) {
			return nil, fmt.Errorf("attributes: group %s: no output %q for image %d", g.Name, g.Output, b)
		}
		per := len(o.Data) / int(o.Shape[0])
		if g.Offset+len(g.Labels) > per {
			return nil, fmt.Errorf("attributes: group %s wants values %d..%d of output %q %v", g.Name, g.Offset, g.Offset+len(g.Labels)-1, o.Name, o.Shape)
		}
		v := o.Data[b*per+g.Offset : b*per+g.Offset+len(g.Labels)]
		switch g.Activation {
		case "softmax", "argmax":
			res[g.Name] = TopK(v, 1, g.Activation == "softmax", g.Labels)
		default:
			th := g.Threshold
			if th == 0 {
				th = 0.5
			}
			var on []Class
			for i, x := range v {
				if g.Activation == "sigmoid" {
					x = sigmoid(x)
				}
				if x >= th {
					on = append(on, Class{Index: i, Label: g.Labels[i], Score: x})
				}
			}
			slices.SortStableFunc(on, func(a, b Class) int {
				if a.Score > b.Score {
					return -1
				}
				if a.Score < b.Score {
					return 1
				}
				return 0
			})
			res[g.Name] = on
		}
	}
	return res, nil
}
