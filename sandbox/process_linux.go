//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsyscall "github.com/landlock-lsm/go-landlock/landlock/syscall"

	"github.com/agentguard/agentguard/guard"
)

// childEnv marks a process started by [Process] to be confined by [Main].
const childEnv = "AGENTGUARD_SANDBOX_CHILD"

// Exit statuses the confining child uses before the target program runs.
const exitChildSetup = 126

// prSetNoNewPrivs is PR_SET_NO_NEW_PRIVS from linux/prctl.h.
const prSetNoNewPrivs = 38

// Values of childEnv: how the child receives its spec and reports setup
// failures.
const (
	// childExec: [Process.Exec]. The spec arrives on fd 3 after Start; setup
	// failures go to fd 4, which the parent reads before Wait.
	childExec = "1"
	// childCommand: [Process.Command]. The spec is in specEnv (see
	// [Process.Command] for why); setup failures go to stderr.
	childCommand = "cmd"
)

// specEnv carries the spec of a [Process.Command] child.
const specEnv = "AGENTGUARD_SANDBOX_SPEC"

// childSpec is what the parent hands the child.
type childSpec struct {
	Path      string
	Args      []string
	Dir       string
	RO, RW    []string
	ABI       int
	Rlimits   map[int]uint64
	NetDenied bool
	// Env is the program's whole environment; empty when nil.
	Env []string
	// NetConnect leaves outgoing TCP (and, from ABI 10, UDP) unhandled by
	// Landlock; binding a TCP port stays denied.
	NetConnect bool
	// Parent is the PID of the process that starts the child: a child whose
	// parent is already gone does not start the program.
	Parent int
}

var landlockConfigs = [...]*landlock.Config{nil, &landlock.V1, &landlock.V2, &landlock.V3, &landlock.V4,
	&landlock.V5, &landlock.V6, &landlock.V7, &landlock.V8, &landlock.V9, &landlock.V10, &landlock.V11}

// LandlockABI returns the Landlock ABI version the running kernel supports
// (0 when it has none).
func LandlockABI() int {
	v, err := llsyscall.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// Main confines the current process and runs the sandboxed program as its
// supervised child when it was started by [Process.Exec] or [Process.Command]
// (it then never returns); otherwise it returns at once.
// Call it first thing in main (or in TestMain) of any binary that uses
// [Process]: the process backend re-executes the current binary to apply
// Landlock, no_new_privs and resource limits before the program starts.
func Main() {
	mode := os.Getenv(childEnv)
	if mode != childExec && mode != childCommand {
		return
	}
	// statusFD receives a setup failure: fd 4 (a pipe the parent reads) for
	// Exec, the caller's stderr for Command.
	statusFD := 4
	prefix := ""
	if mode == childCommand {
		statusFD, prefix = 2, "agentguard sandbox: confined child setup failed: "
	}
	status := os.NewFile(uintptr(statusFD), "status")
	fail := func(format string, args ...any) {
		if status != nil {
			fmt.Fprintf(status, prefix+format, args...)
			if mode == childCommand {
				fmt.Fprintln(status)
			}
		}
		os.Exit(exitChildSetup)
	}
	var spec childSpec
	if mode == childCommand {
		raw := os.Getenv(specEnv)
		os.Unsetenv(specEnv)
		if err := json.Unmarshal([]byte(raw), &spec); err != nil {
			fail("sandbox child: spec: %v", err)
		}
	} else {
		specFile := os.NewFile(3, "spec")
		if specFile == nil || status == nil {
			fail("sandbox child: missing descriptors")
		}
		if err := json.NewDecoder(io.LimitReader(specFile, 1<<20)).Decode(&spec); err != nil {
			fail("sandbox child: spec: %v", err)
		}
		specFile.Close()
		syscall.CloseOnExec(4)
	}
	// The list of children is opened before Landlock applies; the supervisor
	// reads it to find what the program left behind.
	children, err := openChildren()
	if err != nil {
		fail("%v", err)
	}
	if err := confine(spec); err != nil {
		fail("%v", err)
	}
	supervise(spec, mode, children, status, fail)
}

// confine applies no_new_privs and the Landlock rules and changes to the
// working directory. The rlimits apply to the program alone, in [forkExec].
func confine(spec childSpec) error {
	if spec.ABI < 1 || spec.ABI >= len(landlockConfigs) {
		spec.ABI = len(landlockConfigs) - 1
	}
	var rules []landlock.Rule
	for _, p := range spec.RO {
		rules = append(rules, roRule(p))
	}
	for _, p := range spec.RW {
		rules = append(rules, rwRule(p))
	}
	cfg := *landlockConfigs[spec.ABI]
	if spec.NetConnect {
		// Outgoing connections to any port: the connect rights are simply not
		// handled. Binding stays handled and denied, except UDP's implicit
		// autobind to an ephemeral port, which every UDP client needs.
		cfg.HandledAccessNet &^= llsyscall.AccessNetConnectTCP | llsyscall.AccessNetConnectSendUDP
		if cfg.HandledAccessNet&llsyscall.AccessNetBindUDP != 0 {
			rules = append(rules, landlock.BindUDP(0))
		}
	}
	if err := llsyscall.AllThreadsPrctl(prSetNoNewPrivs, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox child: no_new_privs: %w", err)
	}
	// A strict (not best-effort) configuration at the kernel's own ABI: every
	// right the kernel knows is handled, so anything not granted here is denied,
	// including TCP bind/connect (ABI 4+) and signals and abstract sockets
	// outside the sandbox (ABI 6+).
	if err := cfg.Restrict(rules...); err != nil {
		return fmt.Errorf("sandbox child: landlock: %w", err)
	}
	if spec.Dir != "" {
		if err := syscall.Chdir(spec.Dir); err != nil {
			return fmt.Errorf("sandbox child: chdir: %w", err)
		}
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func roRule(p string) landlock.Rule {
	if isDir(p) {
		return landlock.RODirs(p).IgnoreIfMissing()
	}
	return landlock.ROFiles(p).IgnoreIfMissing()
}

func rwRule(p string) landlock.Rule {
	if isDir(p) {
		return landlock.RWDirs(p).IgnoreIfMissing()
	}
	return landlock.RWFiles(p).IgnoreIfMissing()
}

// childSysProcAttr puts the child in its own process group, stops it (and
// with it everything below, see [supervise]) when the parent thread dies, and
// gives it a new network namespace (inside a new user namespace when not
// root) unless hostNet.
//
// No PID namespace: go-landlock applies no_new_privs and Landlock to every
// thread through libpsx, which lists /proc/<getpid()>/task; in a new PID
// namespace getpid() is 1 while /proc is still the host's, so it would signal
// the host init's thread IDs and wait forever. The supervisor, a child
// subreaper, kills what the program leaves behind instead.
func childSysProcAttr(hostNet bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: stopSignal}
	if !hostNet {
		a.Cloneflags = syscall.CLONE_NEWNET
		if os.Geteuid() != 0 {
			a.Cloneflags |= syscall.CLONE_NEWUSER
			a.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
			a.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
		}
	}
	return a
}

func newProcess(cfg ProcessConfig) (*Process, error) {
	abi := LandlockABI()
	if abi < cfg.MinLandlockABI {
		if abi == 0 {
			return nil, fmt.Errorf("%w: the kernel has no Landlock (needs Linux 5.13+ with landlock in the lsm= list); refusing to run programs unconfined", ErrNoLandlock)
		}
		return nil, fmt.Errorf("%w: kernel Landlock ABI %d, need %d", ErrNoLandlock, abi, cfg.MinLandlockABI)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: process backend needs its own executable: %w", err)
	}
	return &Process{cfg: cfg, abi: abi, exe: exe}, nil
}

// Exec runs code.Args[0] (an absolute path) with code.Args[1:] in a confined
// child process. code.Lang must be [LangProcess] (or empty).
func (p *Process) Exec(ctx context.Context, code guard.Code) (*guard.Execution, error) {
	if code.Lang != "" && code.Lang != LangProcess {
		return nil, fmt.Errorf("sandbox: process backend runs %q code, not %q", LangProcess, code.Lang)
	}
	if len(code.Args) == 0 || !filepath.IsAbs(code.Args[0]) {
		return nil, errors.New("sandbox: process backend needs an absolute program path in Args[0]")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()

	spec := childSpec{Path: code.Args[0], Args: code.Args, ABI: p.abi, Parent: os.Getpid(),
		RO: append([]string{code.Args[0]}, p.cfg.ReadOnly...), RW: append([]string(nil), p.cfg.ReadWrite...),
		Rlimits: map[int]uint64{
			syscall.RLIMIT_AS:     uint64(p.cfg.MemoryLimit),
			syscall.RLIMIT_CPU:    uint64((p.cfg.Timeout + time.Second - 1) / time.Second),
			syscall.RLIMIT_NOFILE: uint64(p.cfg.MaxOpenFiles),
			syscall.RLIMIT_FSIZE:  uint64(p.cfg.MaxFileSize),
			syscall.RLIMIT_CORE:   0,
		}}
	if p.cfg.Scratch {
		dir, err := os.MkdirTemp("", "agentguard-proc-")
		if err != nil {
			return nil, fmt.Errorf("sandbox: scratch: %w", err)
		}
		defer os.RemoveAll(dir)
		spec.Dir = dir
		spec.RW = append(spec.RW, dir)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer specR.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specW.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer statusR.Close()

	stdout := &cappedWriter{limit: p.cfg.MaxOutput, stop: cancel}
	stderr := &cappedWriter{limit: p.cfg.MaxOutput, stop: cancel}
	cmd := exec.CommandContext(rctx, p.exe)
	cmd.Args = []string{"agentguard-sandbox"}
	cmd.Env = []string{childEnv + "=" + childExec}
	cmd.Dir = "/"
	cmd.Stdin = bytes.NewReader(code.Stdin)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{specR, statusW}
	cmd.SysProcAttr = childSysProcAttr(p.cfg.InsecureHostNetwork)
	// The supervisor kills the program and all it started when the run ends.
	cmd.Cancel = func() error { return stopSupervisor(cmd.Process) }
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		specW.Close()
		statusW.Close()
		if !p.cfg.InsecureHostNetwork {
			return nil, fmt.Errorf("sandbox: start confined child (network namespace): %w", err)
		}
		return nil, fmt.Errorf("sandbox: start confined child: %w", err)
	}
	statusW.Close()
	json.NewEncoder(specW).Encode(spec)
	specW.Close()
	setupErr, _ := io.ReadAll(io.LimitReader(statusR, 4096))
	waitErr := cmd.Wait()
	// Belt and braces: nothing of the group outlives the run.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if len(setupErr) > 0 {
		if bytes.Contains(setupErr, []byte("landlock")) {
			return nil, fmt.Errorf("%w: %s", ErrNoLandlock, setupErr)
		}
		return nil, fmt.Errorf("sandbox: %s", setupErr)
	}
	ex := &guard.Execution{Duration: time.Since(start)}
	var outHit, errHit bool
	ex.Stdout, outHit = stdout.result()
	ex.Stderr, errHit = stderr.result()
	var xe *exec.ExitError
	var sigXCPU, sigXFSZ bool
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &xe):
		ex.ExitCode = xe.ExitCode()
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ex.ExitCode = 128 + int(ws.Signal())
			sigXCPU = ws.Signal() == syscall.SIGXCPU
			sigXFSZ = ws.Signal() == syscall.SIGXFSZ
		}
	case errors.Is(waitErr, exec.ErrWaitDelay):
	default:
		if rctx.Err() == nil {
			return nil, fmt.Errorf("sandbox: wait: %w", waitErr)
		}
		ex.ExitCode = -1
	}
	limit, err := classify(ctx, rctx, outHit || errHit || sigXFSZ, false, false, ex.ExitCode)
	if err != nil {
		return nil, err
	}
	if limit == guard.LimitNone && sigXCPU {
		limit = guard.LimitTime
	}
	ex.LimitHit = limit
	return ex, nil
}
