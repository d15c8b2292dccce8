package warehouse

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/models"
	"github.com/cityeye/cityeye/models/preprocess"
)

// The documented JSON Schema and the Go types it describes name the same fields, so
// the schema in docs/ cannot silently drift from what the warehouse accepts.
func TestManifestSchemaMatchesTypes(t *testing.T) {
	b, err := os.ReadFile("../../docs/model-manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]json.RawMessage
		Defs       map[string]struct{ Properties map[string]json.RawMessage } `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	same := func(what string, typ reflect.Type, props map[string]json.RawMessage) {
		var fields, documented []string
		for i := range typ.NumField() {
			fields = append(fields, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
		}
		for k := range props {
			documented = append(documented, k)
		}
		slices.Sort(fields)
		slices.Sort(documented)
		if !slices.Equal(fields, documented) {
			t.Errorf("%s: Go fields %v, schema properties %v", what, fields, documented)
		}
	}
	same("manifest", reflect.TypeOf(models.Manifest{}), schema.Properties)
	same("input", reflect.TypeOf(preprocess.Spec{}), schema.Defs["input"].Properties)
}
