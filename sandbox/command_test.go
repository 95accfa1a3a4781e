//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cmdHelperEnv makes this test binary, started as a confined program by
// Command, act as a small test program instead of running the tests. (The
// confining child never has it set: its environment is childEnv and specEnv
// only. Inits run before TestMain, which calls Main.)
const cmdHelperEnv = "AGENTGUARD_SANDBOX_TEST_HELPER"

func init() {
	mode := os.Getenv(cmdHelperEnv)
	if mode == "" {
		return
	}
	os.Exit(cmdHelper(mode))
}

func cmdHelper(mode string) int {
	verb, arg, _ := strings.Cut(mode, ":")
	switch verb {
	case "echo":
		// One response line per request line, flushed at once.
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if _, err := fmt.Fprintf(os.Stdout, "echo %s\n", in.Text()); err != nil {
				return 1
			}
		}
		return 0
	case "dial":
		c, err := net.DialTimeout("tcp", arg, 3*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		c.Close()
		fmt.Println("connected")
		return 0
	case "listen", "listen-mptcp":
		// Go's net.Listen uses Multipath TCP by default, which Landlock's TCP
		// rules do not cover; "listen" asks for plain TCP.
		var lc net.ListenConfig
		lc.SetMultipathTCP(verb == "listen-mptcp")
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		l.Close()
		fmt.Println("listening")
		return 0
	case "env":
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, cmdHelperEnv+"=") {
				fmt.Println(kv)
			}
		}
		return 0
	}
	return 2
}

// startPiped connects a pipe to cmd's stdin, a reader to its stdout and a
// buffer to its stderr, and starts it.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, *bufio.Reader, *syncBuf) {
	t.Helper()
	errb := &syncBuf{}
	cmd.Stderr = errb
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdin, bufio.NewReader(stdout), errb
}

// syncBuf is a goroutine-safe buffer for a running child's stderr.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// helperConfig is the backend for tests that confine this test binary, a Go
// program with cgo: its threads' stacks and glibc malloc arenas (64 MiB of
// address space each) can exceed the default 1 GiB RLIMIT_AS, and under the
// race detector, whose shadow memory needs terabytes, any limit.
func helperConfig() ProcessConfig {
	if raceEnabled {
		return ProcessConfig{MemoryLimit: math.MaxInt64}
	}
	return ProcessConfig{MemoryLimit: 4 << 30}
}

// testExe is this test binary, the program the helper tests confine.
func testExe(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// runCommand runs a confined command to completion and returns its stdout,
// stderr and exit status.
func runCommand(t *testing.T, p *Process, argv []string, o CommandOptions) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd, err := p.Command(ctx, argv, o)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if xe := (*exec.ExitError)(nil); errors.As(err, &xe) {
		code = xe.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", argv, err)
	}
	return out.String(), errb.String(), code
}

func TestCommandFiles(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	base := t.TempDir()
	roDir := filepath.Join(base, "ro")
	rwDir := filepath.Join(base, "rw")
	secretDir := filepath.Join(base, "secret")
	for _, d := range []string{roDir, rwDir, secretDir} {
		must(t, os.Mkdir(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(roDir, "data.txt"), []byte("READABLE"), 0o644))
	must(t, os.WriteFile(filepath.Join(secretDir, "key"), []byte("TOPSECRET"), 0o644))
	opts := CommandOptions{ReadOnly: []string{roDir}, ReadWrite: []string{rwDir}, Dir: rwDir}
	tests := []struct {
		name    string
		script  string
		ok      bool
		wantOut string
	}{
		{"read mounted read-only", "cat " + roDir + "/data.txt", true, "READABLE"},
		{"list mounted read-only", "ls " + roDir, true, "data.txt\n"},
		{"write read-only mount", "echo x > " + roDir + "/new", false, ""},
		{"append read-only file", "echo x >> " + roDir + "/data.txt", false, ""},
		{"write read-write mount", "echo written > out && cat " + rwDir + "/out", true, "written\n"},
		{"mkdir in read-write mount", "mkdir sub && echo y > sub/f && cat sub/f", true, "y\n"},
		{"read unmounted sibling", "cat " + secretDir + "/key", false, ""},
		{"read host file", "cat /etc/passwd", false, ""},
		{"write tmp", "echo x > /tmp/agentguard-cmd-escape", false, ""},
		{"discard to /dev/null", "echo x > /dev/null && echo ok", true, "ok\n"},
		{"symlink out of read-write mount", "ln -s " + secretDir + "/key l && cat l", false, ""},
		{"hard link out of read-write mount", "ln " + secretDir + "/key h && cat h", false, ""},
		{"rename read-only file away", "mv " + roDir + "/data.txt " + rwDir + "/stolen", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errb, code := runCommand(t, p, []string{"/bin/sh", "-c", tt.script}, opts)
			if (code == 0) != tt.ok || out != tt.wantOut {
				t.Fatalf("exit %d stdout %q stderr %q; want ok=%v stdout %q", code, out, errb, tt.ok, tt.wantOut)
			}
			if !tt.ok && !strings.Contains(errb, "ermission denied") && !strings.Contains(errb, "not permitted") &&
				!strings.Contains(errb, "cross-device") {
				t.Errorf("failed for another reason: %q", errb)
			}
			if strings.Contains(out, "TOPSECRET") || strings.Contains(out, "root:") {
				t.Fatal("escaped")
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(rwDir, "out")); err != nil || string(b) != "written\n" {
		t.Errorf("write through the read-write mount: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(roDir, "data.txt")); err != nil {
		t.Errorf("read-only file moved: %v", err)
	}
	if _, err := os.Stat("/tmp/agentguard-cmd-escape"); err == nil {
		os.Remove("/tmp/agentguard-cmd-escape")
		t.Error("wrote /tmp")
	}
}

func TestCommandNetwork(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
			accepted <- struct{}{}
		}
	}()
	exe := testExe(t)
	helper := func(mode string) []string { return []string{cmdHelperEnv + "=" + mode} }
	t.Logf("kernel Landlock ABI %d", LandlockABI())

	t.Run("denied_by_default", func(t *testing.T) {
		p := newProc(t, helperConfig())
		out, errb, code := runCommand(t, p, []string{exe}, CommandOptions{Env: helper("dial:" + l.Addr().String())})
		if code == 0 || strings.Contains(out, "connected") {
			t.Fatalf("connected to the host's loopback listener: %q %q", out, errb)
		}
		t.Logf("dial: %s", strings.TrimSpace(errb))
	})
	t.Run("host_network_tcp_still_denied", func(t *testing.T) {
		// Landlock's TCP rules alone, without the namespace.
		cfg := helperConfig()
		cfg.InsecureHostNetwork = true
		p := newProc(t, cfg)
		out, errb, code := runCommand(t, p, []string{exe}, CommandOptions{Env: helper("dial:" + l.Addr().String())})
		if code == 0 || !strings.Contains(errb, "permission denied") {
			t.Fatalf("exit %d %q %q", code, out, errb)
		}
	})
	t.Run("insecure_network_connects", func(t *testing.T) {
		p := newProc(t, helperConfig())
		out, errb, code := runCommand(t, p, []string{exe}, CommandOptions{Env: helper("dial:" + l.Addr().String()), InsecureNetwork: true})
		if code != 0 || out != "connected\n" {
			t.Fatalf("exit %d %q %q", code, out, errb)
		}
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("listener saw no connection")
		}
	})
	t.Run("insecure_network_cannot_bind", func(t *testing.T) {
		p := newProc(t, helperConfig())
		out, errb, code := runCommand(t, p, []string{exe}, CommandOptions{Env: helper("listen"), InsecureNetwork: true})
		if code == 0 || strings.Contains(out, "listening") {
			t.Fatalf("bound a TCP port: %q %q", out, errb)
		}
		// Known gap, documented: Landlock does not handle MPTCP sockets.
		out, _, _ = runCommand(t, p, []string{exe}, CommandOptions{Env: helper("listen-mptcp"), InsecureNetwork: true})
		t.Logf("MPTCP listen with host network (not covered by Landlock): %q", strings.TrimSpace(out))
	})
	t.Run("no_bind_in_own_namespace", func(t *testing.T) {
		p := newProc(t, helperConfig())
		out, errb, code := runCommand(t, p, []string{exe}, CommandOptions{Env: helper("listen")})
		if code == 0 || strings.Contains(out, "listening") {
			t.Fatalf("bound a TCP port: %q %q", out, errb)
		}
	})
}

func TestCommandEnvironment(t *testing.T) {
	t.Setenv("AGENTGUARD_TEST_PARENT_SECRET", "hunter2")
	p := newProc(t, helperConfig())
	out, errb, code := runCommand(t, p, []string{"/usr/bin/env"}, CommandOptions{})
	if code != 0 || out != "" {
		t.Fatalf("empty environment: exit %d %q %q", code, out, errb)
	}
	out, errb, code = runCommand(t, p, []string{"/usr/bin/env"}, CommandOptions{Env: []string{"A=1", "B=two words"}})
	if code != 0 || out != "A=1\nB=two words\n" {
		t.Fatalf("given environment: exit %d %q %q", code, out, errb)
	}
	// The spec variable itself never reaches a Go program's environment.
	out, _, _ = runCommand(t, p, []string{testExe(t)}, CommandOptions{Env: []string{cmdHelperEnv + "=env"}})
	if out != "" {
		t.Fatalf("helper saw %q", out)
	}
}

// findMarked returns the host PIDs of processes whose command line contains
// marker.
func findMarked(marker string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone waits until no process carries marker.
func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(findMarked(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v with %q survived", findMarked(marker), marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startTree starts a confined shell that leaves a grandchild (a sleep with a
// unique argument) and reports "ready".
func startTree(t *testing.T, p *Process, ctx context.Context) (*exec.Cmd, string) {
	t.Helper()
	marker := fmt.Sprintf("%d.%d", 3000+os.Getpid()%1000, time.Now().UnixNano()%1000000)
	sleep := "sleep " + marker
	cmd, err := p.Command(ctx, []string{"/bin/sh", "-c", sleep + " & echo ready; exec sleep 600"}, CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errb := &syncBuf{}
	cmd.Stderr = errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child: %q %v; stderr %q", line, err, errb.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(findMarked(marker)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %q never appeared", marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, marker
}

func TestCommandCancelKillsTree(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	cmd, marker := startTree(t, p, ctx)
	cancel()
	if err := cmd.Wait(); err == nil {
		t.Fatal("Wait after cancel returned nil")
	}
	waitGone(t, marker)
}

// The go-sdk's CommandTransport kills only the process it started; KillGroup
// takes the rest of the group with it afterwards.
func TestCommandKillGroupAfterLeaderDeath(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	cmd, marker := startTree(t, p, t.Context())
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(findMarked(marker)) == 0 {
		t.Log("grandchild already gone after the leader died")
	}
	if err := KillGroup(cmd); err != nil {
		t.Fatal(err)
	}
	waitGone(t, marker)
	if err := KillGroup(cmd); err != nil {
		t.Fatalf("second KillGroup: %v", err)
	}
}

func TestCommandStreaming(t *testing.T) {
	p := newProc(t, helperConfig())
	cmd, err := p.Command(t.Context(), []string{testExe(t)}, CommandOptions{Env: []string{cmdHelperEnv + "=echo"}})
	if err != nil {
		t.Fatal(err)
	}
	stdin, r, errb := startPiped(t, cmd)
	// Each reply is read before the next request is written: nothing can be
	// buffered to the end of the session.
	for i := range 500 {
		req := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list","pad":%q}`, i, strings.Repeat("x", i%97))
		if _, err := io.WriteString(stdin, req+"\n"); err != nil {
			t.Fatalf("write %d: %v; stderr %q", i, err, errb.String())
		}
		line, err := r.ReadString('\n')
		if err != nil || line != "echo "+req+"\n" {
			t.Fatalf("reply %d: %q %v; stderr %q", i, line, err, errb.String())
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("wait: %v; stderr %q", err, errb.String())
	}
}

func TestCommandSetupFailure(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	dir := t.TempDir()
	notExec := filepath.Join(dir, "data")
	must(t, os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644))
	for _, tc := range []struct {
		name string
		argv []string
		opts CommandOptions
		want string
		is   error
	}{
		{"missing read-only mount", []string{"/bin/true"}, CommandOptions{ReadOnly: []string{filepath.Join(dir, "nope")}}, "read-only mount", fs.ErrNotExist},
		{"missing read-write mount", []string{"/bin/true"}, CommandOptions{ReadWrite: []string{filepath.Join(dir, "nope")}}, "read-write mount", fs.ErrNotExist},
		{"relative mount", []string{"/bin/true"}, CommandOptions{ReadOnly: []string{"node_modules"}}, "absolute", nil},
		{"relative program", []string{"true"}, CommandOptions{}, "absolute", nil},
		{"missing program", []string{filepath.Join(dir, "nope")}, CommandOptions{}, "program", fs.ErrNotExist},
		{"program is a directory", []string{dir}, CommandOptions{}, "directory", nil},
		{"no argv", nil, CommandOptions{}, "absolute", nil},
		{"NUL in argument", []string{"/bin/echo", "a\x00b"}, CommandOptions{}, "NUL", nil},
		{"bad env entry", []string{"/bin/true"}, CommandOptions{Env: []string{"NOVALUE"}}, "NAME=value", nil},
		{"env value kept out of errors", []string{"/bin/true"}, CommandOptions{Env: []string{"TOKEN=s3cr3t\x00"}}, "TOKEN=…", nil},
		{"missing working directory", []string{"/bin/true"}, CommandOptions{Dir: filepath.Join(dir, "nope")}, "working directory", fs.ErrNotExist},
		{"relative working directory", []string{"/bin/true"}, CommandOptions{Dir: "."}, "working directory", nil},
		{"negative CPU time", []string{"/bin/true"}, CommandOptions{CPUTime: -time.Second}, "CPU", nil},
		{"oversized spec", []string{"/bin/echo", strings.Repeat("a", maxCommandSpec)}, CommandOptions{}, "spec", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := p.Command(t.Context(), tc.argv, tc.opts)
			if err == nil {
				t.Fatalf("got a command %v", cmd.Args)
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want %q (is %v)", err, tc.want, tc.is)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatal("secret in error")
			}
		})
	}
	// Failures inside the child: exit status ExitSetupFailed and a clear
	// reason on stderr, never a hang.
	t.Run("program not executable", func(t *testing.T) {
		out, errb, code := runCommand(t, p, []string{notExec}, CommandOptions{})
		if code != ExitSetupFailed || out != "" || !strings.Contains(errb, "confined child setup failed") || !strings.Contains(errb, "errno 13") {
			t.Fatalf("exit %d stdout %q stderr %q", code, out, errb)
		}
	})
	t.Run("working directory removed after the check", func(t *testing.T) {
		gone := filepath.Join(dir, "gone")
		must(t, os.Mkdir(gone, 0o755))
		cmd, err := p.Command(t.Context(), []string{"/bin/true"}, CommandOptions{Dir: gone})
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.Remove(gone))
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err = cmd.Run()
		var xe *exec.ExitError
		if !errors.As(err, &xe) || xe.ExitCode() != ExitSetupFailed || !strings.Contains(errb.String(), "chdir") {
			t.Fatalf("err %v stderr %q", err, errb.String())
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cmd, err := p.Command(ctx, []string{"/bin/true"}, CommandOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := cmd.Run(); err == nil {
			t.Fatal("ran after cancel")
		}
	})
}

func TestCommandCPUTime(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	cmd, err := p.Command(t.Context(), []string{"/bin/sh", "-c", "while :; do :; done"}, CommandOptions{CPUTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Run()
	var xe *exec.ExitError
	if !errors.As(err, &xe) {
		t.Fatalf("err %v", err)
	}
	if ws, ok := xe.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || (ws.Signal() != syscall.SIGXCPU && ws.Signal() != syscall.SIGKILL) {
		t.Fatalf("ended by %v, want SIGXCPU", err)
	}
}

func TestCommandZeroProcess(t *testing.T) {
	var p *Process
	if _, err := p.Command(t.Context(), []string{"/bin/true"}, CommandOptions{}); !errors.Is(err, ErrNoLandlock) {
		t.Fatalf("nil backend: %v", err)
	}
	if _, err := (&Process{}).Command(t.Context(), []string{"/bin/true"}, CommandOptions{}); !errors.Is(err, ErrNoLandlock) {
		t.Fatalf("zero backend: %v", err)
	}
}

// BenchmarkCommandStart measures the start-up cost of a confined child against
// a plain exec of the same program: start /bin/true and wait for it.
func BenchmarkCommandStart(b *testing.B) {
	b.Run("unconfined", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, err := NewProcess(ProcessConfig{})
	if errors.Is(err, ErrNoLandlock) {
		b.Skip("kernel without Landlock:", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts CommandOptions
	}{{"confined", CommandOptions{}}, {"confined_hostnet", CommandOptions{InsecureNetwork: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cmd, err := p.Command(context.Background(), []string{"/bin/true"}, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
	}
}

// A long-running confined child with pipes, as an MCP client runs a local
// server: hand cmd to the go-sdk as &mcp.CommandTransport{Command: cmd}. The
// binary calls Main first thing (here: TestMain).
func ExampleProcess_Command() {
	p, err := NewProcess(ProcessConfig{})
	if err != nil {
		log.Fatal(err) // ErrNoLandlock on a kernel without Landlock
	}
	cmd, err := p.Command(context.Background(), []string{"/bin/cat"}, CommandOptions{})
	if err != nil {
		log.Fatal(err)
	}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	for _, msg := range []string{"ping", "pong"} {
		io.WriteString(stdin, msg+"\n")
		line, _ := r.ReadString('\n')
		fmt.Print(line)
	}
	stdin.Close()
	cmd.Wait()
	KillGroup(cmd) // whatever the program left in its process group
	// Output:
	// ping
	// pong
}

// FuzzCheckCommand: the up-front validation never panics, and what it accepts
// has an absolute program, absolute mounts and NAME=value environment entries.
func FuzzCheckCommand(f *testing.F) {
	f.Add("/bin/true", "arg", "/usr", "/tmp", "A=1", "/")
	f.Add("true", "", "", "", "", "")
	f.Add("/bin/echo", "a\x00b", "rel", "/nonexistent", "NOVALUE", ".")
	f.Add("/bin/sh", "-c", "/etc/passwd", "/dev/null", "=x", "/bin/true")
	f.Fuzz(func(t *testing.T, prog, arg, ro, rw, env, dir string) {
		opts := CommandOptions{Dir: dir}
		if ro != "" {
			opts.ReadOnly = []string{ro}
		}
		if rw != "" {
			opts.ReadWrite = []string{rw}
		}
		if env != "" {
			opts.Env = []string{env}
		}
		err := checkCommand([]string{prog, arg}, &opts)
		if err != nil {
			if env != "" && strings.Contains(env, "=") {
				_, val, _ := strings.Cut(env, "=")
				if len(val) > 3 && strings.Contains(err.Error(), val) {
					t.Fatalf("error %q shows the variable's value", err)
				}
			}
			return
		}
		if !filepath.IsAbs(prog) || !filepath.IsAbs(opts.Dir) || strings.ContainsRune(arg, 0) {
			t.Fatalf("accepted %q %q dir %q", prog, arg, opts.Dir)
		}
		for _, m := range append(opts.ReadOnly, opts.ReadWrite...) {
			if !filepath.IsAbs(m) {
				t.Fatalf("accepted mount %q", m)
			}
		}
		if env != "" {
			if name, _, ok := strings.Cut(env, "="); !ok || name == "" || strings.ContainsRune(env, 0) {
				t.Fatalf("accepted env %q", env)
			}
		}
	})
}

// A compromised server must not signal the host's processes (the proxy, the
// user's shell…): Landlock ABI 6 scopes signals to the sandbox.
func TestCommandCannotSignalOutside(t *testing.T) {
	if LandlockABI() < 6 {
		t.Skip("Landlock ABI < 6 does not scope signals")
	}
	p := newProc(t, ProcessConfig{})
	victim := exec.Command("/bin/sleep", "300")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { victim.Process.Kill(); victim.Wait() }()
	out, errb, code := runCommand(t, p, []string{"/bin/sh", "-c", "kill -KILL " + strconv.Itoa(victim.Process.Pid) + " && echo killed"}, CommandOptions{InsecureNetwork: true})
	if code == 0 || strings.Contains(out, "killed") {
		t.Fatalf("signalled a host process: %q %q", out, errb)
	}
	if !strings.Contains(errb, "not permitted") {
		t.Errorf("failed for another reason: %q", errb)
	}
	if err := victim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("victim gone: %v", err)
	}
}
