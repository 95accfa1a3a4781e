//go:build !linux

package sandbox

import (
	"context"
	"fmt"

	"github.com/agentguard/agentguard/guard"
)

// Main does nothing on this platform.
func Main() {}

// LandlockABI is 0: Landlock is Linux-only.
func LandlockABI() int { return 0 }

func newProcess(ProcessConfig) (*Process, error) {
	return nil, fmt.Errorf("%w: Landlock is Linux-only", ErrNoLandlock)
}

// Exec always fails on this platform.
func (p *Process) Exec(context.Context, guard.Code) (*guard.Execution, error) {
	return nil, ErrNoLandlock
}
