// Package sandbox runs untrusted code, typically code an LLM agent wrote, away
// from the host. It offers three [guard.Sandbox] backends:
//
//   - [Wasm], the default: an in-process WebAssembly sandbox on wazero
//     (compiler mode) that runs CPython 3.12 for WASI ([LangPython]), any WASI
//     command module ([LangWasm]) and other WASI interpreters registered with
//     [Interpreter] (for example a QuickJS build for JavaScript). A run starts
//     in well under a millisecond for a small module and in about a tenth of a
//     second for Python; [Wasm.NewSession] keeps a Python interpreter's state
//     between runs, as hosted code interpreters do, and [Config.PoolSize] keeps
//     prepared interpreters so one-shot runs skip start-up.
//   - [Process], for local tools and MCP servers that cannot run as
//     WebAssembly: the program runs in a re-executed child confined by
//     Landlock, no_new_privs, resource limits, an empty environment and a new
//     network namespace. Binaries that use it call [Main] at start-up.
//     [Process.Exec] runs a program to completion; [Process.Command] returns a
//     long-running confined child whose streams the caller owns (the MCP
//     proxy's upstream server), with [KillGroup] to reap what it started.
//   - [Remote], a client for a hosted sandbox service with an E2B-style HTTP
//     API, for applications that outgrow one machine.
//
// [NewPythonTool] turns any of them into the run_python tool for an agent
// loop. [InstallPython] (the CLI's "agentguard sandbox install python")
// installs the pinned Python runtime: npm pack, a checked sha256 digest, and a
// precompile into wazero's on-disk compilation cache. Runtimes are never
// downloaded at run time; running Python before the install is an
// [ErrNotInstalled] error that names the command.
//
// # Security model
//
// The guest of a [Wasm] sandbox can reach the host only through the WASI
// functions wazero implements, and this package configures them to reach as
// little as possible:
//
//   - Files: none by default. [Mount] exposes a host directory through an
//     [os.Root], which refuses "..", absolute paths and symlinks that resolve
//     outside the root, including links that were already in the directory.
//     wazero's own directory mounts follow such links, so they are never used.
//     Mounts are read-only unless marked writable; [Config.Scratch] gives each
//     run (each session) a fresh, empty writable directory that is removed
//     afterwards. The guest cannot create symlinks or hard links, and writes
//     count against [Config.ScratchQuota]. Devices, FIFOs and sockets found in
//     a mount are refused, without blocking the host (files are opened
//     non-blocking).
//   - Network: none. wazero's WASI has no socket creation; the guest's
//     socket() fails.
//   - Environment and arguments: empty, except argv.
//   - Time and randomness: a fixed clock (sleep returns at once) and a fixed
//     random source unless [Config.RealClock] or [Config.RealRandom] is set.
//     The real clock's sleep ends with the run (wazero's own would not).
//   - Time limit: every run has a deadline ([Config.Timeout] and the caller's
//     context); the runtime is built with WithCloseOnContextDone, so compiled
//     guest loops are stopped at the deadline (well within 100 ms; the
//     measured figures are in the benchmarks) and leave no goroutine behind.
//   - Memory: a custom linear-memory allocator refuses to grow memory past
//     [Config.MemoryLimit] and records that it did, so the limit is reported
//     as [guard.LimitMemory]. A module whose initial memory exceeds the limit
//     is refused before it runs.
//   - Output: stdout and stderr are capped writers; the first write past
//     [Config.MaxOutput] stops the run ([guard.LimitOutput]).
//   - Modules: bounded by [Config.MaxModuleSize] before compilation; every
//     table must declare a maximum of at most 2^20 entries (wazero would let
//     an unbounded table.grow allocate gigabytes outside the memory limit).
//   - DWARF is off (WithDebugInfoEnabled(false)): with it, failing runs take
//     seconds longer and deadlines are overshot.
//
// Runs share nothing: each has its own module instance, memory, file handles
// and scratch directory; compiled code is shared read-only.
//
// # Limitations
//
//   - The WebAssembly sandbox bounds linear memory, not every host allocation
//     a run causes (wazero's own bookkeeping, output buffers up to the output
//     limit, a compiled module's code).
//   - CPU time is bounded only by the wall-clock deadline; many concurrent
//     runs share the host's cores. Compiling a caller's module happens before
//     the deadline starts and is bounded only by [Config.MaxModuleSize];
//     compiled user modules are kept in memory (at most 16), never on disk.
//   - The pinned python.wasm is a -O0 build: loops run about 20 times slower
//     than native CPython; start-up is about 100 ms. Only the standard library
//     is available (no pip packages, no threads, no subprocesses, no sockets).
//   - In a [Session], code can write to file descriptor 1 directly and forge
//     the end-of-run marker of its own run; this only confuses its own
//     session. A run that hits the time or output limit ends its session.
//   - Test binaries carry no module build information, so wazero files their
//     compiled code under a "dev" version; the first test run compiles
//     python.wasm again (seconds, or minutes under -race).
//   - [Process] relies on Landlock (Linux 5.13+; ABI 4+ for TCP rules) and
//     refuses to run without it. Landlock does not cover UDP before ABI 10 or
//     MPTCP, which the default network namespace does. RLIMIT_AS counts address
//     space, not resident memory, and a program it stops is not reported as
//     [guard.LimitMemory] (the failure is the program's own). The child is
//     confined, not virtualised: it shares the host kernel. There is no PID
//     namespace (go-landlock's all-thread restriction reads /proc/<pid>/task,
//     which a new PID namespace without a fresh /proc misnames); instead the
//     confined child stays as the program's supervisor, a child subreaper:
//     when the program exits, the run ends, the context is cancelled or the
//     host process dies, it kills everything the program started, including
//     processes that left the process group (setsid, double fork), and exits
//     as the program did. What it cannot clean up, and what then runs on,
//     still confined: descendants of a supervisor killed with SIGKILL
//     (cmd.Process.Kill, as the MCP go-sdk's CommandTransport does when the
//     program ignores SIGTERM; cancel the context instead) and, before
//     Landlock ABI 6, of a supervisor the program itself killed (from ABI 6
//     the program runs in a nested Landlock domain that cannot signal it).
//     With [CommandOptions].InsecureNetwork, MPTCP sockets and UDP (before
//     Landlock ABI 10) are not covered.
//   - [Remote] trusts the service to isolate; it only bounds what it accepts
//     back. No JavaScript runtime is pinned: no WASI command build of a JS
//     engine is published on npm the way python.wasm is (see [Interpreter]).
//
//go:generate sh -c "for f in testdata/*.wat; do wat2wasm -o ${f%.wat}.wasm $f; done"
package sandbox
