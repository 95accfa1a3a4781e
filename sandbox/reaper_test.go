//go:build linux

package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// reaperHelperEnv makes this test binary, run as a confined program, start
// "/bin/sleep <value>" with clone(CLONE_PARENT) in a new session, so that the
// sleep is its sibling, a child of the supervisor, and exit.
const reaperHelperEnv = "AGENTGUARD_SANDBOX_REAPER_HELPER"

func init() {
	arg := os.Getenv(reaperHelperEnv)
	if arg == "" {
		return
	}
	if marker, ok := strings.CutPrefix(arg, "host:"); ok {
		os.Exit(hostThatDies(marker))
	}
	cmd := exec.Command("/bin/sleep", arg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_PARENT, Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("started")
	os.Exit(0)
}

// hostThatDies is a host process (unconfined) that starts a confined
// program leaving a setsid'd sleep behind, reports "ready" and exits without
// waiting for it.
func hostThatDies(marker string) int {
	p, err := NewProcess(ProcessConfig{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd, err := p.Command(context.Background(), []string{"/bin/sh", "-c", "setsid sleep " + marker + " & echo ready; exec sleep " + marker}, CommandOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	for deadline := time.Now().Add(10 * time.Second); len(findMarked(marker)) < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Print(line)
	return 0
}

// sleepMarker returns a sleep duration no other process on the host uses, to
// find the sleeps a test's program starts by their command line.
func sleepMarker() string {
	return fmt.Sprintf("300.%09d%d", time.Now().UnixNano()%1_000_000_000, os.Getpid()%1000)
}

// assertGone fails when a process with marker still exists. The supervisor
// reaps everything before it exits, so there is nothing to wait for.
func assertGone(t *testing.T, marker string) {
	t.Helper()
	if pids := findMarked(marker); len(pids) > 0 {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("processes %v with %q outlived the run", pids, marker)
	}
}

// waitMarked waits until a process with marker exists.
func waitMarked(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(findMarked(marker)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no process %q appeared", marker)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReaperExecSetsid(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	for _, tc := range []struct{ name, script string }{
		{"setsid", "setsid sleep M & echo started"},
		{"setsid and wait for it", "setsid sleep M & sleep 0.1; echo started"},
		{"double fork and setsid", "(setsid sh -c 'sleep M & exit' &); echo started"},
		{"many", "for i in 1 2 3 4 5 6 7 8 9 10; do setsid sleep M & done; echo started"},
		{"nested sessions", "setsid sh -c 'setsid sleep M & sleep M' & sleep 0.1; echo started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := sleepMarker()
			script := strings.ReplaceAll(tc.script, "M", marker)
			ex, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: []string{"/bin/sh", "-c", script}})
			if err != nil {
				t.Fatal(err)
			}
			if ex.ExitCode != 0 || string(ex.Stdout) != "started\n" || ex.LimitHit != guard.LimitNone {
				t.Fatalf("exit %d stdout %q stderr %q limit %v", ex.ExitCode, ex.Stdout, ex.Stderr, ex.LimitHit)
			}
			assertGone(t, marker)
		})
	}
}

// The run's deadline ends the program and what it left outside its group.
func TestReaperExecTimeout(t *testing.T) {
	p := newProc(t, ProcessConfig{Timeout: 500 * time.Millisecond})
	marker := sleepMarker()
	ex, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: []string{"/bin/sh", "-c", "setsid sleep " + marker + " & exec sleep " + marker}})
	if err != nil {
		t.Fatal(err)
	}
	if ex.LimitHit != guard.LimitTime || ex.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit %d limit %v stderr %q", ex.ExitCode, ex.LimitHit, ex.Stderr)
	}
	assertGone(t, marker)
}

// startDaemon starts a confined shell that runs script (M replaced by a
// fresh marker), reports "ready" and then waits for a line on stdin.
func startDaemon(t *testing.T, p *Process, ctx context.Context, script string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, string) {
	t.Helper()
	marker := sleepMarker()
	cmd, err := p.Command(ctx, []string{"/bin/sh", "-c", strings.ReplaceAll(script, "M", marker) + "\necho ready\nread x\nexit 0"}, CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stdin, r, errb := startPiped(t, cmd)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		for _, pid := range findMarked(marker) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child: %q %v; stderr %q", line, err, errb.String())
	}
	waitMarked(t, marker)
	return cmd, stdin, r, marker
}

func TestReaperCommand(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	for _, daemon := range []struct{ name, script string }{
		{"setsid", "setsid sleep M &"},
		{"double fork and setsid", "(setsid sh -c 'sleep M & exit' &)"},
		{"setsid grandchild of a setsid child", "setsid sh -c 'setsid sleep M & exec sleep M' &"},
		{"in the group", "sleep M &"},
	} {
		t.Run(daemon.name+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cmd, _, _, marker := startDaemon(t, p, ctx, daemon.script)
			cancel()
			if err := cmd.Wait(); err == nil {
				t.Fatal("Wait after cancel returned nil")
			}
			assertGone(t, marker)
		})
		t.Run(daemon.name+"/program exits", func(t *testing.T) {
			cmd, stdin, _, marker := startDaemon(t, p, t.Context(), daemon.script)
			io.WriteString(stdin, "bye\n")
			if err := cmd.Wait(); err != nil {
				t.Fatalf("wait: %v", err)
			}
			assertGone(t, marker)
			if err := KillGroup(cmd); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(daemon.name+"/stdin closed", func(t *testing.T) {
			// What the MCP go-sdk's CommandTransport does first.
			cmd, stdin, _, marker := startDaemon(t, p, t.Context(), daemon.script)
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("wait: %v", err)
			}
			assertGone(t, marker)
		})
	}
}

// SIGTERM, SIGINT and SIGHUP sent to the supervisor (what callers hold as
// cmd.Process) reach the program; its exit status comes back unchanged.
func TestReaperForwardsSignals(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			marker := sleepMarker()
			name := sigName(sig)
			script := "trap 'echo got " + name + "; exit 3' " + name + "; echo ready; setsid sleep " + marker + " & sleep " + marker + " & wait"
			cmd, err := p.Command(t.Context(), []string{"/bin/sh", "-c", script}, CommandOptions{})
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			errb := &syncBuf{}
			cmd.Stderr = errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			r := bufio.NewReader(stdout)
			if line, err := r.ReadString('\n'); line != "ready\n" {
				t.Fatalf("%q %v %q", line, err, errb.String())
			}
			waitMarked(t, marker)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if line, err := r.ReadString('\n'); line != "got "+name+"\n" {
				t.Fatalf("%q %v %q", line, err, errb.String())
			}
			err = cmd.Wait()
			var xe *exec.ExitError
			if !errors.As(err, &xe) || xe.ExitCode() != 3 {
				t.Fatalf("wait: %v, want exit status 3", err)
			}
			assertGone(t, marker)
		})
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	}
	return ""
}

// The supervisor exits as its program did: the same status, or the same
// signal (as a direct exec showed it before).
func TestReaperExitStatus(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	for _, tc := range []struct {
		script string
		code   int
		sig    syscall.Signal
	}{
		{"exit 0", 0, 0},
		{"exit 7", 7, 0},
		{"exit 255", 255, 0},
		{"kill -TERM $$", -1, syscall.SIGTERM},
		{"kill -USR1 $$", -1, syscall.SIGUSR1},
		{"kill -SEGV $$", -1, syscall.SIGSEGV},
		{"kill -KILL $$", -1, syscall.SIGKILL},
	} {
		t.Run(tc.script, func(t *testing.T) {
			cmd, err := p.Command(t.Context(), []string{"/bin/sh", "-c", tc.script}, CommandOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = cmd.Run()
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if tc.sig == 0 {
				if ws.Signaled() || ws.ExitStatus() != tc.code {
					t.Fatalf("status %v (%v), want exit %d", ws, err, tc.code)
				}
				return
			}
			if !ws.Signaled() || ws.Signal() != tc.sig {
				t.Fatalf("status %v (%v), want signal %v", err, ws, tc.sig)
			}
			if ws.CoreDump() {
				t.Error("the supervisor dumped core")
			}
		})
	}
	// The same through Exec: 128+signal.
	ex, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: []string{"/bin/sh", "-c", "kill -USR1 $$"}})
	if err != nil || ex.ExitCode != 128+int(syscall.SIGUSR1) {
		t.Fatalf("%v %+v", err, ex)
	}
}

// The rlimits apply to the program (the supervisor itself has none).
func TestReaperProgramLimits(t *testing.T) {
	p := newProc(t, ProcessConfig{MemoryLimit: 256 << 20, MaxOpenFiles: 32, MaxFileSize: 1 << 20, Timeout: 7 * time.Second})
	ex, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: []string{"/bin/sh", "-c", "ulimit -v; ulimit -n; ulimit -f; ulimit -c; ulimit -t; ulimit -H -v"}})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d\n32\n%d\n0\n7\n%d\n", (256<<20)/1024, (1<<20)/512, (256<<20)/1024)
	if ex.ExitCode != 0 || string(ex.Stdout) != want {
		t.Fatalf("exit %d stdout %q stderr %q, want %q", ex.ExitCode, ex.Stdout, ex.Stderr, want)
	}
}

// Adversarial: the program kills its supervisor to orphan what it started.
// From Landlock ABI 6 the program lives in a nested domain and cannot signal
// the supervisor.
func TestReaperProgramCannotKillSupervisor(t *testing.T) {
	if LandlockABI() < landlockScopeABI {
		t.Skip("Landlock ABI < 6 does not scope signals")
	}
	p := newProc(t, ProcessConfig{})
	for _, sig := range []string{"KILL", "STOP", "TERM", "USR2"} {
		t.Run(sig, func(t *testing.T) {
			marker := sleepMarker()
			script := "setsid sleep " + marker + " & sleep 0.1; kill -" + sig + " $PPID && echo killed; echo done"
			ex, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: []string{"/bin/sh", "-c", script}})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(ex.Stdout), "killed") || string(ex.Stdout) != "done\n" {
				t.Fatalf("signalled the supervisor: exit %d stdout %q stderr %q", ex.ExitCode, ex.Stdout, ex.Stderr)
			}
			assertGone(t, marker)
		})
	}
}

// A failed exec still reports through the status pipe (Exec) and exit status
// ExitSetupFailed (Command), and leaves nothing behind.
func TestReaperSetupFailure(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	dir := t.TempDir()
	notExec := dir + "/data"
	must(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))
	_, err := p.Exec(t.Context(), guard.Code{Lang: LangProcess, Args: []string{notExec}})
	if err == nil || !strings.Contains(err.Error(), "errno 13") {
		t.Fatalf("Exec: %v", err)
	}
}

// Adversarial: a sibling made with clone(CLONE_PARENT) is the supervisor's
// child from the start, never re-parented, and in its own session.
func TestReaperCloneParent(t *testing.T) {
	p := newProc(t, helperConfig())
	marker := sleepMarker()
	out, errb, code := runCommand(t, p, []string{testExe(t)}, CommandOptions{Env: []string{reaperHelperEnv + "=" + marker}})
	if code != 0 || out != "started\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errb)
	}
	assertGone(t, marker)
}

// When the host process dies, the supervisor's parent-death signal makes it
// kill everything below it.
func TestReaperHostDies(t *testing.T) {
	newProc(t, ProcessConfig{})
	marker := sleepMarker()
	host := exec.Command(testExe(t))
	host.Env = append(os.Environ(), reaperHelperEnv+"=host:"+marker)
	out, err := host.Output()
	if err != nil || string(out) != "ready\n" {
		t.Fatalf("host: %q %v", out, err)
	}
	waitGone(t, marker)
}

// A cancel that reaches the supervisor before it handles stopSignal is not
// lost: nothing the program started survives, whenever the cancel comes.
func TestReaperCancelEarly(t *testing.T) {
	p := newProc(t, ProcessConfig{})
	marker := sleepMarker()
	for i := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		cmd, err := p.Command(ctx, []string{"/bin/sh", "-c", "setsid sleep " + marker + " & exec sleep " + marker}, CommandOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			time.Sleep(time.Duration(i) * 100 * time.Microsecond)
		}
		cancel()
		cmd.Wait()
	}
	// A supervisor that missed the cancel would have been SIGKILLed after
	// WaitDelay, leaving the setsid'd sleep behind.
	time.Sleep(50 * time.Millisecond)
	assertGone(t, marker)
}
