//go:build unix

package placement

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used (all threads, GC included): on a
// shared machine it says what a placement costs better than the wall clock does.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
