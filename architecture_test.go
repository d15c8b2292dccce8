package cityeye

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cityeye/cityeye"

// layers lists the top-level folders from the top down; a package may import its
// own folder and the folders of lower layers only. Every folder with Go code must
// be listed (a new one fails the test until it is placed).
var layers = [][]string{
	{"cmd"},
	{"api"},
	{"scheduler"},
	{"workers"},
	{"algorithms"},
	{"models"},
	{"store", "gat1400", "auth", "watermark", "netguard"}, // the shared domain
}

// domainOrder: within the domain layer imports run one way too (store keeps
// records whose types and rights come from gat1400 and auth).
var domainOrder = []string{"store", "gat1400", "auth", "watermark", "netguard"}

// testOnly folders hold helpers for tests: only test files may import them, and
// they may import anything but api and cmd.
var testOnly = []string{"testdata"}

type pkg struct {
	ImportPath, Dir           string
	Imports                   []string
	TestImports, XTestImports []string
}

// folder is a package's top-level folder ("" for the root package).
func folder(path string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	f, _, _ := strings.Cut(rel, "/")
	return f
}

func layerOf(f string) int {
	for i, l := range layers {
		if slices.Contains(l, f) {
			return i
		}
	}
	return -1
}

// allowed says whether a package in folder from may import one in folder to, and
// the rule that decides it.
func allowed(from, to string, test bool) (bool, string) {
	switch {
	case from == to:
		return true, ""
	case to == "cmd":
		return false, "nothing imports cmd/: it holds the binaries"
	case to == "api" && from != "cmd" && from != "":
		return false, "api/ is HTTP only: no package outside cmd/ imports it"
	case slices.Contains(testOnly, to):
		return test, "testdata/ is for tests only"
	case slices.Contains(testOnly, from):
		return true, ""
	case test && layerOf(from) >= 0 && layerOf(to) >= 0:
		return true, "" // a test may drive the real layers above it (integration tests)
	}
	lf, lt := layerOf(from), layerOf(to)
	if lf < 0 {
		return false, fmt.Sprintf("folder %q is not placed in a layer: add it to the table in architecture_test.go", from)
	}
	if lt < 0 {
		return false, fmt.Sprintf("folder %q is not placed in a layer: add it to the table in architecture_test.go", to)
	}
	if lf == lt && slices.Contains(domainOrder, from) {
		if slices.Index(domainOrder, to) > slices.Index(domainOrder, from) {
			return true, ""
		}
		return false, fmt.Sprintf("within the domain, imports run %s", strings.Join(domainOrder, " → "))
	}
	if lt > lf {
		return true, ""
	}
	return false, fmt.Sprintf("imports run one way: %s", strings.Join(flat(), " → "))
}

func flat() []string {
	var out []string
	for _, l := range layers {
		out = append(out, strings.Join(l, "|"))
	}
	return out
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	// ./... skips testdata folders: their packages are added by name
	args := []string{"list", "-e", "-json=ImportPath,Dir,Imports,TestImports,XTestImports", "./..."}
	filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if gofiles, _ := filepath.Glob(filepath.Join(path, "*.go")); len(gofiles) > 0 {
				args = append(args, "./"+path)
			}
		}
		return nil
	})
	cmd := exec.Command("go", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

// TestArchitecture fails on an import against the layering, and says which rule.
func TestArchitecture(t *testing.T) {
	t.Logf("rules: imports run %s; a package may import its own folder; api/ is imported by cmd/ only; "+
		"within the domain %s; testdata/ by tests only", strings.Join(flat(), " → "), strings.Join(domainOrder, " → "))
	pkgs := listPackages(t)
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: is the test running in the module root?", len(pkgs))
	}
	for _, p := range pkgs {
		from := folder(p.ImportPath)
		check := func(imps []string, test bool) {
			for _, imp := range imps {
				if !strings.HasPrefix(imp, module+"/") || imp == p.ImportPath {
					continue
				}
				if ok, why := allowed(from, folder(imp), test); !ok {
					kind := "imports"
					if test {
						kind = "tests import"
					}
					t.Errorf("%s %s %s: %s", strings.TrimPrefix(p.ImportPath, module+"/"), kind, strings.TrimPrefix(imp, module+"/"), why)
				}
			}
		}
		check(p.Imports, false)
		check(append(p.TestImports, p.XTestImports...), true)
	}
}

// TestArchitectureRules checks the table itself on imports that used to exist.
func TestArchitectureRules(t *testing.T) {
	for _, c := range []struct {
		from, to string
		test, ok bool
	}{
		{"workers", "store", false, true},
		{"workers", "api", false, false},       // the frame path wrote "through the API"
		{"models", "workers", false, false},    // the warehouse imported the job queue
		{"models", "algorithms", false, false}, // … and the algorithm registry
		{"scheduler", "workers", false, true},
		{"store", "gat1400", false, true},
		{"gat1400", "store", false, false},
		{"auth", "store", false, false},
		{"api", "cmd", false, false},
		{"algorithms", "testdata", false, false},
		{"algorithms", "testdata", true, true},
		{"algorithms", "workers", true, true},
		{"store", "api", true, false},
		{"newfolder", "store", false, false},
	} {
		if ok, why := allowed(c.from, c.to, c.test); ok != c.ok {
			t.Errorf("%s → %s (test %v): allowed %v (%s), want %v", c.from, c.to, c.test, ok, why, c.ok)
		}
	}
}
