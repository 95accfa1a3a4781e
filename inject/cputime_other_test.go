//go:build !unix

package inject

import "time"

func processCPU() time.Duration { return 0 }
