//go:build unix

package source

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used, all threads (FFmpeg's
// decoder threads included): on a shared machine it says what decoding
// costs better than the wall clock does.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
