package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/agentguard/agentguard/guard"
)

// Languages understood by [Wasm.Exec].
const (
	// LangPython runs Code.Source with the installed CPython for WASI.
	LangPython = "python"
	// LangWasm runs Code.Module, a WASI command module.
	LangWasm = "wasm"
)

// Defaults applied by [New] to zero fields of [Config].
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMemoryLimit   = 128 << 20
	DefaultMaxOutput     = 1 << 20
	DefaultMaxModuleSize = 64 << 20
	DefaultScratchQuota  = 16 << 20
)

// ExitTrap is the exit code reported when a guest traps (unreachable, out of
// bounds access, stack overflow), as a native program killed by SIGABRT would.
const ExitTrap = 134

// ErrNotInstalled is returned when a language's runtime has not been installed.
// Its message names the command that installs it.
var ErrNotInstalled = errors.New("sandbox: runtime not installed")

// ErrClosed is returned by a closed sandbox or session.
var ErrClosed = errors.New("sandbox: closed")

// Mount exposes one host directory to the guest. The directory is opened with
// [os.Root]: the guest cannot leave it through "..", absolute paths or symlinks,
// whether the links were there before or not, and it cannot create links.
type Mount struct {
	// HostDir is the host directory to expose.
	HostDir string
	// GuestPath is the absolute path the guest sees it at, for example "/data".
	GuestPath string
	// Writable lets the guest create, change and remove files in the mount.
	// Writes count against [Config.ScratchQuota]. Prefer [Config.Scratch],
	// which gives every run a fresh, empty directory.
	Writable bool
}

// Interpreter registers a WASI build of an interpreter (for example a QuickJS
// build for JavaScript) under a language name. The program text is passed as
// the last argument: argv is Args followed by Code.Source.
type Interpreter struct {
	// Lang is the language name used in [guard.Code.Lang], for example "javascript".
	Lang string
	// Module is the path of the interpreter's .wasm file.
	Module string
	// Args is argv before the program text, for example {"qjs", "-e"}.
	Args []string
}

// Config configures a [Wasm] sandbox. The zero value is the strictest useful
// setting: no files, no network, no environment, a fixed clock and fixed
// randomness, and the default limits.
type Config struct {
	// Timeout bounds every run's wall-clock time (default [DefaultTimeout]). The
	// caller's context deadline applies too; the earlier one wins.
	Timeout time.Duration
	// MemoryLimit bounds the guest's linear memory in bytes (default
	// [DefaultMemoryLimit]), rounded down to whole 64 KiB pages.
	MemoryLimit int64
	// MaxOutput bounds stdout and stderr, each, in bytes (default
	// [DefaultMaxOutput]). A run that writes more is stopped.
	MaxOutput int
	// MaxModuleSize bounds a module's size in bytes before it is compiled
	// (default [DefaultMaxModuleSize]).
	MaxModuleSize int64
	// Mounts exposes host directories. None by default.
	Mounts []Mount
	// Scratch, when set, is the guest path of a fresh, empty, writable directory
	// created for each run (each session) and removed afterwards.
	Scratch string
	// ScratchQuota bounds the bytes a run may write into the scratch directory
	// and writable mounts (default [DefaultScratchQuota]).
	ScratchQuota int64
	// RealClock gives the guest the host's wall clock, monotonic clock and
	// sleep. By default the guest sees a fixed clock and sleep returns at once,
	// which keeps runs reproducible and removes a timing channel.
	RealClock bool
	// RealRandom gives the guest the host's cryptographic randomness. By default
	// its random source is fixed (deterministic).
	RealRandom bool
	// Dir is where runtimes are installed and the compilation cache lives
	// (default [DefaultDir]).
	Dir string
	// Interpreters adds WASI interpreters for other languages.
	Interpreters []Interpreter
	// PoolSize is the number of prepared Python interpreters kept ready so a
	// one-shot run does not pay start-up (0: none, one-shot runs start their own).
	PoolSize int
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Wasm is the in-process WebAssembly sandbox (wazero, compiler mode). It is
// safe for concurrent use; every run gets its own module instance and memory.
type Wasm struct {
	cfg   Config
	log   *slog.Logger
	rt    wazero.Runtime // interpreters, compiled through the on-disk cache
	cache wazero.CompilationCache
	// userRT compiles the modules callers pass in. It has no on-disk cache, so
	// untrusted modules never accumulate on disk.
	userRT wazero.Runtime
	mounts []openMount

	mu      sync.Mutex
	closed  bool
	langs   map[string]*compiledLang
	modules map[[32]byte]wazero.CompiledModule

	pool *pool
}

type openMount struct {
	root     *os.Root
	guest    string
	writable bool
}

type compiledLang struct {
	once sync.Mutex
	mod  wazero.CompiledModule
	args []string
	path string
}

var _ guard.Sandbox = (*Wasm)(nil)

// maxCachedModules bounds the user modules kept compiled between runs.
const maxCachedModules = 16

// New returns a WebAssembly sandbox. It validates cfg, opens the mounts and
// creates the runtime; interpreters are compiled on first use (from the on-disk
// compilation cache when [InstallPython] has run).
func New(cfg Config) (*Wasm, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	w := &Wasm{cfg: cfg, log: cfg.Logger, langs: map[string]*compiledLang{}, modules: map[[32]byte]wazero.CompiledModule{}}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, m := range cfg.Mounts {
		root, err := os.OpenRoot(m.HostDir)
		if err != nil {
			w.closeMounts()
			return nil, fmt.Errorf("sandbox: mount %s: %w", m.GuestPath, err)
		}
		w.mounts = append(w.mounts, openMount{root: root, guest: m.GuestPath, writable: m.Writable})
	}
	rt, cache, err := newRuntime(context.Background(), cfg.Dir)
	if err != nil {
		w.closeMounts()
		return nil, err
	}
	w.rt, w.cache = rt, cache
	w.userRT = wazero.NewRuntimeWithConfig(context.Background(), runtimeConfig(nil))
	if _, err := wasi_snapshot_preview1.Instantiate(context.Background(), w.userRT); err != nil {
		w.Close()
		return nil, fmt.Errorf("sandbox: wasi: %w", err)
	}
	w.langs[LangPython] = &compiledLang{path: PythonModulePath(cfg.Dir), args: []string{"python", "-I", "-S", "-c"}}
	for _, in := range cfg.Interpreters {
		w.langs[in.Lang] = &compiledLang{path: in.Module, args: append([]string(nil), in.Args...)}
	}
	if cfg.PoolSize > 0 {
		w.pool = newPool(w, cfg.PoolSize)
	}
	return w, nil
}

func (c *Config) normalize() error {
	if c.Timeout < 0 || c.MemoryLimit < 0 || c.MaxOutput < 0 || c.MaxModuleSize < 0 || c.ScratchQuota < 0 || c.PoolSize < 0 {
		return errors.New("sandbox: negative limit in config")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	c.MemoryLimit -= c.MemoryLimit % pageSize
	if c.MemoryLimit < pageSize || c.MemoryLimit > 1<<32 {
		return fmt.Errorf("sandbox: memory limit %d out of range [64 KiB, 4 GiB]", c.MemoryLimit)
	}
	if c.MaxOutput == 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	if c.MaxModuleSize == 0 {
		c.MaxModuleSize = DefaultMaxModuleSize
	}
	if c.ScratchQuota == 0 {
		c.ScratchQuota = DefaultScratchQuota
	}
	if c.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return err
		}
		c.Dir = d
	}
	seen := map[string]bool{}
	check := func(g string) error {
		if !path.IsAbs(g) || path.Clean(g) != g {
			return fmt.Errorf("sandbox: guest path %q must be absolute and clean", g)
		}
		if seen[g] {
			return fmt.Errorf("sandbox: guest path %q mounted twice", g)
		}
		seen[g] = true
		return nil
	}
	c.Mounts = append([]Mount(nil), c.Mounts...)
	for _, m := range c.Mounts {
		if m.HostDir == "" {
			return fmt.Errorf("sandbox: mount %q has no host directory", m.GuestPath)
		}
		if err := check(m.GuestPath); err != nil {
			return err
		}
	}
	if c.Scratch != "" {
		if err := check(c.Scratch); err != nil {
			return err
		}
	}
	for _, in := range c.Interpreters {
		if in.Lang == "" || in.Lang == LangPython || in.Lang == LangWasm || in.Module == "" {
			return fmt.Errorf("sandbox: interpreter %q needs a new language name and a module path", in.Lang)
		}
	}
	return nil
}

// DefaultDir is where runtimes and the compilation cache live:
// os.UserCacheDir()/agentguard.
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("sandbox: no cache directory: %w", err)
	}
	return filepath.Join(d, "agentguard"), nil
}

// runtimeConfig is the one wazero configuration every runtime in this package
// uses; the installer uses it too, so the on-disk compilation cache it fills is
// the one later runs hit.
func runtimeConfig(cache wazero.CompilationCache) wazero.RuntimeConfig {
	c := wazero.NewRuntimeConfigCompiler().
		// A guest loop must stop when its context ends; otherwise it runs on
		// and, compiled, blocks the host's garbage collector.
		WithCloseOnContextDone(true).
		// DWARF makes loads and failing runs slow by seconds and deadlines late.
		WithDebugInfoEnabled(false)
	if cache != nil {
		c = c.WithCompilationCache(cache)
	}
	return c
}

func newRuntime(ctx context.Context, dir string) (wazero.Runtime, wazero.CompilationCache, error) {
	cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(dir, "wazero-cache"))
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: compilation cache: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, runtimeConfig(cache))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		cache.Close(ctx)
		return nil, nil, fmt.Errorf("sandbox: wasi: %w", err)
	}
	return rt, cache, nil
}

// Close stops every run and session and frees the runtime.
func (w *Wasm) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.pool != nil {
		w.pool.close()
	}
	ctx := context.Background()
	err := w.rt.Close(ctx)
	if w.userRT != nil {
		err = errors.Join(err, w.userRT.Close(ctx))
	}
	w.cache.Close(ctx)
	w.closeMounts()
	return err
}

func (w *Wasm) closeMounts() {
	for _, m := range w.mounts {
		m.root.Close()
	}
}

// Exec runs code to completion or until a limit stops it. A program that fails
// or hits a limit is an Execution (see [guard.Execution.LimitHit]); an error
// means the sandbox could not run it (unknown language, runtime not installed,
// invalid module, caller's context cancelled).
func (w *Wasm) Exec(ctx context.Context, code guard.Code) (*guard.Execution, error) {
	start := time.Now()
	switch code.Lang {
	case LangWasm:
		if int64(len(code.Module)) > w.cfg.MaxModuleSize {
			return &guard.Execution{ExitCode: -1, LimitHit: guard.LimitModule,
				Stderr: fmt.Appendf(nil, "module of %d bytes exceeds the %d-byte limit\n", len(code.Module), w.cfg.MaxModuleSize)}, nil
		}
		mod, release, err := w.userModule(ctx, code.Module)
		if err != nil {
			if errors.Is(err, errModuleMemory) {
				return &guard.Execution{ExitCode: -1, LimitHit: guard.LimitMemory, Stderr: []byte(err.Error() + "\n")}, nil
			}
			return nil, err
		}
		defer release()
		args := append([]string{"main"}, code.Args...)
		return w.run(ctx, w.userRT, mod, args, code.Stdin, start)
	case "":
		return nil, errors.New("sandbox: code has no language")
	}
	if w.pool != nil && code.Lang == LangPython && len(code.Args) == 0 {
		if s := w.pool.get(ctx); s != nil {
			defer s.Close()
			ex, err := s.Exec(ctx, code)
			if ex != nil {
				ex.Duration = time.Since(start)
			}
			return ex, err
		}
	}
	l, mod, err := w.lang(ctx, code.Lang)
	if err != nil {
		return nil, err
	}
	args := append(append(append([]string(nil), l.args...), code.Source), code.Args...)
	return w.run(ctx, w.rt, mod, args, code.Stdin, start)
}

var errModuleMemory = errors.New("sandbox: module's initial memory exceeds the memory limit")

// userModule compiles (or finds compiled) a user's module. release must be
// called when the run ends.
func (w *Wasm) userModule(ctx context.Context, b []byte) (wazero.CompiledModule, func(), error) {
	info, err := checkModule(b)
	if err != nil {
		return nil, nil, err
	}
	if info.minMemory > uint64(w.cfg.MemoryLimit) {
		return nil, nil, errModuleMemory
	}
	key := sha256.Sum256(b)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, nil, ErrClosed
	}
	if m, ok := w.modules[key]; ok {
		w.mu.Unlock()
		return m, func() {}, nil
	}
	w.mu.Unlock()
	m, err := w.userRT.CompileModule(ctx, b)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: compile module: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.modules[key]; ok {
		m.Close(ctx)
		return old, func() {}, nil
	}
	if len(w.modules) < maxCachedModules && !w.closed {
		w.modules[key] = m
		return m, func() {}, nil
	}
	return m, func() { m.Close(context.Background()) }, nil
}

// lang returns the compiled interpreter for lang, compiling it on first use.
func (w *Wasm) lang(ctx context.Context, lang string) (*compiledLang, wazero.CompiledModule, error) {
	w.mu.Lock()
	l, ok := w.langs[lang]
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return nil, nil, ErrClosed
	}
	if !ok {
		return nil, nil, fmt.Errorf("sandbox: unknown language %q", lang)
	}
	l.once.Lock()
	defer l.once.Unlock()
	if l.mod != nil {
		return l, l.mod, nil
	}
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		if lang == LangPython {
			return nil, nil, fmt.Errorf("%w: python is not installed in %s; run `agentguard sandbox install python`", ErrNotInstalled, w.cfg.Dir)
		}
		return nil, nil, fmt.Errorf("%w: %s interpreter %s is missing", ErrNotInstalled, lang, l.path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: read %s interpreter: %w", lang, err)
	}
	if int64(len(b)) > max(w.cfg.MaxModuleSize, DefaultMaxModuleSize) {
		return nil, nil, fmt.Errorf("sandbox: %s interpreter is %d bytes, over the module size limit", lang, len(b))
	}
	if _, err := checkModule(b); err != nil {
		return nil, nil, fmt.Errorf("sandbox: %s interpreter: %w", lang, err)
	}
	mod, err := w.rt.CompileModule(experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0)), b)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: compile %s interpreter: %w", lang, err)
	}
	l.mod = mod
	return l, mod, nil
}

// instance is the per-run state handed to wazero: I/O, files and the memory
// limit. Nothing in it is shared between runs.
type instance struct {
	cfg     wazero.ModuleConfig
	mem     *memLimit
	stdout  *cappedWriter
	stderr  *cappedWriter
	quota   *quota
	cleanup func()
}

func (w *Wasm) newInstance(args []string, stdin io.Reader, stop func(), done <-chan struct{}) (*instance, error) {
	in := &instance{
		mem:     &memLimit{limit: uint64(w.cfg.MemoryLimit)},
		stdout:  &cappedWriter{limit: w.cfg.MaxOutput, stop: stop},
		stderr:  &cappedWriter{limit: w.cfg.MaxOutput, stop: stop},
		quota:   &quota{limit: w.cfg.ScratchQuota},
		cleanup: func() {},
	}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(args...).
		WithStdin(stdin).
		WithStdout(in.stdout).
		WithStderr(in.stderr)
	if w.cfg.RealClock {
		// wazero's own sleep cannot be interrupted: a guest sleeping for an
		// hour would hold its goroutine past the deadline. This one wakes at
		// the end of the run.
		mc = mc.WithSysWalltime().WithSysNanotime().WithNanosleep(func(ns int64) {
			t := time.NewTimer(time.Duration(ns))
			defer t.Stop()
			select {
			case <-t.C:
			case <-done:
			}
		})
	}
	if w.cfg.RealRandom {
		mc = mc.WithRandSource(rand.Reader)
	}
	if len(w.mounts) > 0 || w.cfg.Scratch != "" {
		fsc := wazero.NewFSConfig()
		for _, m := range w.mounts {
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(newRootFS(m.root, !m.writable, in.quota), m.guest)
		}
		if w.cfg.Scratch != "" {
			dir, err := os.MkdirTemp("", "agentguard-scratch-")
			if err != nil {
				return nil, fmt.Errorf("sandbox: scratch directory: %w", err)
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("sandbox: scratch directory: %w", err)
			}
			in.cleanup = func() {
				root.Close()
				os.RemoveAll(dir)
			}
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(newRootFS(root, false, in.quota), w.cfg.Scratch)
		}
		mc = mc.WithFSConfig(fsc)
	}
	in.cfg = mc
	return in, nil
}

// instantiate runs the module's _start. It converts a panic inside wazero (for
// example a memory allocation refused during instantiation) into an error.
func (w *Wasm) instantiate(ctx context.Context, rt wazero.Runtime, mod wazero.CompiledModule, in *instance) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sandbox: instantiate: %v", r)
		}
	}()
	ctx = experimental.WithMemoryAllocator(ctx, in.mem)
	m, err := rt.InstantiateModule(ctx, mod, in.cfg)
	if m != nil {
		m.Close(context.Background())
	}
	return err
}

func (w *Wasm) run(ctx context.Context, rt wazero.Runtime, mod wazero.CompiledModule, args []string, stdin []byte, start time.Time) (*guard.Execution, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	in, err := w.newInstance(args, strings.NewReader(string(stdin)), cancel, rctx.Done())
	if err != nil {
		return nil, err
	}
	defer in.cleanup()
	runErr := w.instantiate(rctx, rt, mod, in)
	return w.outcome(ctx, rctx, in, runErr, start)
}

// outcome turns a run's error into an Execution.
func (w *Wasm) outcome(parent, rctx context.Context, in *instance, runErr error, start time.Time) (*guard.Execution, error) {
	ex := &guard.Execution{Duration: time.Since(start)}
	var outHit, errHit bool
	ex.Stdout, outHit = in.stdout.result()
	ex.Stderr, errHit = in.stderr.result()
	var exit *sys.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &exit):
		ex.ExitCode = int(exit.ExitCode())
	default:
		ex.ExitCode = ExitTrap
		msg, _, _ := strings.Cut(runErr.Error(), "\n")
		ex.Stderr = append(ex.Stderr, "\nsandbox: "+msg+"\n"...)
	}
	limit, err := classify(parent, rctx, outHit || errHit, in.mem.hit.Load(), in.quota.hit.Load(), ex.ExitCode)
	if err != nil {
		return nil, err
	}
	ex.LimitHit = limit
	if exit != nil && (exit.ExitCode() == sys.ExitCodeContextCanceled || exit.ExitCode() == sys.ExitCodeDeadlineExceeded) {
		ex.ExitCode = -1
	}
	if limit != guard.LimitNone && ex.ExitCode == 0 {
		ex.ExitCode = -1
	}
	return ex, nil
}

// classify names the limit that stopped a run. Output and time limits stop a
// run outright; the memory limit and the scratch quota refuse an allocation or
// a write, which a program may survive, so they are named only when the run
// failed.
func classify(parent, rctx context.Context, output, mem, quota bool, exitCode int) (guard.Limit, error) {
	switch {
	case output:
		return guard.LimitOutput, nil
	case rctx.Err() != nil && errors.Is(rctx.Err(), context.DeadlineExceeded):
		return guard.LimitTime, nil
	case parent.Err() != nil:
		return guard.LimitNone, fmt.Errorf("sandbox: run cancelled: %w", parent.Err())
	case mem && exitCode != 0:
		return guard.LimitMemory, nil
	case quota && exitCode != 0:
		return guard.LimitOutput, nil
	}
	return guard.LimitNone, nil
}
