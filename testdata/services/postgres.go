package services

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create databases
)

const (
	pgStartMax = 60 * time.Second // initdb plus start take 1–3 s; a loaded CI box may take longer
	pgStopMax  = 10 * time.Second
)

// The one PostgreSQL cluster of this test binary.
var (
	pgOnce   sync.Once
	pgErr    error
	pgMu     sync.Mutex // guards pgSrv against StopPostgres
	pgSrv    *pgServer
	pgSeq    atomic.Int64
	pgNameRe = regexp.MustCompile(`[^a-z0-9]+`)
)

type pgServer struct {
	dir      string // temporary: data/, the unix socket, postgres.log
	bin      string // where initdb and postgres are
	data     string // the cluster's folder, under dir
	cred     *syscall.Credential
	port     int
	admin    *sql.DB // to the "postgres" database, for CREATE/DROP DATABASE
	proc     *os.Process
	exited   chan struct{} // closed when the postmaster has exited (and been reaped)
	watchdog *exec.Cmd
	lifeline *os.File // the watchdog's stdin: when it closes, the watchdog cleans up

	spare       chan string // a database made ahead (capacity 1)
	makingSpare atomic.Bool
}

// Postgres returns the DSN (postgres://…) of a new, empty database on a real
// PostgreSQL server. The server, a throwaway cluster on 127.0.0.1 with fsync off,
// is started on the first call and shared by every test of the binary; every call
// gets its own database, dropped when the test ends. TestMain should call StopAll.
// The binaries come from the Debian postgresql package that `make setup` installs
// (or CITYEYE_PG_BINDIR).
func Postgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgSrv, pgErr = pgStart() })
	if pgErr != nil {
		t.Fatalf("PostgreSQL test server: %v", pgErr)
	}
	pgMu.Lock()
	s := pgSrv
	pgMu.Unlock()
	if s == nil {
		t.Fatalf("PostgreSQL test server: already stopped (StopAll ran)")
	}
	name := pgNameRe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	name = fmt.Sprintf("t%d_%s", pgSeq.Add(1), name)
	if len(name) > 63 { // PostgreSQL's identifier limit
		name = name[:63]
	}
	if err := s.createDatabase(name); err != nil {
		t.Fatalf("PostgreSQL test server: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pgStopMax)
		defer cancel()
		pgMu.Lock()
		s := pgSrv // the server as it is now: PostgresOutage may have restarted it
		pgMu.Unlock()
		if s == nil {
			return
		}
		// FORCE: end sessions the test left open (PostgreSQL 13+).
		if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil && !pgStopped() {
			t.Logf("PostgreSQL test server: drop database %s: %v", name, err)
		}
	})
	return s.dsn(name)
}

// createDatabase creates an empty database. CREATE DATABASE copies template1 and
// takes about 0.3 s, so one is made ahead, in the background, while the test that
// took the previous one runs; taking it is a rename.
func (s *pgServer) createDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgStartMax)
	defer cancel()
	var err error
	select {
	case spare := <-s.spare:
		_, err = s.admin.ExecContext(ctx, `ALTER DATABASE "`+spare+`" RENAME TO "`+name+`"`)
	default:
		_, err = s.admin.ExecContext(ctx, pgCreate(name))
	}
	if err == nil {
		go s.makeSpare()
	}
	return err
}

// makeSpare creates the database the next call takes, unless one is ready or
// being made.
func (s *pgServer) makeSpare() {
	if !s.makingSpare.CompareAndSwap(false, true) {
		return
	}
	defer s.makingSpare.Store(false)
	if len(s.spare) > 0 {
		return
	}
	name := fmt.Sprintf("spare%d", pgSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), pgStartMax)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, pgCreate(name)); err == nil {
		s.spare <- name
	}
}

// pgCreate copies template1's files (FILE_COPY) rather than logging every page
// of it in the WAL (PostgreSQL 15's default), which would fill the folder with
// 8 MB of WAL per database.
func pgCreate(name string) string {
	return `CREATE DATABASE "` + name + `" STRATEGY FILE_COPY`
}

func (s *pgServer) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

func pgStopped() bool {
	pgMu.Lock()
	defer pgMu.Unlock()
	return pgSrv == nil
}

// StopPostgres stops the shared server and removes its files; safe to call when no
// test started one. (If the test binary dies instead, a watchdog process does it.)
func StopPostgres() {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgSrv == nil {
		return
	}
	pgSrv.stop()
	pgSrv = nil
}

// PostgresOutage stops the shared server (a fast shutdown: sessions are ended, as
// when an administrator stops it) so a test can watch clients fail, and returns a
// function that starts it again on the same port and data, and waits until it
// accepts connections: every database and DSN handed out before works again. The
// restart also runs at cleanup if the test did not call it. Every test sharing the
// server sees the outage, so the caller must not run in parallel with them.
func PostgresOutage(t testing.TB) (restart func()) {
	t.Helper()
	pgMu.Lock()
	s := pgSrv
	if s == nil {
		pgMu.Unlock()
		t.Fatalf("PostgreSQL outage: no running test server")
	}
	s.shutdown()
	pgMu.Unlock()
	var once sync.Once
	restart = func() {
		once.Do(func() {
			pgMu.Lock()
			defer pgMu.Unlock()
			ns, err := pgRun(s.bin, s.dir, s.data, s.cred, s.port)
			if err != nil {
				t.Fatalf("PostgreSQL restart after outage: %v", err)
			}
			pgSrv = ns
		})
	}
	t.Cleanup(restart)
	return restart
}

func pgStart() (*pgServer, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL must run as the postgres user: %v; run `make setup` (the postgresql package creates it)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp(pgTempBase(cred != nil), "cityeye-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, pgTail(string(out)))
	}
	// A free port can be taken by someone else between probing and binding it; a
	// fresh one usually works.
	for attempt := 1; ; attempt++ {
		s, err := pgRun(bin, dir, data, cred, 0)
		if err == nil {
			return s, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "could not bind") {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// pgRun starts the postmaster on port (0: a free one), its watchdog, and waits
// until it accepts connections.
func pgRun(bin, dir, data string, cred *syscall.Credential, port int) (*pgServer, error) {
	var err error
	if port == 0 {
		if port, err = pgFreePort(); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port), "-c", "unix_socket_directories="+dir,
		// Throwaway data: durability off, for speed.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "wal_level=minimal", "-c", "max_wal_senders=0", "-c", "max_wal_size=128MB", "-c", "min_wal_size=32MB",
		"-c", "autovacuum=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB",
		"-c", "log_min_messages=warning", "-c", "logging_collector=off")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C aimed at `go test` reaches the test binary,
	// whose death then stops the server through the watchdog, in order. Pdeathsig
	// stops it at once if the test binary dies (SIGQUIT: immediate shutdown, the
	// backends with it); the kernel sends it when the forking thread exits, so the
	// fork happens on a thread locked for as long as the server runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGQUIT, Credential: cred}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, after the server
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &pgServer{dir: dir, bin: bin, data: data, cred: cred, port: port, proc: cmd.Process, exited: exited, spare: make(chan string, 1)}
	if err := s.startWatchdog(); err != nil {
		s.shutdown()
		return nil, err
	}
	s.admin, err = sql.Open("pgx", s.dsn("postgres"))
	if err == nil {
		err = s.waitReady(logPath)
	}
	if err != nil {
		s.shutdown() // the caller may retry in the same folder
		return nil, err
	}
	return s, nil
}

// startWatchdog starts a shell, in its own process group, that waits for its stdin
// to close: that happens when StopPostgres runs or when the test binary dies in any
// way (go test -timeout, a crash, SIGKILL), since only this process holds the
// pipe's other end. It then stops the server and removes its files.
func (s *pgServer) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// The server, orphaned, may stay a zombie (no init reaps it in some containers):
	// alive reads its state rather than asking kill -0, which a zombie answers.
	const script = `while read -r _; do :; done
kill -INT "$1" 2>/dev/null
alive() { [ -r "/proc/$1/stat" ] && read -r _ _ st _ < "/proc/$1/stat" && [ "$st" != Z ]; } 2>/dev/null
i=0
while alive "$1" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -"$1" 2>/dev/null
rm -rf "$2"`
	wd := exec.Command("/bin/sh", "-c", script, "cityeye-pg-watchdog", strconv.Itoa(s.proc.Pid), s.dir)
	wd.Stdin = r
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := wd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start watchdog: %w", err)
	}
	s.watchdog, s.lifeline = wd, w
	return nil
}

func (s *pgServer) waitReady(logPath string) error {
	deadline := time.Now().Add(pgStartMax)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		log, _ := os.ReadFile(logPath)
		select {
		case <-s.exited:
			return fmt.Errorf("postgres on port %d exited during startup: %s", s.port, pgTail(string(log)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on port %d not ready after %v (%v): %s", s.port, pgStartMax, err, pgTail(string(log)))
		}
	}
}

// stop ends the server and removes its files.
func (s *pgServer) stop() {
	s.shutdown()
	os.RemoveAll(s.dir)
}

// shutdown ends the server and dismisses the watchdog.
func (s *pgServer) shutdown() {
	if s.admin != nil {
		s.admin.Close()
	}
	s.stopServer()
	if s.watchdog != nil {
		// The server is gone and reaped: kill the watchdog rather than let it signal a
		// PID that may be reused by now.
		s.watchdog.Process.Kill()
		s.lifeline.Close()
		s.watchdog.Wait()
	}
}

// stopServer asks for a fast shutdown (clients disconnected, no waiting for them),
// then kills the process group if that takes too long.
func (s *pgServer) stopServer() {
	s.proc.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return
	case <-time.After(pgStopMax):
	}
	syscall.Kill(-s.proc.Pid, syscall.SIGKILL)
	<-s.exited
}

// pgBinDir finds initdb and postgres: CITYEYE_PG_BINDIR, the newest Debian
// /usr/lib/postgresql/N/bin, or PATH.
func pgBinDir() (string, error) {
	ok := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("CITYEYE_PG_BINDIR"); dir != "" {
		if !ok(dir) {
			return "", fmt.Errorf("CITYEYE_PG_BINDIR=%s has no initdb and postgres; unset it to use the server `make setup` installs", dir)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest major version first
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if ok(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && ok(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or PATH; run `make setup` to install the postgresql package")
}

// pgTempBase is where the cluster's temporary folder goes: the usual temporary
// folder, or /tmp when the postgres user (we run as root) could not reach it.
func pgTempBase(asOther bool) string {
	base := os.TempDir()
	if !asOther {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// pgFreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func pgFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free local port for PostgreSQL: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func pgTail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	if s == "" {
		s = "(no output)"
	}
	return s
}
