//go:build linux

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func commandPlatform() error { return nil }

// command builds the confined child for [Process.Command].
//
// How the spec reaches the child: [Process.Exec] writes it to a pipe on fd 3
// after Start and reads setup errors from fd 4 before Wait, but here the
// caller starts and waits, so there is no moment to write and nothing would
// close the parent's ends of extra pipes. The spec therefore travels in one
// environment variable of the re-executed child (specEnv), which [Main] reads
// and never passes on: the program is started by execve with exactly
// opts.Env. That needs no descriptor, cannot block, and the variable is
// readable only by the same user (/proc/PID/environ) while the supervisor
// runs: no longer than the program's own environment, opts.Env, is readable
// the same way. Setup failures go to the child's stderr with exit
// status [ExitSetupFailed], where any caller that keeps stderr sees them.
func (p *Process) command(ctx context.Context, argv []string, opts CommandOptions) (*exec.Cmd, error) {
	rlimits := map[int]uint64{
		syscall.RLIMIT_AS:     uint64(p.cfg.MemoryLimit),
		syscall.RLIMIT_NOFILE: uint64(p.cfg.MaxOpenFiles),
		syscall.RLIMIT_FSIZE:  uint64(p.cfg.MaxFileSize),
		syscall.RLIMIT_CORE:   0,
	}
	if opts.CPUTime > 0 {
		rlimits[syscall.RLIMIT_CPU] = uint64((opts.CPUTime + time.Second - 1) / time.Second)
	}
	ro := append([]string{argv[0]}, p.cfg.ReadOnly...)
	ro = append(ro, opts.ReadOnly...)
	// /dev/null is writable: servers discard output there (a child's stdio
	// set to nil in Go, "> /dev/null" in a shell), and writing it reveals
	// nothing.
	rw := append(append([]string{"/dev/null"}, p.cfg.ReadWrite...), opts.ReadWrite...)
	spec := childSpec{Path: argv[0], Args: argv, Dir: opts.Dir, RO: ro, RW: rw, ABI: p.abi,
		Rlimits: rlimits, Env: opts.Env, NetConnect: opts.InsecureNetwork, Parent: os.Getpid()}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: command spec: %w", err)
	}
	if len(data) > maxCommandSpec {
		return nil, fmt.Errorf("sandbox: command spec is %d bytes, more than %d (too many or too long arguments, mounts or variables)", len(data), maxCommandSpec)
	}
	cmd := exec.CommandContext(ctx, p.exe)
	cmd.Args = []string{"agentguard-sandbox"}
	cmd.Env = []string{childEnv + "=" + childCommand, specEnv + "=" + string(data)}
	cmd.Dir = "/"
	cmd.SysProcAttr = childSysProcAttr(p.cfg.InsecureHostNetwork || opts.InsecureNetwork)
	// When ctx is done the supervisor kills the program and everything it
	// started, including what left the process group; WaitDelay bounds it.
	cmd.Cancel = func() error { return stopSupervisor(cmd.Process) }
	cmd.WaitDelay = time.Second
	return cmd, nil
}

func killGroup(cmd *exec.Cmd) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
