package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/agentguard/agentguard/guard"
)

// Session is one long-lived interpreter that keeps its state (variables,
// imports, definitions) from one run to the next, as hosted code interpreters
// do. It has its own module instance, memory and scratch directory; nothing is
// shared with any other session. Runs in a session are serialised.
//
// A run that hits the time or output limit ends the session (the interpreter is
// stopped mid-run and cannot be resumed); later runs return [ErrSessionEnded].
// A program that exits (sys.exit is caught; os._exit is not) ends it too.
type Session struct {
	w     *Wasm
	lang  string
	mu    sync.Mutex // one run at a time
	stdin *pipe
	out   *sessionOut
	in    *instance
	kill  context.CancelFunc
	done  chan struct{} // closed when the guest has returned
	err   error         // the guest's return, valid after done
	once  sync.Once
}

// ErrSessionEnded is returned by a run in a session whose interpreter has
// stopped.
var ErrSessionEnded = errors.New("sandbox: session ended")

var _ guard.Sandbox = (*Session)(nil)

// bootstrap is the Python program a session runs: it reads framed programs
// from stdin ("<source bytes> <stdin bytes>\n" then the bytes), runs each in
// one persistent namespace, and ends each run with a marker line on fd 1 that
// carries the run's exit status. The marker's nonce is random per session so
// ordinary output cannot end a run by accident.
const bootstrap = `import sys, io, os, traceback
def _agentguard_session(_in=sys.stdin.buffer, _nonce=%q, _w=os.write, _tb=traceback):
    _g = {"__name__": "__main__", "__builtins__": __builtins__}
    def _run(_src, _stdin, _g):
        sys.stdin = io.TextIOWrapper(io.BytesIO(_stdin))
        _rc = 0
        try:
            exec(compile(_src.decode("utf-8", "replace"), "<run>", "exec"), _g)
        except SystemExit as _e:
            _c = _e.code
            if _c is None:
                _rc = 0
            elif isinstance(_c, int):
                _rc = _c & 0xff
            else:
                print(_c, file=sys.stderr)
                _rc = 1
        except BaseException:
            _tb.print_exc()
            _rc = 1
        for _s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                _s.flush()
            except BaseException:
                pass
        return _rc
    # Warm up (the first run pays for lazy initialisation) before the host
    # sees the interpreter as ready, in a namespace that is then dropped.
    _run(b"pass", b"", {"__name__": "__main__", "__builtins__": __builtins__})
    while True:
        _h = _in.readline()
        if not _h:
            return
        try:
            _n, _m = map(int, _h.split())
        except ValueError:
            return
        _src = _in.read(_n)
        _rc = _run(_src, _in.read(_m), _g)
        _w(1, b"\x1e" + _nonce.encode() + b" " + str(_rc).encode() + b"\n")
_agentguard_session()
`

// NewSession starts an interpreter for lang (only [LangPython] keeps state this
// way). The session lives until Close or until a limit ends it; ctx only bounds
// the start.
func (w *Wasm) NewSession(ctx context.Context, lang string) (*Session, error) {
	if lang != LangPython {
		return nil, fmt.Errorf("sandbox: sessions support %q only, not %q", LangPython, lang)
	}
	_, mod, err := w.lang(ctx, lang)
	if err != nil {
		return nil, err
	}
	s, err := w.startSession(mod, lang)
	if err != nil {
		return nil, err
	}
	// Pay the interpreter's start-up here, not in the first run's time limit.
	ready := make(chan struct{})
	go func() {
		s.stdin.waitReader()
		close(ready)
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		s.Close()
		<-ready
		return nil, fmt.Errorf("sandbox: session start: %w", ctx.Err())
	}
	select {
	case <-s.done:
		s.Close()
		return nil, fmt.Errorf("sandbox: session interpreter exited at start: %v", s.err)
	default:
	}
	return s, nil
}

func (w *Wasm) startSession(mod wazero.CompiledModule, lang string) (*Session, error) {
	var nonce [12]byte
	rand.Read(nonce[:])
	n := hex.EncodeToString(nonce[:])
	sctx, kill := context.WithCancel(context.Background())
	s := &Session{w: w, lang: lang, stdin: newPipe(), kill: kill, done: make(chan struct{})}
	s.out = &sessionOut{marker: []byte("\x1e" + n + " "), limit: w.cfg.MaxOutput, stop: s.stop}
	in, err := w.newInstance([]string{"python", "-I", "-S", "-c", fmt.Sprintf(bootstrap, n)}, s.stdin, s.stop, sctx.Done())
	if err != nil {
		kill()
		return nil, err
	}
	in.stdout = nil
	in.stderr = nil
	in.cfg = in.cfg.WithStdout(s.out.stdoutWriter()).WithStderr(s.out.stderrWriter())
	s.in = in
	go func() {
		defer close(s.done)
		defer s.stdin.Close()
		s.err = w.instantiate(sctx, w.rt, mod, in)
	}()
	return s, nil
}

// stop kills the interpreter.
func (s *Session) stop() {
	s.kill()
	s.stdin.Close()
}

// Close stops the interpreter, waits for it and removes its scratch directory.
func (s *Session) Close() error {
	s.once.Do(func() {
		s.stop()
		<-s.done
		s.in.cleanup()
	})
	return nil
}

// Exec runs code in the session's interpreter. code.Lang must be the session's
// language (or empty); code.Args is not supported.
func (s *Session) Exec(ctx context.Context, code guard.Code) (*guard.Execution, error) {
	if code.Lang != "" && code.Lang != s.lang {
		return nil, fmt.Errorf("sandbox: %s session cannot run %q code", s.lang, code.Lang)
	}
	if len(code.Args) > 0 {
		return nil, errors.New("sandbox: session runs take no arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return nil, ErrSessionEnded
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, s.w.cfg.Timeout)
	defer cancel()
	r := s.out.begin()
	s.in.mem.hit.Store(false)
	s.in.quota.hit.Store(false)
	frame := fmt.Appendf(nil, "%d %d\n", len(code.Source), len(code.Stdin))
	frame = append(append(frame, code.Source...), code.Stdin...)
	s.stdin.Write(frame)

	ended := false
	select {
	case <-r.done:
	case <-s.done:
		ended = true
	case <-rctx.Done():
		s.stop()
		<-s.done
		ended = true
	}
	stdout, stderr, exitCode, outHit, finished := s.out.end(r)
	ex := &guard.Execution{Stdout: stdout, Stderr: stderr, ExitCode: exitCode, Duration: time.Since(start)}
	if ended && !finished {
		// The interpreter stopped during the run: it exited, or a limit killed it.
		in := &instance{mem: s.in.mem, quota: s.in.quota,
			stdout: &cappedWriter{buf: stdout, hit: outHit}, stderr: &cappedWriter{buf: stderr}}
		return s.w.outcome(ctx, rctx, in, s.err, start)
	}
	limit, err := classify(ctx, rctx, outHit, s.in.mem.hit.Load(), s.in.quota.hit.Load(), exitCode)
	if err != nil {
		return nil, err
	}
	ex.LimitHit = limit
	return ex, nil
}

// sessionOut splits a session's output stream into runs at the marker lines.
type sessionOut struct {
	mu     sync.Mutex
	marker []byte
	limit  int
	stop   func()
	cur    *sessionRun
}

type sessionRun struct {
	stdout, stderr []byte
	hit            bool
	finished       bool
	exitCode       int
	done           chan struct{}
}

func (o *sessionOut) begin() *sessionRun {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cur = &sessionRun{done: make(chan struct{})}
	return o.cur
}

func (o *sessionOut) end(r *sessionRun) (stdout, stderr []byte, exitCode int, hit, finished bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cur = nil
	return r.stdout, r.stderr, r.exitCode, r.hit, r.finished
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (o *sessionOut) stdoutWriter() io.Writer {
	return writerFunc(func(p []byte) (int, error) { return o.write(p, false) })
}
func (o *sessionOut) stderrWriter() io.Writer {
	return writerFunc(func(p []byte) (int, error) { return o.write(p, true) })
}

func (o *sessionOut) write(p []byte, isErr bool) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.cur
	if r == nil || r.finished {
		return len(p), nil // between runs (start-up noise): dropped
	}
	if r.hit {
		return 0, errOutputLimit
	}
	if isErr {
		if len(r.stderr)+len(p) > o.limit {
			r.stderr = append(r.stderr, p[:max(o.limit-len(r.stderr), 0)]...)
			r.hit = true
			o.stop()
			return 0, errOutputLimit
		}
		r.stderr = append(r.stderr, p...)
		return len(p), nil
	}
	// A marker line may have started in an earlier write: look back over a
	// whole marker line ("\x1e" nonce " " status "\n").
	from := max(len(r.stdout)-len(o.marker)-8, 0)
	r.stdout = append(r.stdout, p...)
	if i := bytes.Index(r.stdout[from:], o.marker); i >= 0 {
		i += from
		rest := r.stdout[i+len(o.marker):]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			code, err := strconv.Atoi(string(rest[:j]))
			if err == nil {
				r.stdout = r.stdout[:i]
				if len(r.stdout) > o.limit {
					r.stdout = r.stdout[:o.limit]
					r.hit = true
					o.stop()
				}
				r.exitCode = code
				r.finished = true
				close(r.done)
				return len(p), nil
			}
		}
	}
	if len(r.stdout) > o.limit+len(o.marker)+8 {
		r.stdout = r.stdout[:o.limit]
		r.hit = true
		o.stop()
		return 0, errOutputLimit
	}
	return len(p), nil
}

// pipe is an unbounded in-memory pipe: writes never block (the host must not
// wait on a guest that may be dead) and reads block until data or Close.
type pipe struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	closed  bool
	waiting bool // a reader has blocked for data
}

// waitReader blocks until a reader has found the pipe empty and waited, or the
// pipe is closed.
func (p *pipe) waitReader() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.waiting && !p.closed {
		p.cond.Wait()
	}
}

func newPipe() *pipe {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, io.ErrClosedPipe
	}
	p.buf = append(p.buf, b...)
	p.cond.Broadcast()
	return len(b), nil
}

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && !p.closed {
		if !p.waiting {
			p.waiting = true
			p.cond.Broadcast()
		}
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

func (p *pipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.buf = nil
	p.cond.Broadcast()
	return nil
}

// pool keeps prepared interpreters: started, imports done, waiting for their
// first program. Each is used for one run and then closed, so pooled one-shot
// runs share nothing either.
type pool struct {
	w      *Wasm
	ready  chan *Session
	fill   chan struct{}
	mu     sync.Mutex
	closed bool
	broken bool // the interpreter cannot be prepared (not installed)
	wg     sync.WaitGroup
}

func newPool(w *Wasm, size int) *pool {
	p := &pool{w: w, ready: make(chan *Session, size), fill: make(chan struct{}, size)}
	for range size {
		p.fill <- struct{}{}
	}
	p.wg.Add(1)
	go p.filler()
	return p
}

// filler starts one interpreter per token in p.fill, one at a time so the pool
// never competes with runs for more than one core.
func (p *pool) filler() {
	defer p.wg.Done()
	for range p.fill {
		_, mod, err := p.w.lang(context.Background(), LangPython)
		if err != nil {
			p.w.log.Debug("sandbox: pool cannot prepare python", "err", err)
			p.mu.Lock()
			p.broken = true
			p.mu.Unlock()
			continue // one-shot runs start their own and report the error
		}
		s, err := p.w.startSession(mod, LangPython)
		if err != nil {
			p.w.log.Warn("sandbox: pool start", "err", err)
			continue
		}
		// Let the interpreter reach its first read so the start-up is paid here.
		s.stdin.waitReader()
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			s.Close()
			return
		}
		p.ready <- s
		p.mu.Unlock()
	}
}

// get returns a prepared interpreter: a ready one, or the one being prepared
// (which is sooner than starting another), or nil when the pool cannot help.
func (p *pool) get(ctx context.Context) *Session {
	var s *Session
	select {
	case s = <-p.ready:
	default:
		p.mu.Lock()
		waitable := !p.broken && !p.closed
		p.mu.Unlock()
		if !waitable {
			return nil
		}
		select {
		case s = <-p.ready:
		case <-ctx.Done():
			return nil
		}
	}
	p.mu.Lock()
	if !p.closed {
		select {
		case p.fill <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()
	return s
}

// waitReady blocks until at least one interpreter is ready (for benchmarks).
func (p *pool) waitReady() {
	for len(p.ready) == 0 {
		time.Sleep(time.Millisecond)
	}
}

func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.fill)
	p.mu.Unlock()
	p.wg.Wait()
	for {
		select {
		case s := <-p.ready:
			s.Close()
		default:
			return
		}
	}
}
