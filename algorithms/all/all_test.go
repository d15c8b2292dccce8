package all_test

import (
	"encoding/json"
	"testing"
	"unicode"

	"github.com/cityeye/cityeye/algorithms"
	_ "github.com/cityeye/cityeye/algorithms/all"
)

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// Every algorithm speaks to the console in both languages, and its options example
// is one the algorithm itself accepts: the console shows it as the placeholder, so
// a wrong one would teach users a refused task.
func TestEveryAlgorithmHasConsoleTextsAndAValidOptionsExample(t *testing.T) {
	names := algorithms.Names()
	if len(names) < 7 {
		t.Fatalf("registered %v: an algorithm package is missing from all", names)
	}
	for _, n := range names {
		s, _ := algorithms.Lookup(n)
		if s.Title == "" || s.Summary == "" || hasHan(s.Title) || hasHan(s.Summary) {
			t.Errorf("%s: English title %q and summary %q must be set, without Chinese", n, s.Title, s.Summary)
		}
		if !hasHan(s.TitleZH) || !hasHan(s.SummaryZH) {
			t.Errorf("%s: Chinese title %q and summary %q must be set", n, s.TitleZH, s.SummaryZH)
		}
		if (len(s.Params) == 0) != (s.OptionsExample == nil) {
			t.Errorf("%s: %d documented options but options example %s", n, len(s.Params), s.OptionsExample)
			continue
		}
		if s.OptionsExample == nil {
			continue
		}
		if _, err := s.New("t1", algorithms.Params{SampleFPS: 5, Options: s.OptionsExample}); err != nil {
			t.Errorf("%s refuses its own options example %s: %v", n, s.OptionsExample, err)
		}
		// the acceptance above means something only if the algorithm checks its options
		var m map[string]any
		if err := json.Unmarshal(s.OptionsExample, &m); err != nil {
			t.Errorf("%s: options example %s is not a JSON object: %v", n, s.OptionsExample, err)
			continue
		}
		m["no_such_option"] = 1
		bad, _ := json.Marshal(m)
		if _, err := s.New("t1", algorithms.Params{SampleFPS: 5, Options: bad}); err == nil {
			t.Errorf("%s accepts an unknown option: its example proves nothing", n)
		}
	}
}
