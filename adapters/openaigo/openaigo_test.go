package openaigo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/agentguard/agentguard/adapters/openaigo"
	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

// A real tool call made through the official client's HTTP machinery: the denial
// reaches the model as a tool message, and the refund never runs.
func TestDenialReachesModelThroughOfficialClient(t *testing.T) {
	fake := guardtest.NewFakeOpenAI(t,
		guardtest.Reply{ToolCalls: []guardtest.ToolCall{{ID: "call_a", Name: "refund_order", Arguments: `{"order_id":"A-1002"}`}}},
		guardtest.Reply{Content: "I can't do refunds."},
	)
	oc := openai.NewClient(option.WithBaseURL(fake.URL+"/"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	client, err := openaigo.NewClient(&oc)
	if err != nil {
		t.Fatal(err)
	}
	refunded := false
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Principal.Role != "admin" {
			return guard.Deny("role.tools", "admins only")
		}
		return nil
	}))
	loop, err := agentloop.New(agentloop.Config{Client: client, Model: "gpt-4o-mini", SystemPrompt: "support",
		Middleware: guard.Chain(scope), Principal: guard.Principal{Role: "reader"},
		Tools: []agentloop.Tool{{Name: "refund_order", Parameters: []byte(`{"type":"object","properties":{"order_id":{"type":"string"}}}`),
			Handler: guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
				refunded = true
				return &guard.Result{Content: "done"}, nil
			})}}})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := loop.Run(context.Background(), "refund A-1002")
	if err != nil {
		t.Fatal(err)
	}
	if refunded || ans.Denied != 1 || ans.Text != "I can't do refunds." {
		t.Fatalf("refunded=%v answer=%+v", refunded, ans)
	}
	reqs := fake.Requests()
	last := reqs[len(reqs)-1].Messages
	tool := last[len(last)-1]
	if tool.Role != "tool" || tool.ToolCallID != "call_a" || !strings.Contains(tool.Content, "refused by policy") {
		t.Fatalf("tool message = %+v", tool)
	}
	if got := last[0]; got.Role != "system" || got.Content != "support" {
		t.Fatalf("system message = %+v", got)
	}
	if len(reqs[0].Tools) != 1 {
		t.Fatalf("tools offered: %d", len(reqs[0].Tools))
	}
}

func TestNilClient(t *testing.T) {
	if _, err := openaigo.NewClient(nil); err == nil {
		t.Fatal("nil client accepted")
	}
}
