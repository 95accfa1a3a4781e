//go:build linux

package scope

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports the benchmark loop's on-CPU time per op ("cpu-ns/op") beside
// the wall-clock ns/op, so figures stay meaningful on a shared, loaded machine.
// It locks the goroutine to its thread and reads the thread's rusage.
func cpuTimer(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		d := threadCPU() - start
		runtime.UnlockOSThread()
		if b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
