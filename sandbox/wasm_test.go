package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

func module(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newWasm(t testing.TB, cfg Config) *Wasm {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// noLeak fails t if the goroutine count does not return to its level before
// f within two seconds (goleak-style polling, without the dependency).
func noLeak(t *testing.T, f func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	f()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d before, %d after\n%s", before, n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWasmRun(t *testing.T) {
	w := newWasm(t, Config{})
	tests := []struct {
		name       string
		mod        string
		args       []string
		wantOut    string
		wantCode   int
		wantLimit  guard.Limit
		wantStderr string
	}{
		{name: "hello", mod: "hello", wantOut: "hello\n"},
		{name: "exit status", mod: "exit3", wantCode: 3},
		{name: "memory bomb", mod: "grow", wantCode: ExitTrap, wantLimit: guard.LimitMemory, wantStderr: "unreachable"},
		{name: "no files without mounts", mod: "fsprobe", args: []string{"r", "etc/passwd"}, wantCode: 8 /* EBADF: no fd 3 */},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, tt.mod), Args: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			if string(ex.Stdout) != tt.wantOut || ex.ExitCode != tt.wantCode || ex.LimitHit != tt.wantLimit {
				t.Errorf("got stdout %q code %d limit %q; want %q %d %q (stderr %q)",
					ex.Stdout, ex.ExitCode, ex.LimitHit, tt.wantOut, tt.wantCode, tt.wantLimit, ex.Stderr)
			}
			if !strings.Contains(string(ex.Stderr), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", ex.Stderr, tt.wantStderr)
			}
		})
	}
}

func TestWasmInfiniteLoopStopsAtDeadline(t *testing.T) {
	w := newWasm(t, Config{Timeout: 200 * time.Millisecond})
	mod := module(t, "loop")
	// Warm the compiled-module cache so the measurement is the loop alone.
	if _, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: mod}); err != nil {
		t.Fatal(err)
	}
	noLeak(t, func() {
		start := time.Now()
		ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: mod})
		if err != nil {
			t.Fatal(err)
		}
		over := time.Since(start) - 200*time.Millisecond
		if ex.LimitHit != guard.LimitTime || ex.ExitCode == 0 {
			t.Fatalf("got limit %q code %d, want time", ex.LimitHit, ex.ExitCode)
		}
		// The bound is 100 ms past the deadline; -race and a loaded
		// 2-core machine get a generous margin on top, the figure is in the
		// benchmark.
		if over > time.Second {
			t.Errorf("stopped %v after the deadline", over)
		}
		t.Logf("stopped %v after the deadline", over)
	})
}

func TestWasmCallerCancel(t *testing.T) {
	w := newWasm(t, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := w.Exec(ctx, guard.Code{Lang: LangWasm, Module: module(t, "loop")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWasmOutputFlood(t *testing.T) {
	w := newWasm(t, Config{MaxOutput: 64 << 10})
	noLeak(t, func() {
		ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, "flood")})
		if err != nil {
			t.Fatal(err)
		}
		if ex.LimitHit != guard.LimitOutput || len(ex.Stdout) != 64<<10 {
			t.Fatalf("limit %q, %d bytes kept; want output, %d", ex.LimitHit, len(ex.Stdout), 64<<10)
		}
	})
}

func TestWasmHugeModule(t *testing.T) {
	w := newWasm(t, Config{MaxModuleSize: 1 << 20})
	huge := make([]byte, 2<<20)
	copy(huge, "\x00asm\x01\x00\x00\x00")
	ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: huge})
	if err != nil {
		t.Fatal(err)
	}
	if ex.LimitHit != guard.LimitModule {
		t.Fatalf("limit %q, want module_size", ex.LimitHit)
	}
}

func TestWasmRejectsUnboundedTable(t *testing.T) {
	w := newWasm(t, Config{})
	_, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, "table")})
	if !errors.Is(err, errBadModule) {
		t.Fatalf("err = %v, want a rejected module", err)
	}
}

func TestWasmInitialMemoryOverLimit(t *testing.T) {
	w := newWasm(t, Config{MemoryLimit: 64 << 10})
	// hello declares one page: fits exactly.
	if ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, "hello")}); err != nil || ex.ExitCode != 0 {
		t.Fatalf("hello: %v %+v", err, ex)
	}
	// A module asking for 2 pages up front is refused before it runs.
	two := bytes.Replace(module(t, "hello"), []byte{0x05, 0x04, 0x01, 0x01, 0x01, 0x01}, []byte{0x05, 0x04, 0x01, 0x01, 0x02, 0x02}, 1)
	if bytes.Equal(two, module(t, "hello")) {
		t.Fatal("test module layout changed")
	}
	ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: two})
	if err != nil {
		t.Fatal(err)
	}
	if ex.LimitHit != guard.LimitMemory {
		t.Fatalf("limit %q, want memory", ex.LimitHit)
	}
}

func TestWasmConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative timeout", Config{Timeout: -1}},
		{"memory too small", Config{MemoryLimit: 100}},
		{"relative guest path", Config{Mounts: []Mount{{HostDir: ".", GuestPath: "data"}}}},
		{"unclean guest path", Config{Mounts: []Mount{{HostDir: ".", GuestPath: "/a/../b"}}}},
		{"duplicate guest path", Config{Scratch: "/d", Mounts: []Mount{{HostDir: ".", GuestPath: "/d"}}}},
		{"missing host dir", Config{Mounts: []Mount{{HostDir: "/nonexistent-agentguard", GuestPath: "/d"}}}},
		{"interpreter shadows python", Config{Interpreters: []Interpreter{{Lang: "python", Module: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir = t.TempDir()
			if w, err := New(tt.cfg); err == nil {
				w.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestWasmUnknownLanguage(t *testing.T) {
	w := newWasm(t, Config{})
	for _, lang := range []string{"", "cobol"} {
		if _, err := w.Exec(t.Context(), guard.Code{Lang: lang, Source: "x"}); err == nil {
			t.Errorf("lang %q: no error", lang)
		}
	}
}

func TestPythonNotInstalled(t *testing.T) {
	w := newWasm(t, Config{Dir: t.TempDir()})
	_, err := w.Exec(t.Context(), guard.Code{Lang: LangPython, Source: "print(1)"})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "agentguard sandbox install python") {
		t.Fatalf("err = %v, want ErrNotInstalled naming the install command", err)
	}
}

func TestWasmClosed(t *testing.T) {
	w := newWasm(t, Config{})
	w.Close()
	if _, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, "hello")}); err == nil {
		t.Fatal("closed sandbox ran code")
	}
}

var startTime = time.Now()

// An Interpreter registers any WASI program that takes its program text as
// an argument; fsprobe stands in for a JavaScript engine here: "r" PATH.
func TestInterpreter(t *testing.T) {
	data, _ := fsTree(t)
	w := newWasm(t, Config{
		Mounts: []Mount{{HostDir: data, GuestPath: "/data"}},
		Interpreters: []Interpreter{
			{Lang: "probe", Module: filepath.Join("testdata", "fsprobe.wasm"), Args: []string{"fsprobe", "r"}},
			{Lang: "javascript", Module: filepath.Join(t.TempDir(), "qjs.wasm"), Args: []string{"qjs", "-e"}},
		}})
	ex, err := w.Exec(t.Context(), guard.Code{Lang: "probe", Source: "in.txt"})
	if err != nil || string(ex.Stdout) != "input" {
		t.Fatalf("probe: %v %+v", err, ex)
	}
	if _, err := w.Exec(t.Context(), guard.Code{Lang: "javascript", Source: "1"}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("missing interpreter: %v", err)
	}
}

// With the real clock a guest may sleep, but not past its deadline: wazero's
// own sleep would hold the run's goroutine for the whole hour.
func TestRealClockSleepStopsAtDeadline(t *testing.T) {
	for _, real := range []bool{false, true} {
		w := newWasm(t, Config{Timeout: 200 * time.Millisecond, RealClock: real})
		noLeak(t, func() {
			start := time.Now()
			ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, "sleep")})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if took > 2*time.Second {
				t.Fatalf("real clock %v: took %v", real, took)
			}
			// The fixed clock's sleep returns at once; the real one is cut by the deadline.
			if real && ex.LimitHit != guard.LimitTime || !real && ex.LimitHit != guard.LimitNone {
				t.Errorf("real clock %v: limit %q", real, ex.LimitHit)
			}
		})
	}
}
