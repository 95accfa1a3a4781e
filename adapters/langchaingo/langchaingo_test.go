package langchaingo_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/fake"
	"github.com/tmc/langchaingo/tools"

	lcguard "github.com/agentguard/agentguard/adapters/langchaingo"
	"github.com/agentguard/agentguard/guard"
)

// recorder is a scripted model that remembers every prompt it was sent.
type recorder struct {
	*fake.LLM
	mu      sync.Mutex
	prompts []string
}

func (r *recorder) GenerateContent(ctx context.Context, msgs []llms.MessageContent, opts ...llms.CallOption) (*llms.ContentResponse, error) {
	r.mu.Lock()
	for _, m := range msgs {
		for _, p := range m.Parts {
			if t, ok := p.(llms.TextContent); ok {
				r.prompts = append(r.prompts, t.Text)
			}
		}
	}
	r.mu.Unlock()
	return r.LLM.GenerateContent(ctx, msgs, opts...)
}

type refundTool struct{ calls *int }

func (refundTool) Name() string        { return "refund_order" }
func (refundTool) Description() string { return "Refund an order. Input: the order id." }
func (t refundTool) Call(ctx context.Context, input string) (string, error) {
	*t.calls++
	return "refunded " + input, nil
}

// A one-shot agent run by langchaingo's own executor: the refusal is the
// observation the model reads next.
func TestAgentExecutorSeesRefusal(t *testing.T) {
	calls := 0
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Principal.Role != "admin" {
			return guard.Deny("role.tools", "admins only")
		}
		return nil
	}))
	wrapped, err := lcguard.WrapAll([]tools.Tool{refundTool{&calls}}, lcguard.Config{Chain: guard.Chain(scope),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "reader"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	model := &recorder{LLM: fake.NewFakeLLM([]string{
		"I should refund it.\nAction: refund_order\nAction Input: A-1002",
		"The refund was refused.\nFinal Answer: I cannot refund that order.",
	})}
	exec := agents.NewExecutor(agents.NewOneShotAgent(model, wrapped), agents.WithMaxIterations(3))
	out, err := chains.Run(context.Background(), exec, "refund A-1002")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 0 || out != "I cannot refund that order." {
		t.Fatalf("calls=%d out=%q", calls, out)
	}
	all := strings.Join(model.prompts, "\n")
	if !strings.Contains(all, `The call to "refund_order" was refused by policy.`) {
		t.Fatalf("the model never saw the refusal; prompts:\n%s", all)
	}
	if strings.Contains(all, "role.tools") {
		t.Fatal("policy detail leaked to the model")
	}
}

func TestInputShapes(t *testing.T) {
	var got string
	inner := toolFunc(func(ctx context.Context, in string) (string, error) { got = in; return "ok", nil })
	var seen string
	capture := func(next guard.Handler) guard.Handler {
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			seen = string(c.Args)
			return next.Handle(ctx, c)
		})
	}
	g, _ := lcguard.Wrap(inner, lcguard.Config{Chain: guard.Chain(capture),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "x"}, nil }})
	for _, tc := range []struct{ in, args, tool string }{
		{"A-1002", `{"input":"A-1002"}`, "A-1002"},
		{`{"order_id":"A-1"}`, `{"order_id":"A-1"}`, `{"order_id":"A-1"}`},
		{`"}`, `{"input":"\"}"}`, `"}`},
	} {
		if _, err := g.Call(context.Background(), tc.in); err != nil {
			t.Fatal(err)
		}
		if seen != tc.args || got != tc.tool {
			t.Errorf("input %q: chain saw %s, tool got %q", tc.in, seen, got)
		}
	}
}

type toolFunc func(ctx context.Context, in string) (string, error)

func (toolFunc) Name() string                                          { return "f" }
func (toolFunc) Description() string                                   { return "f" }
func (f toolFunc) Call(ctx context.Context, in string) (string, error) { return f(ctx, in) }

func TestWrapValidates(t *testing.T) {
	if _, err := lcguard.Wrap(nil, lcguard.Config{}); err == nil {
		t.Fatal("nil tool accepted")
	}
	if _, err := lcguard.Wrap(refundTool{}, lcguard.Config{}); err == nil {
		t.Fatal("nil chain accepted")
	}
}
