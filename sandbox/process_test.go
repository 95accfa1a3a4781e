//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

func newProc(t *testing.T, cfg ProcessConfig) *Process {
	t.Helper()
	p, err := NewProcess(cfg)
	if errors.Is(err, ErrNoLandlock) {
		t.Skip("kernel without Landlock:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, p *Process, args ...string) *guard.Execution {
	t.Helper()
	ex, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestProcessConfinement(t *testing.T) {
	p := newProc(t, ProcessConfig{Scratch: true, Timeout: 10 * time.Second})
	secret := filepath.Join(t.TempDir(), "secret.txt")
	must(t, os.WriteFile(secret, []byte("TOPSECRET"), 0o644))
	tests := []struct {
		name    string
		args    []string
		ok      bool
		wantOut string
	}{
		{"runs", []string{"/bin/echo", "hello"}, true, "hello\n"},
		{"empty environment", []string{"/usr/bin/env"}, true, ""},
		{"host file", []string{"/bin/cat", "/etc/passwd"}, false, ""},
		{"file outside the rules", []string{"/bin/cat", secret}, false, ""},
		{"write outside scratch", []string{"/bin/sh", "-c", "echo x > /tmp/agentguard-proc-escape"}, false, ""},
		{"write scratch", []string{"/bin/sh", "-c", "echo x > out && cat out"}, true, "x\n"},
		{"symlink out of scratch", []string{"/bin/sh", "-c", "ln -s /etc/passwd l && cat l"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := run(t, p, tt.args...)
			if (ex.ExitCode == 0) != tt.ok || string(ex.Stdout) != tt.wantOut {
				t.Fatalf("exit %d stdout %q stderr %q; want ok=%v %q", ex.ExitCode, ex.Stdout, ex.Stderr, tt.ok, tt.wantOut)
			}
			if !tt.ok && !strings.Contains(string(ex.Stderr), "ermission denied") && !strings.Contains(string(ex.Stderr), "Operation not permitted") {
				t.Errorf("failed for another reason: %q", ex.Stderr)
			}
			if strings.Contains(string(ex.Stdout), "root:") || strings.Contains(string(ex.Stdout), "TOPSECRET") {
				t.Fatal("escaped")
			}
		})
	}
	if _, err := os.Stat("/tmp/agentguard-proc-escape"); err == nil {
		os.Remove("/tmp/agentguard-proc-escape")
		t.Error("wrote outside scratch")
	}
}

func TestProcessNetwork(t *testing.T) {
	py, err := filepath.EvalSymlinks("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3 on the host")
	}
	p := newProc(t, ProcessConfig{Timeout: 10 * time.Second})
	ex := run(t, p, py, "-I", "-S", "-c", "import socket; socket.create_connection(('127.0.0.1', 9), timeout=2)")
	if ex.ExitCode == 0 {
		t.Fatal("connected")
	}
	t.Logf("connect: %s", lastLine(ex.Stderr))
	if !strings.Contains(string(ex.Stderr), "Error") {
		t.Errorf("stderr %q", ex.Stderr)
	}
}

func TestProcessLimits(t *testing.T) {
	p := newProc(t, ProcessConfig{Timeout: 300 * time.Millisecond, MaxOutput: 1 << 12})
	noLeak(t, func() {
		start := time.Now()
		ex := run(t, p, "/bin/sh", "-c", "while :; do :; done")
		if ex.LimitHit != guard.LimitTime {
			t.Fatalf("limit %q, want time", ex.LimitHit)
		}
		t.Logf("loop stopped %v after the deadline", time.Since(start)-300*time.Millisecond)
		ex = run(t, p, "/usr/bin/yes")
		if ex.LimitHit != guard.LimitOutput {
			t.Fatalf("limit %q, want output", ex.LimitHit)
		}
	})
	// A background child must not outlive the run.
	// A duration unique to this run, so another "sleep 30" on the host does not
	// count as a survivor.
	d := fmt.Sprintf("30.%09d", time.Now().UnixNano()%1e9)
	ex := run(t, p, "/bin/sh", "-c", "sleep "+d+" & echo started")
	if string(ex.Stdout) != "started\n" {
		t.Fatalf("stdout %q", ex.Stdout)
	}
	out, _ := exec.Command("pgrep", "-f", "^sleep "+strings.ReplaceAll(d, ".", "[.]")+"$").Output()
	if len(out) > 0 {
		t.Errorf("background child survived: %s", out)
	}
}

func TestProcessRefusesWithoutLandlock(t *testing.T) {
	_, err := NewProcess(ProcessConfig{MinLandlockABI: 99})
	if !errors.Is(err, ErrNoLandlock) {
		t.Fatalf("err = %v, want ErrNoLandlock", err)
	}
}

func TestProcessBadCode(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	for _, c := range []guard.Code{{Lang: "python", Source: "1"}, {Lang: LangProcess}, {Lang: LangProcess, Args: []string{"echo"}},
		{Lang: LangProcess, Args: []string{"/nonexistent/prog"}}} {
		if _, err := p.Exec(t.Context(), c); err == nil {
			t.Errorf("%+v ran", c)
		}
	}
}

func TestProcessConformance(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	guardtest.TestSandbox(t, p, guardtest.SandboxCases{
		OK: guard.Code{Lang: LangProcess, Args: []string{"/bin/echo", "hi"}}, WantStdout: "hi\n",
		Forever: guard.Code{Lang: LangProcess, Args: []string{"/bin/sh", "-c", "while :; do :; done"}},
	})
}
