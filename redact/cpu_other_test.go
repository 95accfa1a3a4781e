//go:build !unix

package redact_test

import "time"

// processCPU is not available here: the tests fall back to wall time.
func processCPU() time.Duration { return 0 }
