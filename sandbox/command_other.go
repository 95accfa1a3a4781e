//go:build !linux

package sandbox

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
)

func commandPlatform() error {
	return fmt.Errorf("%w: cannot confine a command on %s (Landlock is Linux-only)", ErrNoLandlock, runtime.GOOS)
}

func (p *Process) command(context.Context, []string, CommandOptions) (*exec.Cmd, error) {
	return nil, commandPlatform()
}

func killGroup(cmd *exec.Cmd) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
