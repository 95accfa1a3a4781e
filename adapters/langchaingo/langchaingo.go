// Package langchaingo puts agentguard's guard chain around LangChain Go tools
// (github.com/tmc/langchaingo).
//
// langchaingo has no blocking hook for tool calls, so [Wrap] is a decorator: it
// returns a tools.Tool with the same name and description whose Call sends the
// input through the chain before the wrapped tool sees it, and sends the output back
// through the chain before the agent does. A denial is returned as the tool's
// output (the chain's generic refusal, with a nil error), so the agent's executor
// shows it to the model as the observation instead of aborting the run.
//
// langchaingo tools take a free-form string. When the input is a JSON object it is
// the call's arguments as is; otherwise the arguments are {"input": "<text>"}, and
// the tool receives the "input" field as it left the chain.
//
// It is its own Go module so that users of the core module do not pull in
// langchaingo.
package langchaingo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tmc/langchaingo/tools"

	"github.com/agentguard/agentguard/guard"
)

// Config configures the decorator.
type Config struct {
	// Chain guards every call. Required.
	Chain guard.Middleware
	// Principal returns who the agent acts for. Required; an error denies.
	Principal func(ctx context.Context) (guard.Principal, error)
	// SessionID names the conversation for budgets and flow rules. Optional.
	SessionID func(ctx context.Context) string
}

// Tool is a guarded tools.Tool.
type Tool struct {
	inner tools.Tool
	cfg   Config
	h     guard.Handler
}

var _ tools.Tool = (*Tool)(nil)

// Wrap returns t guarded by cfg.Chain.
func Wrap(t tools.Tool, cfg Config) (*Tool, error) {
	if t == nil {
		return nil, errors.New("langchaingo: nil tool")
	}
	if cfg.Chain == nil {
		return nil, fmt.Errorf("langchaingo: Config.Chain is nil: %w", guard.ErrNilPolicy)
	}
	if cfg.Principal == nil {
		return nil, errors.New("langchaingo: Config.Principal is required")
	}
	g := &Tool{inner: t, cfg: cfg}
	g.h = cfg.Chain(guard.HandlerFunc(g.call))
	return g, nil
}

// WrapAll wraps every tool with the same configuration.
func WrapAll(ts []tools.Tool, cfg Config) ([]tools.Tool, error) {
	out := make([]tools.Tool, 0, len(ts))
	for _, t := range ts {
		g, err := Wrap(t, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Name is the wrapped tool's name.
func (g *Tool) Name() string { return g.inner.Name() }

// Description is the wrapped tool's description.
func (g *Tool) Description() string { return g.inner.Description() }

type wrapped struct {
	Input string `json:"input"`
}

type wrappedKey struct{}

// Call runs the input through the chain and the tool.
func (g *Tool) Call(ctx context.Context, input string) (string, error) {
	p, err := g.cfg.Principal(ctx)
	if err != nil {
		return "The call was refused: the caller could not be identified.", nil
	}
	args := []byte(input)
	isWrapped := false
	var probe map[string]json.RawMessage
	if json.Unmarshal(args, &probe) != nil || probe == nil {
		args, _ = json.Marshal(wrapped{Input: input})
		isWrapped = true
	}
	c := &guard.Call{ID: "lc_" + rand.Text(), Tool: g.inner.Name(), Args: args, Principal: p}
	if g.cfg.SessionID != nil {
		c.SessionID = g.cfg.SessionID(ctx)
	}
	r, err := g.h.Handle(context.WithValue(ctx, wrappedKey{}, isWrapped), c)
	if err != nil {
		return guard.ModelMessage(err), nil
	}
	if r == nil {
		return "", nil
	}
	return r.Content, nil
}

func (g *Tool) call(ctx context.Context, c *guard.Call) (*guard.Result, error) {
	input := string(c.Args)
	if isWrapped, _ := ctx.Value(wrappedKey{}).(bool); isWrapped {
		var w wrapped
		if err := json.Unmarshal(c.Args, &w); err != nil {
			return nil, fmt.Errorf("langchaingo: arguments after the chain: %w", err)
		}
		input = w.Input
	}
	out, err := g.inner.Call(ctx, input)
	if err != nil {
		return nil, err
	}
	return &guard.Result{Content: out}, nil
}
