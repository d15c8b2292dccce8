// Package testkit holds the small helpers tests across CityEye share: waiting for
// a condition, a free loopback address, the process's CPU time. It imports nothing
// of the project, so any test may use it.
package testkit

import (
	"net"
	"testing"
	"time"
)

// WaitFor polls cond every few milliseconds until it holds, failing the test after
// timeout with what it was waiting for.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// FreeAddr returns a loopback host:port that was free a moment ago ("" if none).
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}
