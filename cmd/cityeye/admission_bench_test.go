package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata"
)

// processCPU is the CPU time (user + system) process pid has used, from /proc.
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, stime: fields 14 and 15 of stat
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// BenchmarkEmbeddedAdmission runs the embedded server on this machine with about
// twice the analysis it can do — six cameras of vtest.avi, each with a 10 fps
// person/vehicle task (two low priority, two normal, two high) — and measures the
// server's CPU over 30 s against the planner's target utilisation (85 % of the
// cores), and which tasks the planner degraded, once the planner sizes the machine
// from its measured costs (its CPU benchmark per batch size, the streams' decode
// costs). Run it on an otherwise idle machine:
//
//	go test ./cmd/cityeye -run '^$' -bench EmbeddedAdmission -benchtime 1x
func BenchmarkEmbeddedAdmission(b *testing.B) {
	for i := 0; i < b.N; i++ {
		admission(b)
	}
}

func admission(b *testing.B) {
	s := startServer(b, b.TempDir(), "--loop-files")
	s.post("/api/v1/departments", map[string]any{"id": "police", "name": "Public security bureau", "areas": []string{"441500"}}, 201, 409)
	prio := []int{-1, -1, 0, 0, 1, 1}
	taskPrio := map[string]int{}
	for i, p := range prio {
		id := fmt.Sprintf("4415020000131000%04d", i+1)
		s.post("/api/v1/streams", map[string]any{"device_id": id, "name": "vtest " + id[16:], "url": "file://" + testdata.Media(b, "vtest.avi"),
			"admin_division": "441502", "longitude": 115.37, "latitude": 22.78, "owner_department": "police", "point_type": 1, "sharing": 1})
		task := s.post("/api/v1/tasks", map[string]any{"device_id": id, "algorithm": "person_vehicle_capture", "priority": p, "params": map[string]any{"sample_fps": 10}})
		taskPrio[fmt.Sprint(task["id"])] = p
	}
	// the planner sizes the machine from its own CPU benchmark of the frame models
	// (per batch size), the streams' measured decode costs and the measured CPU over
	// their modelled cost (cpu_factor): wait for all three, then let the plan settle
	var sized struct {
		Workers []struct {
			CPUBench []struct {
				Model     string  `json:"model"`
				BatchSize int     `json:"batch_size"`
				FPS       float64 `json:"fps"`
			} `json:"cpu_bench"`
			Status map[string]struct {
				Source struct {
					DecodeCPUMS float64 `json:"decode_cpu_ms"`
				} `json:"source"`
			} `json:"status"`
			CPUFactor float64 `json:"cpu_factor"`
		} `json:"workers"`
	}
	measured := func() bool {
		s.get("/api/v1/workers", &sized)
		if len(sized.Workers) != 1 {
			return false
		}
		nanodet, decode := false, false
		for _, r := range sized.Workers[0].CPUBench {
			nanodet = nanodet || r.Model == "nanodet"
		}
		for _, st := range sized.Workers[0].Status {
			decode = decode || st.Source.DecodeCPUMS > 0
		}
		return nanodet && decode && sized.Workers[0].CPUFactor > 0
	}
	for deadline := time.Now().Add(3 * time.Minute); !measured(); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			b.Fatalf("no CPU benchmark, decode cost or CPU factor after 3 min: %+v", sized)
		}
	}
	b.Logf("measured costs: %+v", sized.Workers[0].CPUBench)
	for id, st := range sized.Workers[0].Status {
		b.Logf("stream %s: decode %.2f ms of CPU per frame", id, st.Source.DecodeCPUMS)
	}
	b.Logf("measured CPU over modelled: %.2f", sized.Workers[0].CPUFactor)
	time.Sleep(25 * time.Second) // the plan settles on them (one more calibration window)
	s.get("/api/v1/workers", &sized)
	b.Logf("measured CPU over modelled after settling: %.2f", sized.Workers[0].CPUFactor)
	pid := s.cmd.Process.Pid
	c0, t0 := processCPU(b, pid), time.Now()
	time.Sleep(30 * time.Second)
	cpu, wall := processCPU(b, pid)-c0, time.Since(t0)
	util := cpu.Seconds() / (wall.Seconds() * float64(runtime.NumCPU()))
	var ws struct {
		Grants map[string]struct {
			State      string  `json:"state"`
			Requested  float64 `json:"requested_fps"`
			GrantedFPS float64 `json:"granted_fps"`
			Duty       float64 `json:"duty"`
		} `json:"grants"`
	}
	s.get("/api/v1/workers", &ws)
	var lines []string
	byPrio := map[int][]float64{}
	for id, g := range ws.Grants {
		p, ok := taskPrio[id]
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s priority %d: %s %.2f fps × duty %.2f", id, p, g.State, g.GrantedFPS, g.Duty))
		byPrio[p] = append(byPrio[p], g.GrantedFPS*g.Duty)
	}
	if len(lines) != len(prio) {
		b.Fatalf("grants of %d tasks, want %d: %+v", len(lines), len(prio), ws.Grants)
	}
	b.Logf("grants:\n%s", strings.Join(lines, "\n"))
	b.Logf("server CPU %.1f s over %.1f s on %d cores: utilisation %.2f (target 0.85)", cpu.Seconds(), wall.Seconds(), runtime.NumCPU(), util)
	b.ReportMetric(util, "cpu-util")
	b.ReportMetric(util/0.85, "util/target")
	mean := func(v []float64) float64 {
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		return sum / float64(max(len(v), 1))
	}
	b.ReportMetric(mean(byPrio[-1]), "low-fps")
	b.ReportMetric(mean(byPrio[0]), "normal-fps")
	b.ReportMetric(mean(byPrio[1]), "high-fps")
}
