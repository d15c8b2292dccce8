package catalogue

import (
	"os"
	"strings"
	"testing"
)

// docs/catalogue.md documents every column: a column added here and not there fails.
func TestEveryColumnDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/catalogue.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields {
		if !strings.Contains(string(doc), "| `"+f.Key+"` | "+f.Chinese+" |") {
			t.Errorf("docs/catalogue.md has no row for %s (%s)", f.Key, f.Chinese)
		}
	}
}
