//go:build !unix

package lineartest

import "time"

// CPUTime returns 0 where the platform reports no process CPU time; callers
// fall back to wall time.
func CPUTime() time.Duration { return 0 }
