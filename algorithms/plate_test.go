package algorithms

import (
	"testing"

	"github.com/cityeye/cityeye/models/decode"
)

func TestValidatePlate(t *testing.T) {
	valid := []struct{ in, want string }{
		{"粤B12345", "粤B12345"},   // ordinary
		{"粤B·12345", "粤B12345"},  // with the plate's middle dot
		{"粤b 123-45", "粤B12345"}, // spaces, dash, lower case
		{"粵B12345", "粤B12345"},   // traditional province character
		{"京A8O8O8", "京A80808"},   // O is never a serial letter: 0
		{"沪C12I45", "沪C12145"},   // I likewise: 1
		{"京0·12345", "京O12345"},  // the authority position is a letter: 0 → O
		{"粤BD12345", "粤BD12345"}, // small new-energy, battery-electric
		{"粤BF12345", "粤BF12345"}, // small new-energy, other
		{"粤BDA2345", "粤BDA2345"}, // second serial character may be a letter
		{"粤BD12O45", "粤BD12045"}, // digit positions: O → 0
		{"粤B12345D", "粤B12345D"}, // large new-energy
		{"粤B1234学", "粤B1234学"},   // driving school
		{"粤B1234警", "粤B1234警"},   // police
		{"粤Z1234港", "粤Z1234港"},   // Hong Kong
		{"粤ＢＤ１２３４５", "粤BD12345"}, // full-width
	}
	for _, c := range valid {
		got, _, ok := ValidatePlate(c.in)
		if !ok || got != c.want {
			t.Errorf("ValidatePlate(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	kinds := map[string]PlateKind{"粤B12345": PlateOrdinary, "粤BD12345": PlateNewEnergySmall, "粤B12345D": PlateNewEnergyLarge, "粤B1234学": PlateSpecialSuffix}
	for in, want := range kinds {
		if _, k, _ := ValidatePlate(in); k != want {
			t.Errorf("%s: kind %s, want %s", in, k, want)
		}
	}
	invalid := []string{
		"粤B1234",   // too short
		"粤I12345",  // I is no authority letter
		"ABC123",   // not a mainland plate
		"B12345",   // no province
		"港B12345",  // 港 is a suffix, not a province
		"粤B123456", // 8 characters without an energy letter
		"粤BD1234X", // small new-energy: the last four are digits
		"粤BX12345", // X is no energy letter
		"粤B1234D5", // large new-energy: the letter is last
		"粤B12345学", // suffix plates have 4 serial characters
		"粤1B2345",  // the authority is a letter
		"粤B12#45",  // a stray mark is dropped: 6 characters
		"",
		"京东商城",
	}
	for _, in := range invalid {
		if got, _, ok := ValidatePlate(in); ok {
			t.Errorf("ValidatePlate(%q) accepted as %q", in, got)
		}
	}
}

func TestPlateVote(t *testing.T) {
	var v PlateVote
	if _, ok := v.Result(); ok {
		t.Fatal("an empty vote elected a plate")
	}
	v.Add(PlateRead{Text: "粤B12345", Score: 0.9, Color: ColorBlue})
	v.Add(PlateRead{Text: "粤B12845", Score: 0.6, Color: ColorBlue})
	v.Add(PlateRead{Text: "粤B12345", Score: 0.8})
	r, ok := v.Result()
	// share 1.7/2.3, mean 0.85: 100 × 0.739 × 0.85 = 62.8
	if !ok || r.Text != "粤B12345" || r.Reliability != 63 || r.Color != ColorBlue || r.Reads != 3 || r.Agreeing != 2 {
		t.Fatalf("result %+v", r)
	}
	var one PlateVote
	one.Add(PlateRead{Text: "粤BD12345", Kind: PlateNewEnergySmall, Score: 0.95, Color: ColorGreen})
	if r, _ := one.Result(); r.Reliability != 95 || r.Kind != PlateNewEnergySmall || r.Color != ColorGreen {
		t.Fatalf("single read %+v", r)
	}
	// a tie in score goes to more reads, then to the smaller text: deterministic
	var tie PlateVote
	tie.Add(PlateRead{Text: "粤B22222", Score: 0.8})
	tie.Add(PlateRead{Text: "粤B11111", Score: 0.4})
	tie.Add(PlateRead{Text: "粤B11111", Score: 0.4})
	if r, _ := tie.Result(); r.Text != "粤B11111" || r.Reliability != 20 {
		t.Fatalf("tie %+v", r)
	}
}

func TestPlateCandidates(t *testing.T) {
	lines := []TextLine{
		{Text: "粤B", Score: 0.9, Box: decode.Box{X1: 20, Y1: 10, X2: 60, Y2: 30}},       // a double-row plate: top row
		{Text: "12345", Score: 0.8, Box: decode.Box{X1: 10, Y1: 34, X2: 75, Y2: 64}},    // bottom row
		{Text: "ABC123", Score: 0.99, Box: decode.Box{X1: 200, Y1: 0, X2: 300, Y2: 20}}, // a sign: rejected
		{Text: "浙A·9Z8Y7", Score: 0.7, Box: decode.Box{X1: 100, Y1: 100, X2: 200, Y2: 130}},
	}
	got := map[string]float32{}
	for _, p := range PlateCandidates(lines) {
		got[p.Text] = p.Score
	}
	if len(got) != 2 || got["粤B12345"] != 0.8 || got["浙A9Z8Y7"] != 0.7 {
		t.Fatalf("candidates %v", got)
	}
	// one row split in two, side by side
	split := []TextLine{{Text: "苏E", Score: 0.9, Box: decode.Box{X1: 0, Y1: 0, X2: 30, Y2: 20}},
		{Text: "D1234 5", Score: 0.85, Box: decode.Box{X1: 36, Y1: 1, X2: 120, Y2: 21}}}
	if c := PlateCandidates(split); len(c) != 1 || c[0].Text != "苏ED12345" || c[0].Kind != PlateNewEnergySmall {
		t.Fatalf("split row %+v", c)
	}
	// lines far apart are not joined
	apart := []TextLine{{Text: "苏E", Score: 0.9, Box: decode.Box{X1: 0, Y1: 0, X2: 30, Y2: 20}},
		{Text: "12345", Score: 0.9, Box: decode.Box{X1: 300, Y1: 200, X2: 380, Y2: 220}}}
	if c := PlateCandidates(apart); len(c) != 0 {
		t.Fatalf("joined distant lines: %+v", c)
	}
}
