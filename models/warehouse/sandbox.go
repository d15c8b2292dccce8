package warehouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cityeye/cityeye/models/engine"
)

// A vendor's model is untrusted input to ONNX Runtime, so the warehouse never runs it
// in the API process: the upload check and the validation run in a child process
// (this same binary, re-executed with SandboxEnv set) that limits its own CPU time
// and memory before it touches the package, gets a minimal environment (no
// database, object store or token secrets), is killed with its process group at
// the wall-clock limit or when the parent dies, and talks to the parent over a
// pipe on fd 3. Binaries that host a warehouse call SandboxMain first thing in
// main (tests: in TestMain).

// SandboxEnv marks the child process; its value is ignored.
const SandboxEnv = "CITYEYE_MODEL_SANDBOX"

// Limits bound one sandboxed check or validation; zero fields take the defaults.
type Limits struct {
	Memory      int64         // bytes of writable memory (RLIMIT_DATA); default 4 GiB
	CheckCPU    time.Duration // CPU time of an upload check (RLIMIT_CPU); default 1 min
	CheckWall   time.Duration // wall-clock time of an upload check; default 2 min
	ValidateCPU time.Duration // CPU time of a validation with its benchmark; default 20 min
	// ValidateWall is the validation's wall-clock limit; default 10 min.
	ValidateWall time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.Memory <= 0 {
		l.Memory = 4 << 30
	}
	def(&l.CheckCPU, time.Minute)
	def(&l.CheckWall, 2*time.Minute)
	def(&l.ValidateCPU, 20*time.Minute)
	def(&l.ValidateWall, 10*time.Minute)
	return l
}

// sandboxRequest is what the parent sends on the child's stdin.
type sandboxRequest struct {
	Op        string         `json:"op"` // "check", "validate" or "evaluate"
	Dir       string         `json:"dir"`
	Engine    engine.Options `json:"engine"`
	BenchTime time.Duration  `json:"bench_time"`
	Memory    int64          `json:"memory"`
	CPU       time.Duration  `json:"cpu"`
	GPUName   string         `json:"gpu_name,omitempty"` // the class of the CUDA device, for BenchResult.Device
	Sets      []evalJob      `json:"sets,omitempty"`     // evaluate: the sets to score
}

// sandboxLine is one line the child writes: progress, then the outcome (Done).
type sandboxLine struct {
	Stage    string        `json:"stage,omitempty"`
	Progress int           `json:"progress,omitempty"`
	Done     bool          `json:"done,omitempty"`
	Problem  *Problem      `json:"problem,omitempty"` // check: why the upload is refused
	Report   *Report       `json:"report,omitempty"`  // validate
	Bench    []BenchResult `json:"bench,omitempty"`
	Scores   []setScore    `json:"scores,omitempty"` // evaluate
}

// errSandbox is a failure of the sandbox itself (the server's, logged with its
// details), not of the model: the caller retries, and answers name no server path.
var errSandbox = errors.New("the model sandbox could not run; see the server log")

// LimitError says the model was stopped by a sandbox limit or crashed the child: the
// model's fault, not the server's.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// childEnv is all the child inherits: what finds its libraries and caches.
var childEnv = []string{"PATH", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "CITYEYE_HOME", "CITYEYE_ORT_LIB", "CUDA_VISIBLE_DEVICES"}

// sandbox runs req in a child process under the limits and returns its outcome;
// progress (may be nil) sees the child's progress lines.
func (w *Warehouse) sandbox(ctx context.Context, req sandboxRequest, wall time.Duration, progress func(stage string, percent int)) (sandboxLine, error) {
	exe := w.SandboxExe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			slog.Error("model sandbox: no executable to re-run", "err", err)
			return sandboxLine{}, errSandbox
		}
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, wall)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = []string{SandboxEnv + "=1", "MALLOC_ARENA_MAX=2"} // few malloc arenas: memory is counted, not reserved per thread
	for _, k := range childEnv {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdin = bytes.NewReader(body)
	var stderr tailBuffer
	cmd.Stderr = &stderr // stdout goes nowhere: answers come on fd 3 only
	rd, wr, err := os.Pipe()
	if err != nil {
		return sandboxLine{}, err
	}
	defer rd.Close()
	cmd.ExtraFiles = []*os.File{wr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		wr.Close()
		slog.Error("model sandbox did not start", "exe", exe, "err", err)
		return sandboxLine{}, errSandbox
	}
	wr.Close()
	var out sandboxLine
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l sandboxLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Done {
			out = l
		} else if progress != nil {
			progress(l.Stage, l.Progress)
		}
	}
	err = cmd.Wait()
	if out.Done && err == nil {
		return out, nil
	}
	slog.Warn("model sandbox stopped", "op", req.Op, "err", err, "output", stderr.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return out, &LimitError{fmt.Sprintf("stopped after the %s wall-clock limit", wall)}
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && (ws.Signal() == syscall.SIGXCPU || ws.Signal() == syscall.SIGKILL) {
			return out, &LimitError{fmt.Sprintf("stopped at the %s CPU-time limit", req.CPU)}
		}
		return out, &LimitError{fmt.Sprintf("the model crashed the check or ran out of its %d MiB memory limit", req.Memory>>20)}
	case err != nil:
		return out, errSandbox
	}
	return out, &LimitError{"the check ended without an answer"}
}

// tailBuffer keeps the last 8 KiB written: the child's log, for the server log only.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }

// SandboxMain runs the child's side when the process was started as a model
// sandbox (SandboxEnv set) and exits; otherwise it returns at once.
func SandboxMain() {
	if _, ok := os.LookupEnv(SandboxEnv); !ok {
		return
	}
	os.Exit(runChild())
}

func runChild() int {
	out := os.NewFile(3, "sandbox-out")
	var req sandboxRequest
	if out == nil || json.NewDecoder(os.Stdin).Decode(&req) != nil {
		fmt.Fprintln(os.Stderr, "model sandbox: no request")
		return 2
	}
	// the limits hold before anything reads the package
	cpu := uint64(max(req.CPU.Seconds(), 1))
	limits := []struct {
		res      int
		cur, max uint64
	}{{syscall.RLIMIT_DATA, uint64(req.Memory), uint64(req.Memory)}, {syscall.RLIMIT_CPU, cpu, cpu + 2}, {syscall.RLIMIT_CORE, 0, 0}}
	for _, l := range limits {
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: l.cur, Max: l.max}); err != nil {
			fmt.Fprintln(os.Stderr, "model sandbox: setrlimit:", err)
			return 2
		}
	}
	enc := json.NewEncoder(out)
	var res sandboxLine
	switch req.Op {
	case "check":
		res.Problem = checkDir(req.Dir, req.Engine, req.Memory)
	case "validate":
		var gpuName func(int) string
		if req.GPUName != "" {
			gpuName = func(int) string { return req.GPUName }
		}
		rep, bench := validateDir(req.Dir, req.Engine, gpuName, req.BenchTime, func(stage string, percent int) {
			enc.Encode(sandboxLine{Stage: stage, Progress: percent})
		})
		res.Report, res.Bench = &rep, bench
	case "evaluate":
		res.Scores = evaluateDir(req.Dir, req.Engine, req.Sets, func(stage string, percent int) {
			enc.Encode(sandboxLine{Stage: stage, Progress: percent})
		})
	default:
		fmt.Fprintln(os.Stderr, "model sandbox: unknown op", req.Op)
		return 2
	}
	res.Done = true
	if err := enc.Encode(res); err != nil {
		return 2
	}
	return 0
}
