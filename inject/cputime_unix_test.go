//go:build unix

package inject

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user+system) the process has used. Benchmarks
// report it per operation beside wall time: on a shared machine wall time
// includes waiting for a core, CPU time does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
