package guard

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Option configures one stage of the chain.
type Option func(*stageConfig)

type stageConfig struct {
	stage     Stage
	mode      Mode
	timeout   time.Duration
	auditor   Auditor
	auditArgs bool
}

// WithMode sets the stage's mode. The default is [Enforce].
func WithMode(m Mode) Option { return func(c *stageConfig) { c.mode = m } }

// WithTimeout bounds how long the stage's check may take. A check still running
// when d has passed is abandoned and the call denied (fail closed). The check is
// given a context that ends at the deadline; a check that ignores its context keeps
// running in its goroutine until it returns. Zero (the default) means the check is
// bounded only by the caller's context.
func WithTimeout(d time.Duration) Option { return func(c *stageConfig) { c.timeout = d } }

// WithAuditor sends the stage's decisions to a. By default decisions are not
// recorded; use [SlogAuditor] to log them.
func WithAuditor(a Auditor) Option { return func(c *stageConfig) { c.auditor = a } }

// WithAuditArgs copies the call's raw arguments into the stage's audit events. Off
// by default: arguments may carry personal data. Secret values are never in them
// before the secrets stage, which runs after every checking stage.
func WithAuditArgs() Option { return func(c *stageConfig) { c.auditArgs = true } }

// WithStage renames the stage in denials and audit events, for a check used at
// another position (a [Scoper] that enforces budgets runs as [StageBudget]).
func WithStage(s Stage) Option { return func(c *stageConfig) { c.stage = s } }

func newStage(def Stage, impl any, opts []Option) (*stageConfig, error) {
	if isNil(impl) {
		return nil, fmt.Errorf("guard: %s stage: %w", def, ErrNilPolicy)
	}
	cfg := &stageConfig{stage: def}
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	if cfg.mode > Monitor {
		return nil, fmt.Errorf("guard: %s stage: invalid mode %v", cfg.stage, cfg.mode)
	}
	if cfg.timeout < 0 {
		return nil, fmt.Errorf("guard: %s stage: negative timeout %v", cfg.stage, cfg.timeout)
	}
	return cfg, nil
}

// refuseAll is what a stage constructor returns beside its error: a middleware
// that refuses every call. A caller that drops the error (x, _ := Authorize(nil))
// still fails closed instead of running tools unguarded.
func refuseAll(stage Stage, err error) Middleware {
	return func(Handler) Handler {
		return HandlerFunc(func(_ context.Context, c *Call) (*Result, error) {
			return nil, &DenialError{Stage: stage, Rule: "stage.invalid", Reason: "the stage was built with an error; refusing every call",
				CallID: c.ID, Tool: c.Tool, Err: err}
		})
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// run executes check for c under the stage's rules and returns nil when the call may
// go on. Denials, errors, panics and timeouts are turned into a *DenialError; in
// monitor mode they are recorded and nil is returned.
// checkFunc is a stage's check. It is bound once when the middleware is built, so
// running it allocates nothing per call. r is the tool's result for stages on the
// way back and nil before the tool. A check that rewrites the result returns the new
// one; otherwise it returns nil.
type checkFunc func(ctx context.Context, c *Call, r *Result) (*Result, error)

func (s *stageConfig) run(ctx context.Context, c *Call, r *Result, check checkFunc) (*Result, error) {
	if err := ctx.Err(); err != nil {
		// Cancellation is honoured before any work, and never turns into an allow.
		return nil, s.decide(ctx, c, time.Time{}, &DenialError{Rule: "context", Reason: "call cancelled", Err: err})
	}
	var start time.Time
	if s.auditor != nil {
		start = time.Now()
	}
	var (
		out *Result
		err error
	)
	if s.timeout > 0 {
		out, err = s.runWithTimeout(ctx, c, r, check)
	} else {
		out, err = safeCheck(ctx, c, r, check)
	}
	if err == nil {
		if s.auditor != nil {
			d := DecisionAllow
			if out != nil {
				d = DecisionRewrite
			}
			if !safeAudit(ctx, s.auditor, s.event(c, d, start)) {
				// A decision that cannot be recorded is not taken: deny.
				return nil, &DenialError{Stage: s.stage, Rule: "audit.failed", Reason: "the auditor panicked; denying (fail closed)",
					CallID: c.ID, Tool: c.Tool}
			}
		}
		return out, nil
	}
	return nil, s.decide(ctx, c, start, err)
}

// safeAudit sends e to a and reports whether it returned normally.
func safeAudit(ctx context.Context, a Auditor, e Event) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	a.Audit(ctx, e)
	return true
}

func (s *stageConfig) runWithTimeout(ctx context.Context, c *Call, r *Result, check checkFunc) (*Result, error) {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	type outcome struct {
		r   *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		out, err := safeCheck(tctx, c, r, check)
		done <- outcome{out, err}
	}()
	select {
	case o := <-done:
		return o.r, o.err
	case <-tctx.Done():
		return nil, &DenialError{Rule: "timeout", Reason: fmt.Sprintf("check exceeded %v", s.timeout), Err: tctx.Err()}
	}
}

// safeCheck runs check and converts a panic into an error: a check that panics
// denies, it does not crash the agent.
func safeCheck(ctx context.Context, c *Call, r *Result, check checkFunc) (out *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &DenialError{Rule: "panic", Reason: "check panicked", Err: fmt.Errorf("panic: %v", p)}
		}
	}()
	return check(ctx, c, r)
}

// decide turns a failed check into the stage's answer.
func (s *stageConfig) decide(ctx context.Context, c *Call, start time.Time, err error) error {
	d := s.denial(c, err)
	decision := DecisionDeny
	var de *DenialError
	switch {
	case d.Pending:
		decision = DecisionPending
	case !errors.As(err, &de) && !errors.Is(err, ErrDenied):
		decision = DecisionError
	case d.Rule == "panic" || d.Rule == "timeout" || d.Rule == "context":
		decision = DecisionError
	}
	monitored := s.mode == Monitor && d.Rule != "context"
	if monitored {
		decision = DecisionMonitored
	}
	if s.auditor != nil {
		e := s.event(c, decision, start)
		e.Rule, e.Reason = d.Rule, d.Reason
		if !safeAudit(ctx, s.auditor, e) && monitored {
			// Monitor mode lets a would-be denial through only if it was recorded.
			return d
		}
	}
	if monitored {
		return nil
	}
	return d
}

// denial returns a copy of err as a *DenialError with the stage and call filled in.
func (s *stageConfig) denial(c *Call, err error) *DenialError {
	var d DenialError
	var src *DenialError
	if errors.As(err, &src) {
		d = *src
	} else {
		d = DenialError{Rule: "check.error", Reason: "check failed; denying (fail closed)", Err: err}
	}
	if d.Stage == "" {
		d.Stage = s.stage
	}
	if d.CallID == "" {
		d.CallID = c.ID
	}
	if d.Tool == "" {
		d.Tool = c.Tool
	}
	return &d
}

func (s *stageConfig) event(c *Call, d Decision, start time.Time) Event {
	e := newEvent(s.stage, s.mode, c) // reads the clock once: e.Time is the check's end
	e.Decision = d
	if !start.IsZero() {
		e.Duration = e.Time.Sub(start)
	}
	if s.auditArgs {
		e.Args = c.Args
	}
	return e
}
