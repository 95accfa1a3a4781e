//go:build linux

package sandbox

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports the process CPU time (user+system) per benchmark op as
// "cpu-ms/op": on a loaded shared machine it is steadier than wall time.
type cpuMeter struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{start: cpuNow()} }

func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64((cpuNow()-m.start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
