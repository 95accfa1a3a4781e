// Package lineartest checks that a scanner's cost grows linearly with its input,
// for the tests of every package that reads attacker-controlled text. It is for
// tests only.
package lineartest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Sizes returns the two input sizes compared, four times apart: 256 KB and 1 MB,
// smaller under -short and much smaller under the race detector, which slows
// regular expressions down about ten times.
func Sizes() (small, big int) {
	switch {
	case RaceEnabled:
		return 16 << 10, 64 << 10
	case testing.Short():
		return 64 << 10, 256 << 10
	}
	return 256 << 10, 1 << 20
}

// Repeat returns s repeated to exactly n bytes.
func Repeat(s string, n int) string { return strings.Repeat(s, n/len(s)+1)[:n] }

// measure returns the wall-clock and CPU time of f.
func measure(f func()) (wall, cpu time.Duration) {
	c0, t0 := CPUTime(), time.Now()
	f()
	return time.Since(t0), CPUTime() - c0
}

// Check times scan on small and big (four times longer) and fails on
// catastrophic cost (over 5 s for big) or super-linear cost (more than 12 times
// for 4 times the input), measuring twice before failing. The machine may be
// shared, so the bounds are generous and both are judged on CPU time where the
// platform reports it; wall and CPU times are logged.
func Check(t testing.TB, scan func(string), small, big string) {
	t.Helper()
	const floor = 5 * time.Millisecond // below this, timer noise dominates
	var msg string
	for range 2 {
		ws, cs := measure(func() { scan(small) })
		wb, cb := measure(func() { scan(big) })
		ts, tb := cs, cb
		if ts <= 0 || tb <= 0 { // no CPU clock: use wall time
			ts, tb = ws, wb
		}
		ratio := float64(tb) / float64(max(ts, floor))
		t.Logf("%d KB: %v (cpu %v); %d KB: %v (cpu %v); ratio %.1f",
			len(small)>>10, ws.Round(time.Millisecond), cs.Round(time.Millisecond),
			len(big)>>10, wb.Round(time.Millisecond), cb.Round(time.Millisecond), ratio)
		switch {
		case tb > 5*time.Second:
			msg = fmt.Sprintf("%d KB took %v: catastrophic slowness", len(big)>>10, tb)
		case ratio > 12:
			msg = fmt.Sprintf("cost grew %.1f times for 4 times the input: super-linear", ratio)
		default:
			return
		}
	}
	t.Error(msg)
}

// ReportCPU adds a cpu-ns/op metric to b, given CPUTime() at the start: on a
// shared, loaded machine wall time per op includes time spent waiting for a
// core; CPU time does not.
func ReportCPU(b *testing.B, start time.Duration) {
	if d := CPUTime() - start; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
