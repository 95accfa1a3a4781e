//go:build unix

package secrets

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used. The
// benchmarks report throughput per CPU-second beside the wall-clock MB/s, which
// on a shared machine mostly measures the other processes.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
