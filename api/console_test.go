package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cityeye/cityeye/api"
)

// The console is static files at / and /console/; everything else reaches the API.
func TestConsoleServesItsFilesAndPassesTheRest(t *testing.T) {
	apiHit := ""
	h := api.WithConsole(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiHit = r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusTeapot)
	}), api.ConsoleConfig{MapTiles: "https://gis.city.example/tiles/{z}/{x}/{y}.png"})
	get := func(method, path string) (*http.Response, string) {
		apiHit = ""
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Result(), string(b)
	}
	resp, body := get("GET", "/")
	if resp.StatusCode != 200 || !strings.Contains(body, `<script type="module" src="/console/js/app.js">`) || apiHit != "" {
		t.Fatalf("GET /: %d %q (api saw %q)", resp.StatusCode, body, apiHit)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "img-src 'self' blob: data: https://gis.city.example") {
		t.Errorf("CSP %q: scripts only from here, map tiles from the configured GIS", csp)
	}
	if resp, _ := get("GET", "/console/js/app.js"); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, body := get("GET", "/console/config.json"); body != `{"map_tiles":"https://gis.city.example/tiles/{z}/{x}/{y}.png"}` {
		t.Errorf("config.json: %s", body)
	}
	for _, p := range []string{"/console/js/", "/console/nope.js"} {
		if resp, _ := get("GET", p); resp.StatusCode != 404 || apiHit != "" {
			t.Errorf("GET %s: %d, want 404 (no directory listings)", p, resp.StatusCode)
		}
	}
	for _, mp := range [][2]string{{"GET", "/api/v1/me"}, {"POST", "/"}, {"GET", "/openapi.json"}, {"GET", "/metrics"}} {
		if resp, _ := get(mp[0], mp[1]); resp.StatusCode != http.StatusTeapot || apiHit != mp[0]+" "+mp[1] {
			t.Errorf("%s %s went to the console (%d), not the API", mp[0], mp[1], resp.StatusCode)
		}
	}
}

// The console adds no API: every route its pages check access for and every
// /api/v1 path it calls is a declared route of the table the router enforces.
func TestConsoleCallsOnlyDeclaredRoutes(t *testing.T) {
	declared := map[string]bool{}
	var paths []string
	for _, r := range api.Rules() {
		p := regexp.MustCompile(`[:*]([a-z_]+)`).ReplaceAllString(r.Path, "{$1}")
		declared[r.Method+" "+p] = true
		paths = append(paths, p)
	}
	accessRE := regexp.MustCompile(`'((?:GET|POST|PUT|DELETE) /[^']*)'`)
	pathRE := regexp.MustCompile(`'(/api/v1/[^']*)'`)
	checked := 0
	filepath.WalkDir("web/js", func(file string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, _ := os.ReadFile(file)
		for _, m := range accessRE.FindAllStringSubmatch(string(src), -1) {
			checked++
			if !declared[m[1]] {
				t.Errorf("%s checks access to %q, which is no declared route", file, m[1])
			}
		}
		for _, m := range pathRE.FindAllStringSubmatch(string(src), -1) {
			checked++
			lit, ok := m[1], false
			for _, p := range paths { // a literal is a route or the fixed start of one ('/api/v1/tasks/' + id)
				if p == lit || strings.HasSuffix(lit, "/") && strings.HasPrefix(p, lit) || strings.HasPrefix(lit, "/api/v1/objects/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s calls %q, which is no declared route", file, lit)
			}
		}
		return nil
	})
	if checked < 30 {
		t.Fatalf("only %d route references found in web/js: the scan is broken", checked)
	}
}
