package sandbox

import (
	"errors"
	"log/slog"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// LangProcess is the language of code the [Process] backend runs: Args[0] is
// the absolute path of a program on the host, Args[1:] its arguments.
const LangProcess = "process"

// ErrNoLandlock is returned when the kernel cannot confine a child with
// Landlock. The process backend never runs a program unconfined instead.
var ErrNoLandlock = errors.New("sandbox: landlock unavailable")

// Defaults applied by [NewProcess] to zero fields of [ProcessConfig].
const (
	DefaultProcessMemory = 1 << 30
	DefaultMaxOpenFiles  = 64
	DefaultMaxFileSize   = 16 << 20
	// DefaultMinLandlockABI is the lowest Landlock ABI accepted: 4 is the first
	// that can deny TCP bind and connect.
	DefaultMinLandlockABI = 4
)

// DefaultReadOnly are the host paths a confined program may read and execute
// by default: the system's programs and libraries, and nothing of /etc, /home,
// /root, /proc or /tmp.
func DefaultReadOnly() []string {
	return []string{"/usr", "/lib", "/lib64", "/bin", "/sbin", "/dev/null", "/dev/zero", "/dev/urandom"}
}

// ProcessConfig configures a [Process] backend. The zero value is strict: the
// program may read only [DefaultReadOnly] paths, write nowhere, use no network
// (a new, empty network namespace and Landlock TCP rules), and sees an empty
// environment.
type ProcessConfig struct {
	// Timeout bounds every run's wall-clock time (default [DefaultTimeout]); the
	// CPU-time rlimit is set to the same number of seconds.
	Timeout time.Duration
	// MemoryLimit is the address-space rlimit in bytes (default
	// [DefaultProcessMemory]). Runtimes that reserve address space up front
	// (Go, Java, Node) need more than they use.
	MemoryLimit int64
	// MaxOutput bounds stdout and stderr, each (default [DefaultMaxOutput]).
	MaxOutput int
	// MaxOpenFiles is the file-descriptor rlimit (default [DefaultMaxOpenFiles]).
	MaxOpenFiles int
	// MaxFileSize is the largest file the program may write (default
	// [DefaultMaxFileSize]).
	MaxFileSize int64
	// ReadOnly replaces [DefaultReadOnly] when set.
	ReadOnly []string
	// ReadWrite are host paths the program may also write. None by default.
	ReadWrite []string
	// Scratch gives every run a fresh writable working directory, removed after.
	Scratch bool
	// MinLandlockABI is the lowest kernel Landlock ABI accepted (default
	// [DefaultMinLandlockABI]). On an older kernel [NewProcess] fails.
	MinLandlockABI int
	// InsecureHostNetwork skips the new network namespace; only Landlock's TCP
	// rules then stand between the program and the network (UDP, and TCP over
	// MPTCP, are not covered by them).
	InsecureHostNetwork bool
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Process runs host programs in a re-executed, confined child process: Landlock
// file and network rules, no_new_privs, resource limits, an empty environment,
// a new network namespace and its own process group, killed as a whole when
// the run ends. The binary must call [Main] at start-up.
type Process struct {
	cfg ProcessConfig
	abi int
	exe string
}

var _ guard.Sandbox = (*Process)(nil)

// NewProcess returns a process backend. It fails with [ErrNoLandlock] when the
// kernel cannot enforce Landlock at cfg.MinLandlockABI.
func NewProcess(cfg ProcessConfig) (*Process, error) {
	if cfg.Timeout < 0 || cfg.MemoryLimit < 0 || cfg.MaxOutput < 0 || cfg.MaxOpenFiles < 0 || cfg.MaxFileSize < 0 {
		return nil, errors.New("sandbox: negative limit in process config")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MemoryLimit == 0 {
		cfg.MemoryLimit = DefaultProcessMemory
	}
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if cfg.MaxOpenFiles == 0 {
		cfg.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if cfg.MaxFileSize == 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.ReadOnly == nil {
		cfg.ReadOnly = DefaultReadOnly()
	}
	if cfg.MinLandlockABI == 0 {
		cfg.MinLandlockABI = DefaultMinLandlockABI
	}
	return newProcess(cfg)
}
