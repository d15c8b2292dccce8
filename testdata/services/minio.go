package services

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"

	"github.com/cityeye/cityeye/models/engine"
)

// S3Endpoint is how a test reaches the shared MinIO server.
type S3Endpoint struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
}

const (
	minioUser     = "cityeye-test"
	minioPassword = "cityeye-test-secret"
	minioStartMax = 30 * time.Second // MinIO is up in ~1 s; a loaded CI box may take longer
)

// minioServer is the one server of this test binary. mu guards proc, which is nil
// while the server is stopped for an outage test or after StopMinIO.
var (
	minioOnce sync.Once
	minioErr  error
	minioMu   sync.Mutex
	minioSrv  *minioServer
)

type minioServer struct {
	bin, dir, addr, console string
	proc                    *exec.Cmd
	log                     *serverLog
	exited                  chan struct{}
}

// MinIO returns a real MinIO server, started on first use and shared by every test
// in the binary (startup costs about a second and ~120 MB). Tests should isolate
// themselves with their own bucket. TestMain should call StopMinIO.
func MinIO(t testing.TB) S3Endpoint {
	t.Helper()
	minioOnce.Do(func() { minioSrv, minioErr = minioStart() })
	if minioErr != nil {
		t.Fatalf("MinIO test server: %v", minioErr)
	}
	return S3Endpoint{Endpoint: minioSrv.addr, AccessKey: minioUser, SecretKey: minioPassword}
}

// StopMinIO ends the shared server and removes its data; safe to call when no test
// started one.
func StopMinIO() {
	minioMu.Lock()
	defer minioMu.Unlock()
	if minioSrv == nil {
		return
	}
	minioSrv.kill()
	os.RemoveAll(minioSrv.dir)
}

// Outage kills the shared server (SIGKILL, like a crash) so a test can watch clients
// fail, and returns a function that starts it again on the same address and data
// folder and waits until it is healthy. The restart also runs at cleanup if the
// test did not call it, so later tests find the server up. Every test sharing the
// server sees the outage, so the caller must not run in parallel with them.
func (e S3Endpoint) Outage(t testing.TB) (restart func()) {
	t.Helper()
	minioMu.Lock()
	s := minioSrv
	if s == nil || s.addr != e.Endpoint || s.proc == nil {
		minioMu.Unlock()
		t.Fatalf("MinIO outage: no running test server at %s", e.Endpoint)
	}
	s.kill()
	minioMu.Unlock()
	var once sync.Once
	restart = func() {
		once.Do(func() {
			minioMu.Lock()
			defer minioMu.Unlock()
			if err := s.start(); err != nil {
				t.Fatalf("MinIO restart after outage: %v", err)
			}
		})
	}
	t.Cleanup(restart)
	return restart
}

func minioStart() (*minioServer, error) {
	bin := filepath.Join(engine.Home(), "bin", "minio")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s missing (%v); run `make setup` to install the MinIO server", bin, err)
	}
	dir, err := os.MkdirTemp("", "cityeye-minio-")
	if err != nil {
		return nil, err
	}
	minioMu.Lock()
	defer minioMu.Unlock()
	// A free port can be taken by someone else between probing and MinIO binding
	// it; a fresh pair usually works.
	for attempt := 0; ; attempt++ {
		s := &minioServer{bin: bin, dir: dir, addr: testkit.FreeAddr(), console: testkit.FreeAddr()}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// start runs the server on s.addr and waits for its liveness probe. Caller holds minioMu.
func (s *minioServer) start() error {
	if s.addr == "" || s.console == "" {
		return fmt.Errorf("no free local port for MinIO")
	}
	cmd := exec.Command(s.bin, "server", s.dir, "--address", s.addr, "--console-address", s.console)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+minioUser,
		"MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=on", // no root-disk or resource warnings that change behaviour
	)
	s.log = &serverLog{}
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	// Die with the test binary even if it is killed (go test -timeout, Ctrl-C), so
	// no orphan server keeps the port and memory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.proc = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(s.exited)

	// live answers 200 as soon as HTTP is up, before the object layer, IAM and
	// bucket metadata are loaded (S3 calls then fail with "Server not initialized");
	// cluster answers 200 only once they are.
	deadline := time.Now().Add(minioStartMax)
	base := "http://" + s.addr + "/minio/health/"
	for {
		if minioProbe(base+"live") && minioProbe(base+"cluster") {
			return nil
		}
		select {
		case <-s.exited:
			s.proc = nil
			return fmt.Errorf("MinIO on %s exited during startup: %s", s.addr, s.log.tail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("MinIO on %s not live after %v: %s", s.addr, minioStartMax, s.log.tail())
		}
	}
}

// kill ends the server's process group and waits for it. Caller holds minioMu.
func (s *minioServer) kill() {
	if s.proc == nil {
		return
	}
	syscall.Kill(-s.proc.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.proc = nil
}

var minioHTTP = &http.Client{Timeout: time.Second}

func minioProbe(url string) bool {
	resp, err := minioHTTP.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
