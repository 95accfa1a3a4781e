package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Authorize returns the middleware that runs s before the tool, at [StageScope]
// unless renamed with [WithStage]. A nil s is an error.
func Authorize(s Scoper, opts ...Option) (Middleware, error) {
	cfg, err := newStage(StageScope, s, opts)
	if err != nil {
		return refuseAll(StageScope, err), err
	}
	check := func(ctx context.Context, c *Call, _ *Result) (*Result, error) { return nil, s.Authorize(ctx, c) }
	return cfg.before(check), nil
}

// ValidateArgs returns the middleware that runs v at [StageArgs]. When v also
// implements [ArgNormalizer], the canonical arguments it returns are passed on in a
// copy of the call. A nil v is an error.
func ValidateArgs(v ArgValidator, opts ...Option) (Middleware, error) {
	cfg, err := newStage(StageArgs, v, opts)
	if err != nil {
		return refuseAll(StageArgs, err), err
	}
	norm, ok := v.(ArgNormalizer)
	if !ok {
		check := func(ctx context.Context, c *Call, _ *Result) (*Result, error) { return nil, v.ValidateArgs(ctx, c) }
		return cfg.before(check), nil
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
			// The check may be abandoned at its timeout and still finish later
			// (monitor mode then goes on): its answer is shared under a lock,
			// and kept only when the normalizer succeeded.
			var (
				mu    sync.Mutex
				canon json.RawMessage
			)
			if _, err := cfg.run(ctx, c, nil, func(ctx context.Context, c *Call, _ *Result) (*Result, error) {
				out, err := norm.NormalizeArgs(ctx, c)
				if err != nil {
					return nil, err
				}
				mu.Lock()
				defer mu.Unlock()
				canon = out
				return nil, nil
			}); err != nil {
				return nil, err
			}
			mu.Lock()
			args := canon
			mu.Unlock()
			if args == nil { // monitor mode let an invalid call through unchanged
				return next.Handle(ctx, c)
			}
			return next.Handle(ctx, c.WithArgs(args))
		})
	}, nil
}

// before builds a middleware that runs check before the tool.
func (s *stageConfig) before(check checkFunc) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
			if _, err := s.run(ctx, c, nil, check); err != nil {
				return nil, err
			}
			return next.Handle(ctx, c)
		})
	}
}

// after builds a middleware that runs check on the tool's result. A check that
// returns a result replaces the tool's.
func (s *stageConfig) after(check checkFunc) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, c *Call) (*Result, error) {
			r, err := next.Handle(ctx, c)
			if err != nil || r == nil {
				return r, err
			}
			out, err := s.run(ctx, c, r, check)
			if err != nil {
				return nil, err
			}
			if out != nil {
				return out, nil
			}
			return r, nil
		})
	}
}

// ScanResults returns the middleware that scans every tool result with d before the
// model sees it (indirect injection), at [StageInjection]. A result judged to be an
// injection is withheld: the call returns a denial instead. A detector error denies.
// A nil d is an error.
func ScanResults(d InjectionDetector, opts ...Option) (Middleware, error) {
	cfg, err := newStage(StageInjection, d, opts)
	if err != nil {
		return refuseAll(StageInjection, err), err
	}
	return cfg.after(func(ctx context.Context, c *Call, r *Result) (*Result, error) {
		det, err := d.DetectInjection(ctx, Text{Content: r.Content, Provenance: ProvenanceToolResult, Source: c.Tool})
		if err != nil {
			return nil, err
		}
		if det.Injection {
			return nil, &DenialError{Rule: "injection." + firstOr(det.Rules, "detected"),
				Reason: fmt.Sprintf("tool result looks like a prompt injection (score %.2f)", det.Score)}
		}
		return nil, nil
	}), nil
}

// FilterResults returns the middleware that runs f over every tool result at
// [StageOutput]: a blocked result becomes a denial, a rewritten one is passed on
// rewritten (as a copy). A filter error denies. A nil f is an error.
func FilterResults(f OutputFilter, opts ...Option) (Middleware, error) {
	cfg, err := newStage(StageOutput, f, opts)
	if err != nil {
		return refuseAll(StageOutput, err), err
	}
	return cfg.after(func(ctx context.Context, c *Call, r *Result) (*Result, error) {
		v, err := f.FilterOutput(ctx, &Output{Text: r.Content, Provenance: ProvenanceToolResult, Call: c,
			SessionID: c.SessionID, Principal: c.Principal})
		if err != nil {
			return nil, err
		}
		switch v.Action {
		case Allow:
			return nil, nil
		case Rewrite:
			cp := *r
			cp.Content = v.Text
			return &cp, nil
		case Block:
			return nil, &DenialError{Rule: firstNonEmpty(v.Rule, "output.blocked"), Reason: v.Reason}
		}
		return nil, fmt.Errorf("output filter returned unknown action %v", v.Action)
	}), nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
