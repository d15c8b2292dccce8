package api_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/api"
	"github.com/cityeye/cityeye/testdata"
)

// Attack (issue 14 item 6): an operator registers a camera or runs an offline
// analysis on file:///etc/passwd, the config file or another department's
// footage, and learns from the answer whether a file exists. file:// is accepted
// only under the import folders the platform administrator configured, in its
// plain spelling, with links resolved; the refusal is the same for a file that
// exists and one that does not, and names no path.
func TestFileSourcesOnlyFromImportFolders(t *testing.T) {
	imports := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret.mp4") // outside every import folder
	if err := os.WriteFile(secret, []byte("not for operators"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(imports, "leak.mp4")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(secret), filepath.Join(imports, "dir")); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(imports, "clip.mp4")
	if b, err := os.ReadFile(testdata.Media(t, "faceclip.mp4")); err != nil || os.WriteFile(inside, b, 0o644) != nil {
		t.Fatal("copying the clip", err)
	}
	f := newFixture(t, func(s *api.Server) { s.ImportDirs = []string{imports} })
	f.must("POST", "/api/v1/streams", "admin", cameras[1].body(), 201)
	stream := func(id, url string) string {
		return fmt.Sprintf(`{"device_id":%q,"name":"x","url":%q,"admin_division":"441502","longitude":115.3,"latitude":22.7,"point_type":1,"sharing":1}`, id, url)
	}
	analysis := func(url string) string {
		return fmt.Sprintf(`{"device_id":%q,"url":%q,"algorithm":"face_capture","params":{"sample_fps":5}}`, cameras[1].id, url)
	}
	var answers []string
	for i, u := range []string{
		"file://" + secret, // exists
		"file://" + filepath.Join(filepath.Dir(secret), "nothing-here.mp4"), // does not
		"file:///etc/passwd",
		"FILE:///etc/passwd",
		"file://" + imports + "/../" + filepath.Base(filepath.Dir(secret)) + "/secret.mp4",
		"file://" + imports + "/%2e%2e/secret.mp4",
		"file://" + imports + "/leak.mp4",       // a link out of the folder
		"file://" + imports + "/dir/secret.mp4", // a linked folder
		"file://localhost" + secret,
	} {
		code, out := f.do("POST", "/api/v1/streams", "police_op", stream(fmt.Sprintf("441502000013100001%02d", i), u))
		if code != 400 || out["field"] != "url" {
			t.Errorf("stream %s: %d %v, want 400 on url", u, code, out)
		}
		answers = append(answers, fmt.Sprint(out["error"]))
		code, out = f.do("POST", "/api/v1/analyses", "police_op", analysis(u))
		if code != 400 || out["field"] != "url" {
			t.Errorf("analysis %s: %d %v, want 400 on url", u, code, out)
		}
		answers = append(answers, fmt.Sprint(out["error"]))
	}
	for _, a := range answers {
		if a != answers[0] {
			t.Errorf("refusals differ (an existence oracle): %q vs %q", a, answers[0])
		}
		if strings.Contains(a, filepath.Dir(secret)) || strings.Contains(a, imports) || strings.Contains(a, "/etc") {
			t.Errorf("refusal names a server path: %q", a)
		}
	}
	// what the administrator imported is usable
	f.must("POST", "/api/v1/streams", "police_op", stream("44150200001310000199", "file://"+inside), 201)
	a := f.must("POST", "/api/v1/analyses", "police_op", analysis("file://"+inside), 202)
	if got := f.waitAnalysis(a["id"].(string), "police_op", 90*time.Second); got["state"] != "done" {
		t.Errorf("analysis of an imported file: %v", got)
	}
}
