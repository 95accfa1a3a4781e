package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// fsTree builds a host directory for the escape tests:
//
//	outside/secret.txt          must never be readable
//	outside/data/in.txt         the mounted input
//	outside/data/inside -> in.txt
//	outside/data/passwd -> /etc/passwd
//	outside/data/up -> ../secret.txt
//	outside/data/updir -> ..
func fsTree(t *testing.T) (data, outside string) {
	t.Helper()
	outside = t.TempDir()
	data = filepath.Join(outside, "data")
	must(t, os.Mkdir(data, 0o755))
	must(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("TOPSECRET"), 0o644))
	must(t, os.WriteFile(filepath.Join(data, "in.txt"), []byte("input"), 0o644))
	must(t, os.Symlink("in.txt", filepath.Join(data, "inside")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(data, "passwd")))
	must(t, os.Symlink("../secret.txt", filepath.Join(data, "up")))
	must(t, os.Symlink("..", filepath.Join(data, "updir")))
	return data, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func probe(t *testing.T, w *Wasm, args ...string) *guard.Execution {
	t.Helper()
	ex, err := w.Exec(t.Context(), guard.Code{Lang: LangWasm, Module: module(t, "fsprobe"), Args: args})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestEscapeReadOnlyMount(t *testing.T) {
	data, outside := fsTree(t)
	w := newWasm(t, Config{Mounts: []Mount{{HostDir: data, GuestPath: "/data"}}})
	tests := []struct {
		name    string
		args    []string
		wantOut string // empty: the call must fail
	}{
		{"read input", []string{"r", "in.txt"}, "input"},
		{"symlink inside the mount", []string{"r", "inside"}, "input"},
		{"absolute host path", []string{"r", "/etc/passwd"}, ""},
		{"dot-dot", []string{"r", "../secret.txt"}, ""},
		{"deep dot-dot", []string{"r", "../../../../../../etc/passwd"}, ""},
		{"pre-existing absolute symlink", []string{"r", "passwd"}, ""},
		{"pre-existing relative symlink out", []string{"r", "up"}, ""},
		{"symlinked parent dir", []string{"r", "updir/secret.txt"}, ""},
		{"write into read-only mount", []string{"w", "new.txt", "x"}, ""},
		{"overwrite input", []string{"w", "in.txt", "x"}, ""},
		{"symlink in read-only mount", []string{"l", "l", "/etc/passwd"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := probe(t, w, tt.args...)
			if tt.wantOut != "" {
				if ex.ExitCode != 0 || string(ex.Stdout) != tt.wantOut {
					t.Fatalf("got %q (exit %d), want %q", ex.Stdout, ex.ExitCode, tt.wantOut)
				}
				return
			}
			if ex.ExitCode == 0 || len(ex.Stdout) > 0 {
				t.Fatalf("escape: exit %d, stdout %q", ex.ExitCode, ex.Stdout)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(data, "in.txt")); string(b) != "input" {
		t.Errorf("input changed to %q", b)
	}
	for _, p := range []string{filepath.Join(data, "new.txt"), filepath.Join(data, "l")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	_ = outside
}

// Special files in a mount are refused, and opening a FIFO does not block the
// host past the deadline.
func TestEscapeSpecialFiles(t *testing.T) {
	data := t.TempDir()
	must(t, syscall.Mkfifo(filepath.Join(data, "fifo"), 0o644))
	must(t, os.Symlink("/dev/zero", filepath.Join(data, "zero")))
	w := newWasm(t, Config{Timeout: 5 * time.Second, Mounts: []Mount{{HostDir: data, GuestPath: "/data"}}})
	for _, p := range []string{"fifo", "zero"} {
		start := time.Now()
		ex := probe(t, w, "r", p)
		if ex.ExitCode == 0 || ex.LimitHit != guard.LimitNone || time.Since(start) > 2*time.Second {
			t.Errorf("%s: exit %d limit %q after %v", p, ex.ExitCode, ex.LimitHit, time.Since(start))
		}
	}
}

func TestEscapeScratch(t *testing.T) {
	w := newWasm(t, Config{Scratch: "/tmp", ScratchQuota: 1024})
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"write scratch", []string{"w", "out.txt", "hello"}, true},
		{"scratch is fresh per run", []string{"r", "out.txt"}, false},
		{"write outside scratch", []string{"w", "../escape.txt", "x"}, false},
		{"absolute write", []string{"w", "/etc/agentguard-escape", "x"}, false},
		{"symlink to host file", []string{"l", "l", "/etc/passwd"}, false},
		{"relative symlink out", []string{"l", "l", "../../../etc/passwd"}, false},
		{"quota", []string{"w", "big.txt", strings.Repeat("x", 2048)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := probe(t, w, tt.args...)
			if (ex.ExitCode == 0) != tt.ok {
				t.Fatalf("exit %d (stderr %q), want ok=%v", ex.ExitCode, ex.Stderr, tt.ok)
			}
		})
	}
	if _, err := os.Stat("/etc/agentguard-escape"); err == nil {
		t.Error("wrote /etc/agentguard-escape")
	}
	// Scratch directories are removed after each run.
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "agentguard-scratch-*"))
	for _, d := range left {
		if fi, err := os.Stat(d); err == nil && fi.ModTime().After(startTime) {
			t.Errorf("scratch directory %s left behind", d)
		}
	}
}

func TestEscapeWritableMount(t *testing.T) {
	data, outside := fsTree(t)
	w := newWasm(t, Config{Mounts: []Mount{{HostDir: data, GuestPath: "/work", Writable: true}}})
	for _, args := range [][]string{
		{"w", "../escape.txt", "x"},
		{"w", "up", "x"},               // through a pre-existing link out
		{"w", "updir/escape.txt", "x"}, // through a linked parent
		{"l", "mylink", "../secret.txt"},
	} {
		if ex := probe(t, w, args...); ex.ExitCode == 0 {
			t.Errorf("%v succeeded", args)
		}
	}
	if ex := probe(t, w, "w", "ok.txt", "fine"); ex.ExitCode != 0 {
		t.Fatalf("in-mount write failed: %d", ex.ExitCode)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "ok.txt")); string(b) != "fine" {
		t.Errorf("ok.txt = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "TOPSECRET" {
		t.Errorf("secret changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(outside, "escape.txt")); err == nil {
		t.Error("escape.txt written outside the mount")
	}
}
