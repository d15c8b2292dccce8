package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/scheduler"
)

// A remote worker's GPU inventory travels in its heartbeat and shows in GET
// /api/v1/workers and /metrics; a malformed inventory is a 400 naming gpus.
func TestWorkersShowGPUs(t *testing.T) {
	f := newFixture(t)
	f.srv.Cluster = scheduler.NewCluster(5 * time.Second)
	f.worker("gpu-01")
	f.worker("cpu-01")
	f.worker("gpu-02")
	hb := `{"id":"gpu-01","cores":16,"gpus":[{"index":0,"uuid":"GPU-1","model":"NVIDIA H100 80GB HBM3","memory_mb":81559,"memory_used_mb":1024,
		"nvdec":7,"nvenc":0,"engines_from":"table","util_gpu":35,"util_decoder":60}]}`
	f.must("POST", "/api/v1/workers/heartbeat", "wk-gpu-01", hb, 200)
	ws := f.must("GET", "/api/v1/workers", "admin", "", 200)["workers"].([]any)
	gpus := ws[0].(map[string]any)["gpus"].([]any)
	if g := gpus[0].(map[string]any); len(gpus) != 1 || g["model"] != "NVIDIA H100 80GB HBM3" || g["nvdec"] != 7.0 || g["util_decoder"] != 60.0 {
		t.Fatalf("workers: %v", ws)
	}
	_, _, b := f.getBytes("/metrics", "admin", "")
	for _, want := range []string{
		`cityeye_gpu_engines{engine="nvdec",gpu="cuda:0",model="NVIDIA H100 80GB HBM3",worker="gpu-01"} 7`,
		`cityeye_gpu_utilisation_ratio{engine="decoder",gpu="cuda:0",model="NVIDIA H100 80GB HBM3",worker="gpu-01"} 0.6`,
		`cityeye_gpu_memory_bytes{gpu="cuda:0",kind="used",model="NVIDIA H100 80GB HBM3",worker="gpu-01"} 1.073741824e+09`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(b), "cityeye_gpu"))
		}
	}
	// a CPU-only worker reports an empty list
	f.must("POST", "/api/v1/workers/heartbeat", "wk-cpu-01", `{"id":"cpu-01","cores":4,"gpus":[]}`, 200)
	for _, bad := range []string{`[{"index":-1}]`, `[{"index":0},{"index":0}]`, `[{"index":0,"nvdec":-2}]`} {
		if out := f.must("POST", "/api/v1/workers/heartbeat", "wk-gpu-02", `{"id":"gpu-02","gpus":`+bad+`}`, 400); out["field"] != "gpus" {
			t.Errorf("%s: %v", bad, out)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
