// Package eino puts agentguard's guard chain inside CloudWeGo Eino agents
// (github.com/cloudwego/eino).
//
// [ToolMiddleware] returns a compose.ToolMiddleware for
// compose.ToolsNodeConfig.ToolCallMiddlewares: every tool call a ToolsNode runs —
// invokable, streamable and their enhanced (multimodal) forms — passes the chain
// first, and the tool sees the arguments as they left the chain. A denial becomes
// the tool's output, the chain's generic refusal, so the model reads it in the tool
// message instead of the graph failing.
//
// Streaming tools are collected before the result stages run: a stream cannot be
// scanned for an injection or a secret it has not finished sending. Enhanced
// (multimodal) results are judged on their text parts; when a result stage rewrites
// them, or another part (an image URL, extra fields) holds a secret resolved for
// the call, only the (rewritten) text goes back.
//
// Eino runs compose.ToolsNodeConfig.UnknownToolsHandler (for tool names the model
// invents) without the tool-call middlewares. Set it to [UnknownToolsHandler]: the
// call then goes through the chain too (so it is audited, counted by budgets and
// judged by the scope, which denies a name it does not know), and if the chain
// lets it through, no tool runs and the model reads a refusal.
//
// It is its own Go module so that users of the core module do not pull in Eino.
package eino

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	"github.com/agentguard/agentguard/guard"
)

// Config configures the middleware.
type Config struct {
	// Chain guards every tool call. Required.
	Chain guard.Middleware
	// Principal returns who the agent acts for. Required; an error denies.
	Principal func(ctx context.Context) (guard.Principal, error)
	// SessionID names the conversation for budgets and flow rules. Optional.
	SessionID func(ctx context.Context) string
	// MaxStreamBytes bounds a streamed result collected for the result stages;
	// 0 means 1 MiB. A longer stream is refused.
	MaxStreamBytes int
}

// ToolMiddleware returns the middleware.
func ToolMiddleware(cfg Config) (compose.ToolMiddleware, error) {
	m, err := newMW(cfg)
	if err != nil {
		return compose.ToolMiddleware{}, err
	}
	return compose.ToolMiddleware{
		Invokable:          m.invokable,
		Streamable:         m.streamable,
		EnhancedInvokable:  m.enhancedInvokable,
		EnhancedStreamable: m.enhancedStreamable,
	}, nil
}

func newMW(cfg Config) (*mw, error) {
	if cfg.Chain == nil {
		return nil, fmt.Errorf("eino: Config.Chain is nil: %w", guard.ErrNilPolicy)
	}
	if cfg.Principal == nil {
		return nil, errors.New("eino: Config.Principal is required")
	}
	if cfg.MaxStreamBytes <= 0 {
		cfg.MaxStreamBytes = 1 << 20
	}
	return &mw{cfg: cfg}, nil
}

type mw struct{ cfg Config }

// UnknownToolsHandler returns a handler for compose.ToolsNodeConfig.UnknownToolsHandler
// that sends a call to a tool the node does not have through the chain, and
// answers it with the chain's refusal. No tool ever runs for it: a name the
// model invented is refused even when the chain allows it (rule "tool.unknown").
func UnknownToolsHandler(cfg Config) (func(ctx context.Context, name, input string) (string, error), error) {
	m, err := newMW(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, name, input string) (string, error) {
		text, _, err := m.run(ctx, &compose.ToolInput{Name: name, Arguments: input}, func(context.Context, string) (string, error) {
			return "", guard.Deny("tool.unknown", "the model called a tool this agent does not have")
		})
		return text, err
	}, nil
}

// run sends one call through the chain; tool runs the real tool with the
// arguments as they left the chain and returns its text. It returns the text the
// model is shown and whether the chain let the tool's own text through unchanged.
func (m *mw) run(ctx context.Context, in *compose.ToolInput, tool func(ctx context.Context, args string) (string, error)) (text string, unchanged bool, err error) {
	p, err := m.cfg.Principal(ctx)
	if err != nil {
		return "The call was refused: the caller could not be identified.", false, nil
	}
	args := in.Arguments
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	call := &guard.Call{ID: "eino_" + in.CallID, Tool: in.Name, Args: []byte(args), Principal: p}
	if in.CallID == "" {
		call.ID = "eino_" + rand.Text()
	}
	if m.cfg.SessionID != nil {
		call.SessionID = m.cfg.SessionID(ctx)
	}
	var toolText string
	ran := false
	h := m.cfg.Chain(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		out, err := tool(ctx, string(c.Args))
		if err != nil {
			return nil, err
		}
		toolText, ran = out, true
		return &guard.Result{Content: out}, nil
	}))
	r, err := h.Handle(ctx, call)
	if err != nil {
		// Denials and tool failures alike become a readable tool output; the
		// detail stays in the chain's audit trail.
		return guard.ModelMessage(err), false, nil
	}
	if r == nil {
		return "", false, nil
	}
	return r.Content, ran && r.Content == toolText, nil
}

func (m *mw) invokable(next compose.InvokableToolEndpoint) compose.InvokableToolEndpoint {
	return func(ctx context.Context, in *compose.ToolInput) (*compose.ToolOutput, error) {
		text, _, err := m.run(ctx, in, func(ctx context.Context, args string) (string, error) {
			cp := *in
			cp.Arguments = args
			out, err := next(ctx, &cp)
			if err != nil {
				return "", err
			}
			if out == nil {
				return "", nil
			}
			return out.Result, nil
		})
		if err != nil {
			return nil, err
		}
		return &compose.ToolOutput{Result: text}, nil
	}
}

func (m *mw) collect(sr *schema.StreamReader[string]) (string, error) {
	if sr == nil {
		return "", nil
	}
	defer sr.Close()
	var b strings.Builder
	for {
		chunk, err := sr.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		if b.Len()+len(chunk) > m.cfg.MaxStreamBytes {
			return "", fmt.Errorf("eino: streamed result exceeds %d bytes", m.cfg.MaxStreamBytes)
		}
		b.WriteString(chunk)
	}
}

func (m *mw) streamable(next compose.StreamableToolEndpoint) compose.StreamableToolEndpoint {
	return func(ctx context.Context, in *compose.ToolInput) (*compose.StreamToolOutput, error) {
		text, _, err := m.run(ctx, in, func(ctx context.Context, args string) (string, error) {
			cp := *in
			cp.Arguments = args
			out, err := next(ctx, &cp)
			if err != nil {
				return "", err
			}
			if out == nil {
				return "", nil
			}
			return m.collect(out.Result)
		})
		if err != nil {
			return nil, err
		}
		return &compose.StreamToolOutput{Result: schema.StreamReaderFromArray([]string{text})}, nil
	}
}

func textParts(r *schema.ToolResult) string {
	if r == nil {
		return ""
	}
	var parts []string
	for _, p := range r.Parts {
		if p.Type == schema.ToolPartTypeText {
			parts = append(parts, p.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func (m *mw) enhancedInvokable(next compose.EnhancedInvokableToolEndpoint) compose.EnhancedInvokableToolEndpoint {
	return func(ctx context.Context, in *compose.ToolInput) (*compose.EnhancedInvokableToolOutput, error) {
		var orig *schema.ToolResult
		leak := false
		text, unchanged, err := m.run(ctx, in, func(ctx context.Context, args string) (string, error) {
			cp := *in
			cp.Arguments = args
			out, err := next(ctx, &cp)
			if err != nil {
				return "", err
			}
			if out != nil {
				orig = out.Result
			}
			// The result stages judge only the text parts; a resolved secret in
			// another part's URL, data or extra fields would pass unjudged, so
			// such a result goes back as its (scrubbed) text only.
			if sc := guard.ScrubberFromContext(ctx); orig != nil && sc.Len() > 0 {
				b, err := json.Marshal(orig)
				leak = err != nil || sc.Contains(string(b))
			}
			return textParts(orig), nil
		})
		if err != nil {
			return nil, err
		}
		if unchanged && orig != nil && !leak {
			return &compose.EnhancedInvokableToolOutput{Result: orig}, nil
		}
		return &compose.EnhancedInvokableToolOutput{Result: &schema.ToolResult{Parts: []schema.ToolOutputPart{{Type: schema.ToolPartTypeText, Text: text}}}}, nil
	}
}

func (m *mw) enhancedStreamable(next compose.EnhancedStreamableToolEndpoint) compose.EnhancedStreamableToolEndpoint {
	return func(ctx context.Context, in *compose.ToolInput) (*compose.EnhancedStreamableToolOutput, error) {
		text, _, err := m.run(ctx, in, func(ctx context.Context, args string) (string, error) {
			cp := *in
			cp.Arguments = args
			out, err := next(ctx, &cp)
			if err != nil || out == nil || out.Result == nil {
				return "", err
			}
			defer out.Result.Close()
			var b strings.Builder
			for {
				chunk, err := out.Result.Recv()
				if errors.Is(err, io.EOF) {
					return b.String(), nil
				}
				if err != nil {
					return "", err
				}
				t := textParts(chunk)
				if b.Len()+len(t) > m.cfg.MaxStreamBytes {
					return "", fmt.Errorf("eino: streamed result exceeds %d bytes", m.cfg.MaxStreamBytes)
				}
				b.WriteString(t)
			}
		})
		if err != nil {
			return nil, err
		}
		// Only text survives a streamed multimodal result: its other parts were
		// not judged by the result stages.
		return &compose.EnhancedStreamableToolOutput{Result: schema.StreamReaderFromArray([]*schema.ToolResult{
			{Parts: []schema.ToolOutputPart{{Type: schema.ToolPartTypeText, Text: text}}}})}, nil
	}
}
