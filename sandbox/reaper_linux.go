//go:build linux

package sandbox

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	llsyscall "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// The confined child started by [Process.Exec] and [Process.Command] does not
// become the program: after confining itself it stays as the program's
// supervisor, so that nothing the program starts outlives it.
//
//   - It is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever the program
//     leaves behind, including processes that called setsid or setpgid to
//     leave the process group, is re-parented to it when its parent dies.
//   - It forwards SIGTERM, SIGINT and SIGHUP to the program, reaps orphans as
//     they exit, and, once the program has exited or on [stopSignal], kills
//     every remaining descendant with SIGKILL round by round (each round's
//     dead re-parent their children to it) until it has no child left.
//   - It then exits as the program did: the same exit status, or the same
//     signal re-raised on itself (with no core dump), so that callers see
//     exactly what a direct exec showed them before.
//
// The program is forked with raw system calls only, in [forkExec]: the rlimits
// apply to the program alone (the supervisor is a Go process whose address
// space an RLIMIT_AS sized for the program could not hold), and on Landlock
// ABI 6+ the program gets a nested Landlock domain that scopes signals, so it
// cannot kill its supervisor to orphan what it started. The supervisor's own
// Landlock domain is the outer one: it can signal everything below it.
//
// Descendants are found through /proc/self/task/<pid>/children, opened before
// Landlock applies (Landlock checks at open, not at read): the program is
// forked from the supervisor's main thread, and orphans are re-parented to it,
// the first live thread of its thread group.

func init() {
	// The supervisor forks the program from its main thread, the thread that
	// orphans are re-parented to, so that one list of children holds them
	// all (a program's clone(CLONE_PARENT) children included). Locking the
	// main goroutine here, during init, keeps Main on the main thread.
	if m := os.Getenv(childEnv); m == childExec || m == childCommand {
		runtime.LockOSThread()
	}
}

// stopSignal asks a supervisor to kill its program and everything the program
// started, then exit. It is also the supervisor's parent-death signal.
const stopSignal = syscall.SIGUSR2

// stopSupervisor sends stopSignal to a supervisor, the cmd.Cancel of both
// backends. A supervisor that has not registered its handler yet ignores
// the signal (a Go program ignores a SIGUSR2 it does not watch), so the
// request is repeated until the supervisor is gone; os.Process.Signal goes
// through a pidfd and never reaches a reused PID. The caller's WaitDelay
// SIGKILLs a supervisor that does not stop.
func stopSupervisor(p *os.Process) error {
	if err := p.Signal(stopSignal); err != nil {
		return err
	}
	go func() {
		for range 300 {
			time.Sleep(10 * time.Millisecond)
			if p.Signal(stopSignal) != nil {
				return
			}
		}
	}()
	return nil
}

const (
	prSetPdeathsig          = 1
	prSetChildSubreaper     = 36
	sysLandlockRestrictSelf = 446 // the same number on every architecture
	sigUnblock              = 1
	sigSetmask              = 2
	sigIgn                  = 1 // SIG_IGN
	landlockScopeABI        = 6 // first ABI with LANDLOCK_SCOPE_SIGNAL
)

// cloneStackFirst: on s390x, clone takes the new stack before the flags.
const cloneStackFirst = runtime.GOARCH == "s390x"

// Stages of the program's start that can fail in the forked child; the child
// reports the stage and errno on a close-on-exec pipe.
const (
	stageExec = iota + 1
	stageRlimit
	stageLandlock
)

type rlimitArg struct {
	res uintptr
	lim syscall.Rlimit
}

// forkArgs is everything the forked child needs, prepared before the fork:
// between fork and execve the child makes raw system calls only.
type forkArgs struct {
	path    *byte
	argv    []*byte
	envv    []*byte
	rlimits []rlimitArg
	ruleset int // nested Landlock domain to enter, or -1
	errW    int
	ppid    uintptr
	oldMask uint64
	act     [4]uint64 // rt_sigaction output (large enough for any architecture)
	dfl     [4]uint64 // SIG_DFL, no flags, empty mask
	msg     [2]uint64 // stage, errno
}

// forkExec forks and, in the child, resets signal handlers, arms the
// parent-death signal, enters the nested Landlock domain, applies the
// rlimits, restores the signal mask and executes the program. It returns the
// child's PID in the parent.
//
// The child is a copy of a multi-threaded Go process with one thread left:
// only nosplit, uninstrumented code runs there (no allocation, no stack
// growth, no scheduler), as in the syscall package's own fork. The caller has
// blocked every signal on its locked thread, so no Go signal handler can run
// in the child before the handlers are reset.
//
//go:norace
//go:nosplit
func forkExec(a *forkArgs) (int, syscall.Errno) {
	var r1 uintptr
	var e syscall.Errno
	if cloneStackFirst {
		r1, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, 0, uintptr(syscall.SIGCHLD), 0, 0, 0, 0)
	} else {
		r1, _, e = syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	if r1 != 0 {
		return int(r1), 0
	}
	// In the child.
	for sig := uintptr(1); sig < 65; sig++ {
		if sig == uintptr(syscall.SIGKILL) || sig == uintptr(syscall.SIGSTOP) {
			continue
		}
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, 0, uintptr(unsafe.Pointer(&a.act)), 8, 0, 0); e != 0 || a.act[0] == sigIgn {
			continue
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&a.dfl)), 0, 8, 0, 0)
	}
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGKILL), 0)
	if r, _, _ := syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0); r != a.ppid {
		childFail(a, stageExec, syscall.ESRCH)
	}
	if a.ruleset >= 0 {
		if _, _, e := syscall.RawSyscall(sysLandlockRestrictSelf, uintptr(a.ruleset), 0, 0); e != 0 {
			childFail(a, stageLandlock, e)
		}
	}
	for i := 0; i < len(a.rlimits); i++ {
		r := &a.rlimits[i]
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, r.res, uintptr(unsafe.Pointer(&r.lim)), 0, 0, 0); e != 0 {
			childFail(a, stageRlimit|uint64(r.res)<<8, e)
		}
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&a.oldMask)), 0, 8, 0, 0)
	_, _, e = syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)),
		uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])))
	childFail(a, stageExec, e)
	return 0, 0 // not reached
}

// childFail reports a failed stage to the supervisor and ends the forked child.
//
//go:norace
//go:nosplit
func childFail(a *forkArgs, stage uint64, e syscall.Errno) {
	a.msg[0], a.msg[1] = stage, uint64(e)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(a.errW), uintptr(unsafe.Pointer(&a.msg)), unsafe.Sizeof(a.msg))
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, exitChildSetup, 0, 0)
	}
}

// startProgram forks and executes the program of spec. It must run on a
// locked OS thread, which must outlive the program: the program's
// parent-death signal follows that thread.
func startProgram(spec childSpec, ruleset int) (int, error) {
	path, err := syscall.BytePtrFromString(spec.Path)
	if err != nil {
		return 0, fmt.Errorf("sandbox child: bad program path")
	}
	argv, err := syscall.SlicePtrFromStrings(spec.Args)
	if err != nil {
		return 0, fmt.Errorf("sandbox child: bad argument")
	}
	envv, err := syscall.SlicePtrFromStrings(spec.Env)
	if err != nil {
		return 0, fmt.Errorf("sandbox child: bad environment entry")
	}
	a := &forkArgs{path: path, argv: argv, envv: envv, ruleset: ruleset, ppid: uintptr(os.Getpid())}
	for res, v := range spec.Rlimits {
		a.rlimits = append(a.rlimits, rlimitArg{res: uintptr(res), lim: syscall.Rlimit{Cur: v, Max: v}})
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return 0, fmt.Errorf("sandbox child: pipe: %w", err)
	}
	a.errW = p[1]
	all := ^uint64(0)
	syscall.ForkLock.Lock()
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&a.oldMask)), 8, 0, 0)
	pid, e := forkExec(a)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&a.oldMask)), 0, 8, 0, 0)
	syscall.ForkLock.Unlock()
	syscall.Close(p[1])
	defer syscall.Close(p[0])
	if e != 0 {
		return 0, fmt.Errorf("sandbox child: fork: %w", e)
	}
	// The pipe closes on a successful execve; otherwise the child reports.
	var buf [16]byte
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(p[0], buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			break
		}
		n += m
	}
	runtime.KeepAlive(a)
	if n == 0 {
		return pid, nil
	}
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	if n < len(buf) {
		return 0, fmt.Errorf("sandbox child: exec %s failed", spec.Path)
	}
	stage := binary.NativeEndian.Uint64(buf[:8])
	errno := syscall.Errno(binary.NativeEndian.Uint64(buf[8:]))
	switch stage & 0xff {
	case stageRlimit:
		return 0, fmt.Errorf("sandbox child: rlimit %d: %v", stage>>8, errno)
	case stageLandlock:
		return 0, fmt.Errorf("sandbox child: landlock signal scope: %v", errno)
	}
	return 0, fmt.Errorf("sandbox child: exec %s failed: errno %d", spec.Path, int(errno))
}

// openChildren opens the list of the calling process's main thread's
// children. It must be called before Landlock applies.
func openChildren() (int, error) {
	pid := strconv.Itoa(os.Getpid())
	fd, err := syscall.Open("/proc/"+pid+"/task/"+pid+"/children", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("sandbox child: list of children (needs /proc and CONFIG_PROC_CHILDREN): %w", err)
	}
	return fd, nil
}

// supervisorSignals are the supervisor's signal notifications.
type supervisorSignals struct {
	chld chan os.Signal // SIGCHLD
	sigs chan os.Signal // stopSignal and the signals forwarded to the program
}

// notifySignals registers the supervisor's signal notifications. It must
// complete before the program starts: a stopSignal or SIGTERM that arrived
// unregistered would be lost or end the supervisor without its clean-up.
// (os/signal makes a round trip to a helper thread for each signal, about
// half a millisecond in all; registering them while Main confines itself is
// slower still, as go-landlock's all-thread restriction then races the new
// thread.)
func notifySignals() *supervisorSignals {
	sc := &supervisorSignals{chld: make(chan os.Signal, 1), sigs: make(chan os.Signal, 8)}
	signal.Notify(sc.chld, syscall.SIGCHLD)
	signal.Notify(sc.sigs, stopSignal, syscall.SIGTERM)
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGHUP} {
		// An ignored signal stays ignored, for the program too.
		if !signal.Ignored(s) {
			signal.Notify(sc.sigs, s)
		}
	}
	return sc
}

// supervise runs the program of spec as a confined process's child and never
// returns: see the comment at the top of this file. status is the setup
// failure stream, closed once the program runs when it is the status pipe
// of [Process.Exec].
func supervise(spec childSpec, mode string, children int, status *os.File, fail func(string, ...any)) {
	runtime.LockOSThread() // never unlocked: the program's parent-death signal follows this thread
	if syscall.Gettid() != os.Getpid() {
		fail("sandbox child: Main must be called from the main goroutine")
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		fail("sandbox child: subreaper: %v", e)
	}
	sc := notifySignals()
	// The parent-death signal is stopSignal, handled from here on; a parent
	// that died before is caught here.
	if spec.Parent != 0 && os.Getppid() != spec.Parent {
		fail("sandbox child: parent exited")
	}
	ruleset := -1
	if LandlockABI() >= landlockScopeABI {
		fd, err := llsyscall.LandlockCreateRuleset(&llsyscall.RulesetAttr{Scoped: llsyscall.ScopeSignal}, 0)
		if err != nil {
			fail("sandbox child: landlock signal scope: %v", err)
		}
		ruleset = fd
	}
	pid, err := startProgram(spec, ruleset)
	if ruleset >= 0 {
		syscall.Close(ruleset)
	}
	if err != nil {
		fail("%v", err)
	}
	if mode == childExec && status != nil {
		status.Close()
	}
	s := &supervisor{prog: pid, alive: true, children: children}
	s.run(sc.chld, sc.sigs)
	s.killAll()
	s.exit()
}

type supervisor struct {
	prog     int
	alive    bool // prog not yet reaped
	status   syscall.WaitStatus
	children int // fd of the main thread's children list
	buf      []byte
}

// run waits for the program to exit or for stopSignal, forwarding the other
// signals and reaping orphans meanwhile. Reaping happens only here, so the
// program's PID cannot be reused while a signal is forwarded to it.
func (s *supervisor) run(chld, sigs <-chan os.Signal) {
	// A lost SIGCHLD cannot stall the supervisor.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	s.reap()
	for s.alive {
		select {
		case <-chld:
			s.reap()
		case <-tick.C:
			s.reap()
		case sig := <-sigs:
			if sig == stopSignal {
				return
			}
			if n, ok := sig.(syscall.Signal); ok {
				syscall.Kill(s.prog, n)
			}
		}
	}
}

// reap collects every exited child without blocking. It reports false when
// the supervisor has no child left at all.
func (s *supervisor) reap() bool {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return false // ECHILD
		}
		if pid <= 0 {
			return true
		}
		if pid == s.prog && s.alive {
			s.status, s.alive = ws, false
		}
	}
}

// killAll kills the program and every descendant, round by round, until the
// supervisor has no child left. A killed process's children are re-parented
// to the supervisor before the killed one can be reaped, so no child at all
// means no descendant at all.
func (s *supervisor) killAll() {
	if s.alive {
		syscall.Kill(s.prog, syscall.SIGKILL)
	}
	delay := 50 * time.Microsecond
	for {
		for _, pid := range s.listChildren() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if !s.reap() {
			return
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// listChildren reads the PIDs of the main thread's children.
func (s *supervisor) listChildren() []int {
	if s.buf == nil {
		s.buf = make([]byte, 4096)
	}
	var n int
	for {
		var err error
		n, err = syscall.Pread(s.children, s.buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n < 0 {
			return nil
		}
		if n < len(s.buf) {
			break
		}
		s.buf = make([]byte, 2*len(s.buf))
	}
	var pids []int
	for _, f := range bytes.Fields(s.buf[:n]) {
		if pid, err := strconv.Atoi(string(f)); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// exit ends the supervisor as its program ended: the same exit status, or the
// same signal.
func (s *supervisor) exit() {
	ws := s.status
	switch {
	case ws.Exited():
		os.Exit(ws.ExitStatus())
	case ws.Signaled():
		sig := ws.Signal()
		// No core file from the supervisor for the program's SIGSEGV or SIGXCPU.
		syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
		var dfl [4]uint64
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		mask := uint64(1) << (uint(sig) - 1)
		syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigUnblock, uintptr(unsafe.Pointer(&mask)), 0, 8, 0, 0)
		syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig)
		os.Exit(128 + int(sig))
	}
	os.Exit(exitChildSetup)
}
