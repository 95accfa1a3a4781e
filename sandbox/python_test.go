package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// pythonDir returns the directory python.wasm is installed in, or skips.
func pythonDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("AGENTGUARD_SANDBOX_DIR")
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			t.Skip("no cache directory:", err)
		}
		dir = d
	}
	if !PythonInstalled(dir) {
		t.Skipf("python.wasm is not installed in %s; run `go run ./cmd/agentguard sandbox install python`", dir)
	}
	// Test binaries carry no module build information, so wazero files their
	// compiled code under a "dev" version, apart from the installer's. Compiling
	// python.wasm under -race takes minutes; a plain `go test` run fills the
	// cache in seconds.
	if raceEnabled && !PythonCompiled(dir) {
		t.Skip("python.wasm is not yet compiled for test binaries; run `go test -run TestPython ./sandbox/` without -race once (under -race the compile takes minutes)")
	}
	return dir
}

func newPython(t testing.TB, cfg Config) *Wasm {
	t.Helper()
	cfg.Dir = pythonDir(t)
	return newWasm(t, cfg)
}

func py(t *testing.T, sb guard.Sandbox, src string) *guard.Execution {
	t.Helper()
	ex, err := sb.Exec(t.Context(), guard.Code{Lang: LangPython, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// escapeProbe tries every file and network escape from inside the
// interpreter in one run (interpreter runs are slow under -race) and prints
// one line per attempt: "name: blocked", or "name: ESCAPED ..." with what it got.
const escapeProbe = `
import os, socket
def attempt(name, f):
    try:
        got = f()
        print(name + ": ESCAPED " + repr(got)[:60])
    except Exception as e:
        print(name + ": blocked")
def ok(name, f, want):
    try:
        got = f()
        print(name + (": ok" if got == want else ": WRONG " + repr(got)[:60]))
    except Exception as e:
        print(name + ": FAILED " + repr(e)[:60])
attempt("host file", lambda: open("/etc/passwd").read())
attempt("list root", lambda: os.listdir("/"))
attempt("dot-dot from mount", lambda: open("/data/../secret.txt").read())
attempt("deep dot-dot", lambda: open("/data/../../../../../etc/passwd").read())
attempt("relative symlink out", lambda: open("/data/up").read())
attempt("absolute symlink", lambda: open("/data/passwd").read())
attempt("linked parent dir", lambda: open("/data/updir/secret.txt").read())
attempt("write read-only mount", lambda: open("/data/x", "w").write("x"))
attempt("write outside scratch", lambda: open("/tmp/../x", "w").write("x"))
attempt("guest-made symlink", lambda: os.symlink("/etc/passwd", "/tmp/l"))
attempt("guest-made relative symlink", lambda: os.symlink("../../etc/passwd", "/tmp/l2"))
attempt("guest-made hard link", lambda: (open("/tmp/f", "w").close(), os.link("/tmp/f", "/tmp/g")))
attempt("tcp socket", lambda: socket.socket().connect(("127.0.0.1", 80)))
attempt("udp socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 53)))
attempt("environment", lambda: dict(os.environ) or (_ for _ in ()).throw(KeyError()))
ok("mounted input", lambda: open("/data/in.txt").read(), "input")
ok("in-mount symlink", lambda: open("/data/inside").read(), "input")
ok("list mount", lambda: sorted(os.listdir("/data")), ["in.txt", "inside", "passwd", "up", "updir"])
ok("scratch", lambda: (open("/tmp/a", "w").write("hi"), open("/tmp/a").read())[1], "hi")
`

func TestPythonEscapes(t *testing.T) {
	data, outside := fsTree(t)
	w := newPython(t, Config{Timeout: 60 * time.Second, MemoryLimit: 64 << 20, MaxOutput: 1 << 16,
		Mounts: []Mount{{HostDir: data, GuestPath: "/data"}}, Scratch: "/tmp"})
	ex := py(t, w, escapeProbe)
	if ex.ExitCode != 0 {
		t.Fatalf("probe failed: exit %d, stderr %s", ex.ExitCode, ex.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(ex.Stdout)), "\n")
	if len(lines) != 19 {
		t.Errorf("probe printed %d lines, want 19:\n%s", len(lines), ex.Stdout)
	}
	for _, l := range lines {
		name, verdict, _ := strings.Cut(l, ": ")
		t.Run(name, func(t *testing.T) {
			if verdict != "blocked" && verdict != "ok" {
				t.Error(l)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(data, "x")); err == nil {
		t.Error("the guest wrote into the read-only mount")
	}
	if _, err := os.Lstat(filepath.Join(outside, "x")); err == nil {
		t.Error("the guest wrote outside its mounts")
	}
}

func TestPythonLimits(t *testing.T) {
	w := newPython(t, Config{Timeout: 60 * time.Second, MemoryLimit: 64 << 20, MaxOutput: 1 << 16})
	tests := []struct {
		name      string
		src       string
		wantOut   string
		wantCode  int
		wantLimit guard.Limit
	}{
		{name: "computes", src: "import time; print(sum(range(101)), time.time() < 1700000000)", wantOut: "5050 True\n"},
		{name: "exit status", src: "import sys; sys.exit(3)", wantCode: 3},
		{name: "memory bomb", src: "x = bytearray(200 * 1024 * 1024)", wantCode: 1, wantLimit: guard.LimitMemory},
		{name: "output flood", src: "while True: print('x' * 1000)", wantCode: -1, wantLimit: guard.LimitOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := py(t, w, tt.src)
			if tt.wantOut != "" && string(ex.Stdout) != tt.wantOut {
				t.Errorf("stdout %q, want %q (stderr %q)", ex.Stdout, tt.wantOut, ex.Stderr)
			}
			if ex.ExitCode != tt.wantCode || ex.LimitHit != tt.wantLimit {
				t.Errorf("exit %d limit %q, want %d %q (stderr %q)", ex.ExitCode, ex.LimitHit, tt.wantCode, tt.wantLimit, ex.Stderr)
			}
		})
	}
}

func TestPythonInfiniteLoop(t *testing.T) {
	w := newPython(t, Config{Timeout: 300 * time.Millisecond})
	py(t, w, "pass") // compile/load outside the measurement
	noLeak(t, func() {
		start := time.Now()
		ex := py(t, w, "while True: pass")
		over := time.Since(start) - 300*time.Millisecond
		if ex.LimitHit != guard.LimitTime {
			t.Fatalf("limit %q, want time", ex.LimitHit)
		}
		if over > time.Second {
			t.Errorf("stopped %v after the deadline", over)
		}
		t.Logf("stopped %v after the deadline (includes interpreter start-up)", over)
	})
}

func TestSessionKeepsState(t *testing.T) {
	w := newPython(t, Config{Timeout: 30 * time.Second, Scratch: "/tmp"})
	noLeak(t, func() {
		a, err := w.NewSession(t.Context(), LangPython)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := w.NewSession(t.Context(), LangPython)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		steps := []struct {
			s        *Session
			src      string
			out      string
			code     int
			errMatch string
		}{
			{a, "x = 41", "", 0, ""},
			{a, "print(x + 1)", "42\n", 0, ""},
			{b, "print(x)", "", 1, "NameError"}, // nothing shared between sessions
			{a, "import sys; sys.exit(4)", "", 4, ""},
			{a, "print(x)", "41\n", 0, ""}, // sys.exit does not end the session
			{a, "raise ValueError('boom')", "", 1, "ValueError: boom"},
			{a, "open('/tmp/note', 'w').write('a')", "", 0, ""},
			{a, "print(open('/tmp/note').read())", "a\n", 0, ""},
			{b, "open('/tmp/note')", "", 1, "FileNotFoundError"}, // each session has its own scratch
			{a, "import sys; print(sys.stdin.read())", "\n", 0, ""},
		}
		for i, st := range steps {
			ex, err := st.s.Exec(t.Context(), guard.Code{Source: st.src})
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if string(ex.Stdout) != st.out || ex.ExitCode != st.code || !strings.Contains(string(ex.Stderr), st.errMatch) {
				t.Errorf("step %d %q: stdout %q exit %d stderr %q", i, st.src, ex.Stdout, ex.ExitCode, ex.Stderr)
			}
		}
		ex, err := a.Exec(t.Context(), guard.Code{Source: "import sys; print(sys.stdin.read().upper())", Stdin: []byte("in")})
		if err != nil || string(ex.Stdout) != "IN\n" {
			t.Errorf("stdin: %v %q", err, ex.Stdout)
		}
	})
}

func TestSessionLimitEndsSession(t *testing.T) {
	w := newPython(t, Config{Timeout: 300 * time.Millisecond, MaxOutput: 1 << 12})
	for _, tt := range []struct {
		name  string
		src   string
		limit guard.Limit
	}{
		{"time", "while True: pass", guard.LimitTime},
		{"output", "while True: print('y' * 100)", guard.LimitOutput},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t, func() {
				s, err := w.NewSession(t.Context(), LangPython)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				ex, err := s.Exec(t.Context(), guard.Code{Source: tt.src})
				if err != nil {
					t.Fatal(err)
				}
				if ex.LimitHit != tt.limit {
					t.Fatalf("limit %q, want %q", ex.LimitHit, tt.limit)
				}
				if _, err := s.Exec(t.Context(), guard.Code{Source: "print(1)"}); !errors.Is(err, ErrSessionEnded) {
					t.Fatalf("after the limit: %v, want ErrSessionEnded", err)
				}
			})
		})
	}
}

func TestPoolServesOneShotRuns(t *testing.T) {
	dir := pythonDir(t)
	noLeak(t, func() {
		w, err := New(Config{Dir: dir, PoolSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i := range 3 {
			// The first run of a pooled sandbox leaves a variable behind; the next
			// run must not see it.
			ex := py(t, w, "print(globals().get('leak')); leak = 1")
			if string(ex.Stdout) != "None\n" {
				t.Fatalf("run %d: %q (stderr %q)", i, ex.Stdout, ex.Stderr)
			}
		}
	})
}
