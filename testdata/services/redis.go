package services

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cityeye/cityeye/testdata/testkit"
)

const redisStartMax = 10 * time.Second // Redis is up in a few ms; a loaded CI box may take longer

// redisServer is the one server of this test binary. redisMu guards proc, which is
// nil while the server is stopped for an outage test or after StopRedis.
var (
	redisOnce sync.Once
	redisErr  error
	redisMu   sync.Mutex
	redisSrv  *redisServer
)

type redisServer struct {
	bin, dir, addr string
	proc           *exec.Cmd
	log            *serverLog
	exited         chan struct{}
}

// Redis returns the address (127.0.0.1:port) of a real Redis server, started on
// first use and shared by every test in the binary: no persistence (--save "",
// --appendonly no), data in a temporary folder. Tests isolate themselves with
// their own keys (for asynq, their own queue name). TestMain should call StopRedis.
// The binary is redis-server from PATH or /usr/bin, which `make setup` installs.
func Redis(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() { redisSrv, redisErr = redisStart() })
	if redisErr != nil {
		t.Fatalf("Redis test server: %v", redisErr)
	}
	return redisSrv.addr
}

// StopRedis ends the shared server and removes its data; safe to call when no test
// started one.
func StopRedis() {
	redisMu.Lock()
	defer redisMu.Unlock()
	if redisSrv == nil {
		return
	}
	redisSrv.kill()
	os.RemoveAll(redisSrv.dir)
}

// RedisOutage stops the shared server at addr so a test can watch clients fail,
// and returns a function that starts it again on the same address and waits until
// it answers. The data survives, as it would on a production Redis that persists:
// it is snapshotted (SAVE) before the server is killed (SIGKILL: connections drop
// as in a crash) and loaded again at restart. The restart also runs at cleanup if
// the test did not call it, so later tests find the server up. Every test sharing
// the server sees the outage, so the caller must not run in parallel with them.
func RedisOutage(t testing.TB, addr string) (restart func()) {
	t.Helper()
	redisMu.Lock()
	s := redisSrv
	if s == nil || s.addr != addr || s.proc == nil {
		redisMu.Unlock()
		t.Fatalf("Redis outage: no running test server at %s", addr)
	}
	if reply, err := redisCommand(addr, "SAVE"); err != nil || reply != "+OK" {
		redisMu.Unlock()
		t.Fatalf("Redis outage: SAVE before stopping %s: %q, %v", addr, reply, err)
	}
	s.kill()
	redisMu.Unlock()
	var once sync.Once
	restart = func() {
		once.Do(func() {
			redisMu.Lock()
			defer redisMu.Unlock()
			if err := s.start(); err != nil {
				t.Fatalf("Redis restart after outage: %v", err)
			}
		})
	}
	t.Cleanup(restart)
	return restart
}

func redisStart() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin = "/usr/bin/redis-server" // PATH may lack /usr/bin in odd environments
		if _, serr := os.Stat(bin); serr != nil {
			return nil, fmt.Errorf("redis-server not found in PATH or /usr/bin (%v); run `make setup` to install the redis-server package", err)
		}
	}
	dir, err := os.MkdirTemp("", "cityeye-redis-")
	if err != nil {
		return nil, err
	}
	redisMu.Lock()
	defer redisMu.Unlock()
	// A free port can be taken by someone else between probing and Redis binding
	// it; a fresh one usually works.
	for attempt := 0; ; attempt++ {
		s := &redisServer{bin: bin, dir: dir, addr: testkit.FreeAddr()}
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

// start runs the server on s.addr and waits until it answers PING. Caller holds redisMu.
func (s *redisServer) start() error {
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil || s.addr == "" {
		return fmt.Errorf("no free local port for Redis")
	}
	cmd := exec.Command(s.bin, "--port", port, "--bind", host, "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--logfile", "")
	s.log = &serverLog{}
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	// Die with the test binary even if it is killed (go test -timeout, Ctrl-C), so
	// no orphan server keeps the port.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.proc = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(s.exited)

	deadline := time.Now().Add(redisStartMax)
	for {
		if reply, err := redisCommand(s.addr, "PING"); err == nil && reply == "+PONG" {
			return nil
		}
		select {
		case <-s.exited:
			s.proc = nil
			return fmt.Errorf("Redis on %s exited during startup: %s", s.addr, s.log.tail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("Redis on %s not answering after %v: %s", s.addr, redisStartMax, s.log.tail())
		}
	}
}

// kill ends the server's process group and waits for it. Caller holds redisMu.
func (s *redisServer) kill() {
	if s.proc == nil {
		return
	}
	syscall.Kill(-s.proc.Process.Pid, syscall.SIGKILL)
	<-s.exited
	s.proc = nil
}

// redisCommand sends one command in RESP and returns the first line of the reply
// (e.g. "+PONG", "-LOADING …"), enough for probes without a client library.
func redisCommand(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // SAVE of a large dataset takes a while
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}
