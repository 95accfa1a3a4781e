package outputguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// DefaultBudget is the time a [Pipeline] allows all its filters together when its
// configuration leaves Budget zero.
const DefaultBudget = 10 * time.Second

// PipelineConfig configures [NewPipeline].
type PipelineConfig struct {
	// Filters run in order. Each sees the text as rewritten by the ones before it.
	// At least one is required; a nil filter is an error.
	Filters []guard.OutputFilter
	// Budget bounds the time of the whole run. When it is exceeded the output is
	// blocked (fail closed). Zero means [DefaultBudget]; negative is an error.
	Budget time.Duration
	// Logger receives a debug record per verdict (categories and rule only, never
	// text). Nil discards.
	Logger *slog.Logger
}

// Pipeline runs output filters in order within a time budget. The first block
// wins; rewrites accumulate (each filter sees the previous one's text);
// categories of every filter that acted are collected. An error, a panic, an
// unknown action or an exceeded budget blocks. It is a [guard.OutputFilter]; use
// [Pipeline.Middleware] for tool results and [Pipeline.FilterOutput] (or
// [Pipeline.Check]) for the agent's answer.
type Pipeline struct {
	filters []guard.OutputFilter
	local   []bool
	budget  time.Duration
	log     *slog.Logger
}

var _ guard.OutputFilter = (*Pipeline)(nil)

// NewPipeline returns a pipeline for cfg.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if len(cfg.Filters) == 0 {
		return nil, fmt.Errorf("outputguard: pipeline: no filters: %w", guard.ErrNilPolicy)
	}
	if cfg.Budget < 0 {
		return nil, fmt.Errorf("outputguard: pipeline: negative budget %v", cfg.Budget)
	}
	p := &Pipeline{filters: slices.Clone(cfg.Filters), budget: cfg.Budget, log: cfg.Logger}
	if p.budget == 0 {
		p.budget = DefaultBudget
	}
	for i, f := range p.filters {
		if f == nil {
			return nil, fmt.Errorf("outputguard: pipeline: filter %d: %w", i, guard.ErrNilPolicy)
		}
		// The model-free filters of this package run inline; anything else (a
		// model call, a caller's filter) runs where the budget can abandon it.
		local := false
		switch f := f.(type) {
		case *PII, *PromptLeak:
			local = true
		case *Secrets:
			local = f.source == nil // a value source may do I/O
		}
		p.local = append(p.local, local)
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Middleware returns the [guard.FilterResults] middleware running p over every
// tool result.
func (p *Pipeline) Middleware(opts ...guard.Option) (guard.Middleware, error) {
	return guard.FilterResults(p, opts...)
}

// Check filters text as the agent's answer (provenance model output).
func (p *Pipeline) Check(ctx context.Context, text string) (guard.Verdict, error) {
	return p.FilterOutput(ctx, &guard.Output{Text: text, Provenance: guard.ProvenanceModelOutput})
}

// FilterOutput runs the filters over out. On error the verdict is always a block
// that says why, so a caller that looks only at the verdict still fails closed.
func (p *Pipeline) FilterOutput(ctx context.Context, out *guard.Output) (guard.Verdict, error) {
	if out == nil {
		return blockNil("pipeline")
	}
	// The budget is a deadline checked around every filter. A context carrying
	// it is made only for filters that may block (model calls, callers'
	// filters), so a run of local filters pays for no timer.
	deadline := time.Now().Add(p.budget)
	var bctx context.Context
	cancels := make([]context.CancelFunc, 0, 1)
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	overBudget := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !time.Now().Before(deadline) {
			return context.DeadlineExceeded
		}
		return nil
	}
	cur := *out
	var cats []string
	var rules []string
	rewritten := false
	for i, f := range p.filters {
		if err := ctx.Err(); err != nil { // the clock is read after each filter
			return p.fail(ctx, cats, "output.budget", "call cancelled; blocking (fail closed)", err)
		}
		var v guard.Verdict
		var err error
		if p.local[i] {
			v, err = safeFilter(ctx, f, &cur)
		} else {
			if bctx == nil {
				var cancel context.CancelFunc
				bctx, cancel = context.WithDeadline(ctx, deadline)
				cancels = append(cancels, cancel)
			}
			v, err = p.runAbandonable(bctx, f, &cur)
		}
		if err == nil {
			err = overBudget()
		}
		cats = appendNew(cats, v.Categories...)
		if err != nil {
			rule := firstNonEmpty(v.Rule, "output.error")
			reason := firstNonEmpty(v.Reason, "output filter failed; blocking (fail closed)")
			if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, guard.ErrDenied) {
				rule, reason = "output.budget", fmt.Sprintf("output filters exceeded their %v budget; blocking (fail closed)", p.budget)
			}
			return p.fail(ctx, cats, rule, reason, err)
		}
		switch v.Action {
		case guard.Allow:
		case guard.Block:
			v.Categories = cats
			v.Text = ""
			v.Rule = firstNonEmpty(v.Rule, "output.blocked")
			p.log.DebugContext(ctx, "output blocked", "rule", v.Rule, "categories", cats)
			return v, nil
		case guard.Rewrite:
			cur.Text = v.Text
			rewritten = true
			rules = append(rules, v.Rule)
		default:
			return p.fail(ctx, cats, "output.error", fmt.Sprintf("output filter returned unknown action %v; blocking (fail closed)", v.Action),
				fmt.Errorf("outputguard: filter %d returned unknown action %v", i, v.Action))
		}
	}
	if !rewritten {
		return guard.Verdict{Action: guard.Allow, Categories: cats}, nil
	}
	p.log.DebugContext(ctx, "output rewritten", "categories", cats)
	return guard.Verdict{Action: guard.Rewrite, Text: cur.Text, Categories: cats,
		Rule: firstNonEmpty(firstOf(rules), "output.rewritten"), Reason: "output rewritten: " + joinOr(cats, "redacted")}, nil
}

func (p *Pipeline) fail(ctx context.Context, cats []string, rule, reason string, err error) (guard.Verdict, error) {
	p.log.DebugContext(ctx, "output blocked on error", "rule", rule)
	var d *guard.DenialError
	if !errors.As(err, &d) {
		d = &guard.DenialError{Stage: guard.StageOutput, Rule: rule, Reason: reason, Err: err}
	}
	return guard.Verdict{Action: guard.Block, Categories: cats, Rule: rule, Reason: reason}, d
}

// runAbandonable runs f in a goroutine and gives up when ctx ends, so a filter
// that ignores its context cannot hold the output past the budget.
func (p *Pipeline) runAbandonable(ctx context.Context, f guard.OutputFilter, out *guard.Output) (guard.Verdict, error) {
	type res struct {
		v   guard.Verdict
		err error
	}
	cp := *out
	ch := make(chan res, 1)
	go func() {
		v, err := safeFilter(ctx, f, &cp)
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return guard.Verdict{Action: guard.Block}, ctx.Err()
	}
}

// safeFilter calls f and turns a panic into an error.
func safeFilter(ctx context.Context, f guard.OutputFilter, out *guard.Output) (v guard.Verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			v = guard.Verdict{Action: guard.Block, Rule: "output.panic", Reason: "output filter panicked; blocking (fail closed)"}
			err = fmt.Errorf("outputguard: output filter panicked: %v", r)
		}
	}()
	return f.FilterOutput(ctx, out)
}

func appendNew(dst []string, src ...string) []string {
	for _, s := range src {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func firstOf(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}

func joinOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}
