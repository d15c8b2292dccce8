// Package services starts real servers on loopback for tests: PostgreSQL
// (Postgres), MinIO (MinIO) and Redis (Redis), each once per test binary, on a free
// port of 127.0.0.1, with its data in a temporary folder. Their binaries are
// installed by `make setup`; a test that needs one fails, naming `make setup`, when
// it is missing: tests run against the real servers, never skip them.
//
// A test binary that uses any of them calls StopAll from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		services.StopAll()
//		os.Exit(code)
//	}
//
// If the binary dies without doing so (go test -timeout, a crash, a kill), the
// servers still stop: they run in their own process groups and are signalled when
// it dies (PostgreSQL's folder is removed too, by a watchdog process).
package services

import (
	"os"
	"testing"
)

// StopAll stops every server this test binary started and removes their data; safe
// to call when none was started.
func StopAll() {
	StopPostgres()
	StopMinIO()
	StopRedis()
}

// Main is a test package's TestMain that stops the servers its tests started:
// it runs the tests, stops every service, runs cleanups, and exits with the tests'
// code.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	StopAll()
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}
