package guardtest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// Concurrency is the number of goroutines the conformance checks use to exercise
// an implementation concurrently. Run the checks with -race to make them count.
const Concurrency = 8

// ScoperCases are the calls a [guard.Scoper] under test must allow and deny.
type ScoperCases struct {
	Allow []*guard.Call
	Deny  []*guard.Call
}

// TestScoper checks that s allows and denies the given calls, that a denial matches
// [guard.ErrDenied] and never reaches the next handler, that s does not mutate the
// call, that a cancelled context never turns into an allow, and that s is safe for
// concurrent use.
func TestScoper(t *testing.T, s guard.Scoper, cases ScoperCases) {
	t.Helper()
	if len(cases.Allow)+len(cases.Deny) == 0 {
		t.Fatal("guardtest: TestScoper needs at least one case")
	}
	mw, err := guard.Authorize(s)
	if err != nil {
		t.Fatalf("guard.Authorize: %v", err)
	}
	TestMiddleware(t, mw, cases.Allow, cases.Deny)
	t.Run("PureCheck", func(t *testing.T) {
		for _, c := range cases.Allow {
			if err := s.Authorize(context.Background(), c.Clone()); err != nil {
				t.Errorf("Authorize(%s) = %v, want nil", c.Tool, err)
			}
		}
		for _, c := range cases.Deny {
			if err := s.Authorize(context.Background(), c.Clone()); err == nil {
				t.Errorf("Authorize(%s) = nil, want a denial", c.Tool)
			}
		}
	})
}

// TestMiddleware checks a guard middleware against calls it must let through and
// calls it must stop: allowed calls reach the next handler (exactly once), denied
// calls never do and return an error matching [guard.ErrDenied], no call is mutated,
// a cancelled context does not reach the tool, and concurrent use is safe.
func TestMiddleware(t *testing.T, mw guard.Middleware, allow, deny []*guard.Call) {
	t.Helper()
	if mw == nil {
		t.Fatal("guardtest: nil middleware")
	}
	run := func(ctx context.Context, c *guard.Call) (reached int, err error) {
		var mu sync.Mutex
		h := mw(guard.HandlerFunc(func(ctx context.Context, got *guard.Call) (*guard.Result, error) {
			mu.Lock()
			reached++
			mu.Unlock()
			return &guard.Result{Content: "ok"}, nil
		}))
		_, err = h.Handle(ctx, c)
		return reached, err
	}
	t.Run("Allow", func(t *testing.T) {
		for _, c := range allow {
			before := c.Clone()
			n, err := run(context.Background(), c)
			if err != nil {
				t.Errorf("%s: got error %v, want allow", name(c), err)
			}
			if n != 1 {
				t.Errorf("%s: next called %d times, want 1", name(c), n)
			}
			if !reflect.DeepEqual(before, c) {
				t.Errorf("%s: call was mutated", name(c))
			}
		}
	})
	t.Run("Deny", func(t *testing.T) {
		for _, c := range deny {
			before := c.Clone()
			n, err := run(context.Background(), c)
			if err == nil {
				t.Errorf("%s: allowed, want denial", name(c))
			} else if !errors.Is(err, guard.ErrDenied) {
				t.Errorf("%s: error %v does not match guard.ErrDenied", name(c), err)
			}
			if n != 0 {
				t.Errorf("%s: a denied call reached the next handler %d times", name(c), n)
			}
			if !reflect.DeepEqual(before, c) {
				t.Errorf("%s: call was mutated", name(c))
			}
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, c := range append(append([]*guard.Call(nil), allow...), deny...) {
			n, err := run(ctx, c)
			if err == nil && n > 0 {
				t.Errorf("%s: cancelled call reached the tool", name(c))
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan string, Concurrency*(len(allow)+len(deny)))
		for range Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, c := range allow {
					if _, err := run(context.Background(), c); err != nil {
						errs <- name(c) + ": allow turned into " + err.Error()
					}
				}
				for _, c := range deny {
					if n, err := run(context.Background(), c); err == nil || n != 0 {
						errs <- name(c) + ": denial turned into allow under concurrency"
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}

func name(c *guard.Call) string {
	if c == nil {
		return "<nil call>"
	}
	if c.ID != "" {
		return c.Tool + "#" + c.ID
	}
	return c.Tool + " " + string(c.Args)
}

// ArgValidatorCases are the calls a [guard.ArgValidator] must accept and reject.
type ArgValidatorCases struct {
	Valid   []*guard.Call
	Invalid []*guard.Call
}

// TestArgValidator checks v through [guard.ValidateArgs] with [TestMiddleware], and
// that a validator that also implements [guard.ArgNormalizer] returns canonical
// arguments that validate again to themselves.
func TestArgValidator(t *testing.T, v guard.ArgValidator, cases ArgValidatorCases) {
	t.Helper()
	mw, err := guard.ValidateArgs(v)
	if err != nil {
		t.Fatalf("guard.ValidateArgs: %v", err)
	}
	TestMiddleware(t, mw, cases.Valid, cases.Invalid)
	norm, ok := v.(guard.ArgNormalizer)
	if !ok {
		return
	}
	t.Run("Normalize", func(t *testing.T) {
		for _, c := range cases.Valid {
			canon, err := norm.NormalizeArgs(context.Background(), c)
			if err != nil {
				t.Errorf("%s: NormalizeArgs: %v", name(c), err)
				continue
			}
			again, err := norm.NormalizeArgs(context.Background(), c.WithArgs(canon))
			if err != nil {
				t.Errorf("%s: canonical args %s do not validate: %v", name(c), canon, err)
				continue
			}
			if string(again) != string(canon) {
				t.Errorf("%s: normalising is not idempotent: %s then %s", name(c), canon, again)
			}
		}
	})
}

// DetectorCases are texts an [guard.InjectionDetector] must flag and pass.
type DetectorCases struct {
	Injections []guard.Text
	Benign     []guard.Text
}

// TestInjectionDetector checks that d flags every injection and passes every benign
// text, that scores lie in [0, 1], that results are deterministic, that it is safe
// for concurrent use, and that a cancelled context is not turned into "benign"
// silently (an error or a detection are both acceptable).
func TestInjectionDetector(t *testing.T, d guard.InjectionDetector, cases DetectorCases) {
	t.Helper()
	check := func(t *testing.T, in guard.Text, want bool) {
		det, err := d.DetectInjection(context.Background(), in)
		if err != nil {
			t.Errorf("DetectInjection(%.40q): %v", in.Content, err)
			return
		}
		if det.Injection != want {
			t.Errorf("DetectInjection(%.60q) = %v (score %.3f), want %v", in.Content, det.Injection, det.Score, want)
		}
		if det.Score < 0 || det.Score > 1 || det.Score != det.Score {
			t.Errorf("DetectInjection(%.40q): score %v outside [0,1]", in.Content, det.Score)
		}
	}
	t.Run("Injections", func(t *testing.T) {
		for _, in := range cases.Injections {
			check(t, in, true)
		}
	})
	t.Run("Benign", func(t *testing.T) {
		for _, in := range cases.Benign {
			check(t, in, false)
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		for _, in := range append(append([]guard.Text(nil), cases.Injections...), cases.Benign...) {
			a, errA := d.DetectInjection(context.Background(), in)
			b, errB := d.DetectInjection(context.Background(), in)
			if (errA == nil) != (errB == nil) || a.Injection != b.Injection || a.Score != b.Score {
				t.Errorf("DetectInjection(%.40q) not deterministic: %+v/%v then %+v/%v", in.Content, a, errA, b, errB)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, in := range cases.Injections {
					if det, err := d.DetectInjection(context.Background(), in); err == nil && !det.Injection {
						t.Errorf("concurrent DetectInjection(%.40q) missed", in.Content)
					}
				}
			}()
		}
		wg.Wait()
	})
	t.Run("Middleware", func(t *testing.T) {
		mw, err := guard.ScanResults(d)
		if err != nil {
			t.Fatalf("guard.ScanResults: %v", err)
		}
		for _, in := range cases.Injections {
			h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
				return &guard.Result{Content: in.Content}, nil
			}))
			r, err := h.Handle(context.Background(), &guard.Call{ID: "t", Tool: "fetch"})
			if err == nil || !errors.Is(err, guard.ErrDenied) || r != nil {
				t.Errorf("injected tool result %.40q reached the model (err %v)", in.Content, err)
			}
		}
	})
}

// ResolverCases are the references a [guard.SecretResolver] must resolve and refuse.
type ResolverCases struct {
	// Call is put into the context (the call the secret is resolved for).
	Call *guard.Call
	// Known maps names to the values they must resolve to.
	Known map[string]string
	// Unknown names must be refused with an error.
	Unknown []string
}

// TestSecretResolver checks that r resolves known references to the right value,
// refuses unknown ones, never lets a value show through the Secret's String,
// GoString or JSON forms, and is safe for concurrent use.
func TestSecretResolver(t *testing.T, r guard.SecretResolver, cases ResolverCases) {
	t.Helper()
	call := cases.Call
	if call == nil {
		call = &guard.Call{ID: "conformance", Tool: "conformance"}
	}
	ctx := guard.ContextWithCall(context.Background(), call)
	t.Run("Known", func(t *testing.T) {
		for name, want := range cases.Known {
			s, err := r.ResolveSecret(ctx, name)
			if err != nil {
				t.Errorf("ResolveSecret(%q): %v", name, err)
				continue
			}
			if !s.Equal(want) {
				t.Errorf("ResolveSecret(%q): wrong value", name)
			}
			for _, shown := range []string{s.String(), s.GoString(), mustJSON(s)} {
				if want != "" && contains(shown, want) {
					t.Errorf("ResolveSecret(%q): value shows through %q", name, shown)
				}
			}
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		for _, name := range cases.Unknown {
			if s, err := r.ResolveSecret(ctx, name); err == nil {
				t.Errorf("ResolveSecret(%q) = %v, want an error", name, s)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for name, want := range cases.Known {
					if s, err := r.ResolveSecret(ctx, name); err != nil || !s.Equal(want) {
						t.Errorf("concurrent ResolveSecret(%q) failed: %v", name, err)
					}
				}
			}()
		}
		wg.Wait()
	})
}

// SandboxCases drive [TestSandbox].
type SandboxCases struct {
	// OK runs to completion and prints WantStdout.
	OK         guard.Code
	WantStdout string
	// Forever never ends on its own (an infinite loop).
	Forever guard.Code
	// Deadline bounds Forever; the sandbox must return within Deadline plus
	// Slack. Defaults: 200ms and 100ms.
	Deadline, Slack time.Duration
}

// TestSandbox checks that sb runs a program and captures its output, stops a program
// that runs forever when the context's deadline passes (reporting [guard.LimitTime]
// or an error wrapping context.DeadlineExceeded), and is safe for concurrent use.
func TestSandbox(t *testing.T, sb guard.Sandbox, cases SandboxCases) {
	t.Helper()
	if cases.Deadline == 0 {
		cases.Deadline = 200 * time.Millisecond
	}
	if cases.Slack == 0 {
		cases.Slack = 100 * time.Millisecond
	}
	t.Run("Runs", func(t *testing.T) {
		ex, err := sb.Exec(context.Background(), cases.OK)
		if err != nil {
			t.Fatalf("Exec: %v", err)
		}
		if string(ex.Stdout) != cases.WantStdout {
			t.Errorf("stdout = %q, want %q", ex.Stdout, cases.WantStdout)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), cases.Deadline)
		defer cancel()
		start := time.Now()
		ex, err := sb.Exec(ctx, cases.Forever)
		took := time.Since(start)
		if err == nil && (ex == nil || ex.LimitHit != guard.LimitTime) {
			t.Errorf("infinite loop finished without a time limit: %+v", ex)
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("infinite loop: error %v does not wrap context.DeadlineExceeded", err)
		}
		if took > cases.Deadline+cases.Slack {
			t.Logf("deadline overshot: took %v for a %v deadline", took, cases.Deadline)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ex, err := sb.Exec(context.Background(), cases.OK)
				if err != nil || string(ex.Stdout) != cases.WantStdout {
					t.Errorf("concurrent Exec: %v", err)
				}
			}()
		}
		wg.Wait()
	})
}

// OutputFilterCases are outputs an [guard.OutputFilter] must let through (allowed
// or rewritten) and block.
type OutputFilterCases struct {
	Allowed []*guard.Output
	Blocked []*guard.Output
}

// TestOutputFilter checks verdicts, that the filter does not mutate its input, that
// a rewrite carries text, and concurrent safety.
func TestOutputFilter(t *testing.T, f guard.OutputFilter, cases OutputFilterCases) {
	t.Helper()
	check := func(t *testing.T, out *guard.Output, wantBlock bool) {
		before := *out
		v, err := f.FilterOutput(context.Background(), out)
		if err != nil {
			t.Errorf("FilterOutput(%.40q): %v", out.Text, err)
			return
		}
		if (v.Action == guard.Block) != wantBlock {
			t.Errorf("FilterOutput(%.60q) = %v, want block=%v", out.Text, v.Action, wantBlock)
		}
		if v.Action == guard.Rewrite && v.Text == "" && out.Text != "" {
			t.Errorf("FilterOutput(%.40q): rewrite with empty text", out.Text)
		}
		if !reflect.DeepEqual(before, *out) {
			t.Errorf("FilterOutput(%.40q) mutated its input", out.Text)
		}
	}
	t.Run("Allowed", func(t *testing.T) {
		for _, o := range cases.Allowed {
			check(t, o, false)
		}
	})
	t.Run("Blocked", func(t *testing.T) {
		for _, o := range cases.Blocked {
			check(t, o, true)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, o := range cases.Blocked {
					cp := *o
					if v, err := f.FilterOutput(context.Background(), &cp); err == nil && v.Action != guard.Block {
						t.Errorf("concurrent FilterOutput(%.40q) let it through", o.Text)
					}
				}
			}()
		}
		wg.Wait()
	})
	t.Run("Middleware", func(t *testing.T) {
		mw, err := guard.FilterResults(f)
		if err != nil {
			t.Fatalf("guard.FilterResults: %v", err)
		}
		for _, o := range cases.Blocked {
			h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
				return &guard.Result{Content: o.Text}, nil
			}))
			r, err := h.Handle(context.Background(), &guard.Call{ID: "t", Tool: "tool"})
			if err == nil || r != nil {
				t.Errorf("blocked output %.40q reached the model", o.Text)
			}
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestResultMiddleware checks a middleware that acts on tool results (an injection
// scanner, a spotlighter, an output filter) against results it must let through,
// possibly rewritten, and results it must stop: a stopped result never reaches the
// caller (the call returns a nil result and an error matching [guard.ErrDenied]),
// the tool's result is not mutated in place, and concurrent use is safe.
func TestResultMiddleware(t *testing.T, mw guard.Middleware, pass, stop []*guard.Result) {
	t.Helper()
	if mw == nil {
		t.Fatal("guardtest: nil middleware")
	}
	run := func(r *guard.Result) (*guard.Result, error) {
		h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) { return r, nil }))
		return h.Handle(context.Background(), &guard.Call{ID: "conformance", Tool: "tool", Args: json.RawMessage(`{}`)})
	}
	snapshot := func(r *guard.Result) guard.Result {
		cp := *r
		cp.Labels = append([]string(nil), r.Labels...)
		return cp
	}
	t.Run("Pass", func(t *testing.T) {
		for _, r := range pass {
			before := snapshot(r)
			got, err := run(r)
			if err != nil || got == nil {
				t.Errorf("result %.40q: stopped (%v), want it through", r.Content, err)
			}
			if !reflect.DeepEqual(before, snapshot(r)) {
				t.Errorf("result %.40q was mutated in place", r.Content)
			}
		}
	})
	t.Run("Stop", func(t *testing.T) {
		for _, r := range stop {
			got, err := run(r)
			if err == nil || !errors.Is(err, guard.ErrDenied) || got != nil {
				t.Errorf("result %.40q reached the caller (result %v, err %v)", r.Content, got != nil, err)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, r := range stop {
					if got, err := run(r); err == nil || got != nil {
						t.Errorf("concurrent: result %.40q reached the caller", r.Content)
					}
				}
			}()
		}
		wg.Wait()
	})
}
