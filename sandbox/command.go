package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ExitSetupFailed is the exit status of a [Process.Command] child that could
// not confine itself or start its program; the reason is on its stderr,
// prefixed "agentguard sandbox: confined child setup failed:".
const ExitSetupFailed = 126

// maxCommandSpec bounds the encoded confinement spec of one command. It travels
// in one environment variable, which Linux caps at 128 KiB (MAX_ARG_STRLEN).
const maxCommandSpec = 64 << 10

// CommandOptions configures one long-running confined child started with
// [Process.Command], on top of the backend's [ProcessConfig]. The zero value
// adds nothing: the program reads only the backend's ReadOnly paths and its own
// executable, writes only the backend's ReadWrite paths and /dev/null, gets an
// empty environment, no network and no CPU-time limit.
type CommandOptions struct {
	// ReadOnly are further host paths (files or directories) the program may
	// read and execute: its own directory, node_modules, a Python venv ….
	// Each must exist.
	ReadOnly []string
	// ReadWrite are further host paths it may also write. Each must exist.
	ReadWrite []string
	// Env is the program's whole environment, as "NAME=value" entries.
	// Nothing is inherited.
	Env []string
	// Dir is the working directory (absolute; default "/"). Changing into it
	// does not make it readable: mount it too if the program reads relative
	// paths.
	Dir string
	// CPUTime, when positive, sets the CPU-time rlimit (rounded up to whole
	// seconds). A long-running server normally has none.
	CPUTime time.Duration
	// InsecureNetwork gives the program the host's network namespace and lets
	// it open outgoing TCP connections to any address and port, and use UDP.
	// Binding a TCP port (to listen) stays denied by Landlock. Not covered by
	// Landlock at all, and so open once the host namespace is: Multipath TCP
	// sockets (which can listen too), and UDP binds before Landlock ABI 10.
	// ProcessConfig.InsecureHostNetwork alone gives the host namespace with
	// every TCP connect still denied.
	InsecureNetwork bool
}

// Command returns an unstarted [exec.Cmd] that runs argv (argv[0] an absolute
// path) as a long-running confined child: the same confinement as
// [Process.Exec] (Landlock file and TCP rules, no_new_privs, the memory,
// open-file, file-size and core rlimits, an empty environment unless
// opts.Env, a new network namespace unless networking is allowed, its own
// process group). The child is the current executable re-executed, so the
// binary must call [Main] at start-up. A long-running server usually needs a
// larger ProcessConfig.MemoryLimit than [DefaultProcessMemory]: the limit is
// on address space, and threads' stacks and malloc arenas, JIT and garbage
// collector reservations count in full (4 GiB suits Go, Node and Python
// servers).
//
// The caller sets or pipes Stdin, Stdout and Stderr and starts the command, so
// it plugs into the MCP go-sdk's CommandTransport. Cancelling ctx while the
// command runs kills its whole process group; the death of the parent thread
// kills the child (Pdeathsig). Whoever only kills the child (the go-sdk's
// CommandTransport does) should call [KillGroup] after Wait, so that nothing
// the program started outlives it. The backend's Timeout, MaxOutput and
// Scratch settings do not apply: the caller owns the streams and the lifetime.
//
// Command checks up front what it can (an absolute, existing program; every
// mount path exists; well-formed environment entries) and returns those
// errors itself. A failure inside the child (Landlock refusing the rules, the
// program failing to execute) makes it exit with [ExitSetupFailed] and the
// reason on its stderr, before the program runs.
//
// On platforms without Landlock it fails with an error wrapping
// [ErrNoLandlock]; it never runs a program unconfined.
func (p *Process) Command(ctx context.Context, argv []string, opts CommandOptions) (*exec.Cmd, error) {
	if ctx == nil {
		return nil, errors.New("sandbox: nil context")
	}
	if err := commandPlatform(); err != nil {
		return nil, err
	}
	if p == nil || p.exe == "" {
		return nil, fmt.Errorf("%w: process backend not created with NewProcess", ErrNoLandlock)
	}
	if err := checkCommand(argv, &opts); err != nil {
		return nil, err
	}
	return p.command(ctx, argv, opts)
}

// checkCommand validates argv and opts and fills in opts.Dir.
func checkCommand(argv []string, opts *CommandOptions) error {
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		return errors.New("sandbox: command needs an absolute program path in argv[0]")
	}
	for _, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return errors.New("sandbox: command argument contains a NUL byte")
		}
	}
	fi, err := os.Stat(argv[0])
	if err != nil {
		return fmt.Errorf("sandbox: command program: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("sandbox: command program %s is a directory", argv[0])
	}
	for _, group := range []struct {
		kind  string
		paths []string
	}{{"read-only", opts.ReadOnly}, {"read-write", opts.ReadWrite}} {
		for _, m := range group.paths {
			if !filepath.IsAbs(m) || strings.IndexByte(m, 0) >= 0 {
				return fmt.Errorf("sandbox: %s mount %q: not an absolute path", group.kind, m)
			}
			if _, err := os.Stat(m); err != nil {
				return fmt.Errorf("sandbox: %s mount: %w", group.kind, err)
			}
		}
	}
	for _, kv := range opts.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.IndexByte(kv, 0) >= 0 {
			return fmt.Errorf("sandbox: environment entry %q: want NAME=value", redactEnv(kv))
		}
	}
	if opts.Dir == "" {
		opts.Dir = "/"
	}
	if !filepath.IsAbs(opts.Dir) {
		return fmt.Errorf("sandbox: working directory %q: not an absolute path", opts.Dir)
	}
	if fi, err := os.Stat(opts.Dir); err != nil {
		return fmt.Errorf("sandbox: working directory: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("sandbox: working directory %s: not a directory", opts.Dir)
	}
	if opts.CPUTime < 0 {
		return errors.New("sandbox: negative CPU time")
	}
	return nil
}

// redactEnv keeps an environment entry's name for an error message and drops
// its value, which may be a secret.
func redactEnv(kv string) string {
	if name, _, ok := strings.Cut(kv, "="); ok {
		return name + "=…"
	}
	if len(kv) > 64 {
		return kv[:64] + "…"
	}
	return kv
}

// KillGroup kills the process group of a started [Process.Command]: whatever
// the program left running in it. It is safe to call after Wait and when the
// group is already gone. A process that left the group (setsid, a double
// fork) is killed by the child's supervisor when the program exits or ctx is
// cancelled; only a supervisor killed with SIGKILL leaves such a process
// running (still confined), so prefer cancelling ctx to killing the child.
func KillGroup(cmd *exec.Cmd) error {
	return killGroup(cmd)
}
