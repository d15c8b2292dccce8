package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// /metrics speaks the Prometheus text format, for the platform office's token only.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.must("POST", "/api/v1/streams", "admin", cameras[1].body(), 201)
	f.must("POST", "/api/v1/tasks", "police_op", `{"device_id":"`+cameras[1].id+`","algorithm":"face_capture","enabled":false}`, 201)
	f.seedRecord("police", cameras[1], "", f.now, 1)
	f.srv.Scheduler.Reconcile(t.Context())
	req, _ := http.NewRequest("GET", f.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+f.tok["admin"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`cityeye_records{type="Face"} 1`, `cityeye_tasks{state="disabled"} 1`, "go_goroutines"} {
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q (status %d):\n%.2000s", want, resp.StatusCode, b)
		}
	}
	f.must("GET", "/metrics", "police_admin", "", 403)
}
