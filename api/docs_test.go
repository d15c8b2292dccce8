package api_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/api"
)

// docs/access.md is generated from the route table; UPDATE_DOCS=1 rewrites it.
func TestAccessDocIsCurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString("# API access rules\n\nGenerated from `api/routes.go` by `UPDATE_DOCS=1 go test ./api -run AccessDoc`; a test fails when it is stale.\n")
	b.WriteString("Row-level rules (department, areas, grants) apply on top: see the README's \"Departments, sharing and audit\".\n\n")
	b.WriteString("| Method | Path | Who may call |\n| --- | --- | --- |\n")
	for _, r := range api.Rules() {
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", r.Method, r.Path, r.Rule)
	}
	const path = "../docs/access.md"
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	if string(got) != b.String() {
		t.Fatalf("%s is stale: run UPDATE_DOCS=1 go test ./api -run AccessDoc", path)
	}
}
