package testdata

import (
	"runtime"
	"testing"
)

// recorder notes how Tool ended a test instead of ending this one.
type recorder struct {
	testing.TB
	fatal, skip bool
}

func (r *recorder) Helper()      {}
func (r *recorder) Fatal(...any) { r.fatal = true; runtime.Goexit() }
func (r *recorder) Skip(...any)  { r.skip = true; runtime.Goexit() }

func toolEnds(t *testing.T, require string) *recorder {
	t.Setenv("CITYEYE_REQUIRE_TOOLS", require)
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); Tool(r, "no-such-program-cityeye") }()
	<-done
	return r
}

// Under make test a missing program fails the test; a bare go test skips it.
func TestToolMissing(t *testing.T) {
	if r := toolEnds(t, "1"); !r.fatal || r.skip {
		t.Errorf("required and missing: fatal=%v skip=%v, want a failure", r.fatal, r.skip)
	}
	if r := toolEnds(t, ""); r.fatal || !r.skip {
		t.Errorf("not required and missing: fatal=%v skip=%v, want a skip", r.fatal, r.skip)
	}
	if p := Tool(t, "no-such-program-cityeye", "sh"); p == "" {
		t.Error("the second name on PATH is not found")
	}
}
