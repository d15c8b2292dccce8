package testdata

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Tool returns the path of the first of names on PATH: a program tests drive
// (ffmpeg, Chromium). `make setup` installs them, and `make test` sets
// CITYEYE_REQUIRE_TOOLS=1 so that a missing one fails the test instead of skipping
// it unseen; a bare `go test` skips, saying how to install it.
func Tool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := strings.Join(names, " or ") + " is not installed (make setup installs it: apt-get install " + names[0] + ")"
	if os.Getenv("CITYEYE_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
