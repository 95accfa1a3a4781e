package eino_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/components/tool/utils"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	agenteino "github.com/agentguard/agentguard/adapters/eino"
	"github.com/agentguard/agentguard/guard"
)

type refundArgs struct {
	OrderID string  `json:"order_id"`
	Amount  float64 `json:"amount"`
}

func chain(t *testing.T) guard.Middleware {
	scope, err := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Tool == "refund_order" && c.Principal.Role != "admin" {
			return guard.Deny("role.tools", "admins only")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(next guard.Handler) guard.Handler {
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			r, err := next.Handle(ctx, c)
			if err != nil || r == nil {
				return r, err
			}
			cp := *r
			cp.Content = "<data>" + r.Content + "</data>"
			return &cp, nil
		})
	}
	return guard.Chain(scope, wrap)
}

// Drives real tool calls through Eino's ToolsNode, the node an Eino agent graph
// runs tools with.
func TestToolsNodeThroughChain(t *testing.T) {
	refunds := 0
	refund, err := utils.InferTool("refund_order", "Refund an order.", func(ctx context.Context, a refundArgs) (string, error) {
		refunds++
		return "refunded " + a.OrderID, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read, _ := utils.InferTool("read_document", "Read a doc.", func(ctx context.Context, a struct {
		Path string `json:"path"`
	}) (string, error) {
		return "doc " + a.Path, nil
	})
	for _, tc := range []struct {
		role          string
		wantRefunds   int
		wantRefundOut string
	}{
		{"reader", 0, "refused by policy"},
		{"admin", 1, "<data>refunded A-1</data>"},
	} {
		t.Run(tc.role, func(t *testing.T) {
			refunds = 0
			mw, err := agenteino.ToolMiddleware(agenteino.Config{Chain: chain(t),
				Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: tc.role}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			node, err := compose.NewToolNode(context.Background(), &compose.ToolsNodeConfig{
				Tools: []tool.BaseTool{refund, read}, ToolCallMiddlewares: []compose.ToolMiddleware{mw}, ExecuteSequentially: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := node.Invoke(context.Background(), schema.AssistantMessage("", []schema.ToolCall{
				{ID: "c1", Type: "function", Function: schema.FunctionCall{Name: "read_document", Arguments: `{"path":"a.md"}`}},
				{ID: "c2", Type: "function", Function: schema.FunctionCall{Name: "refund_order", Arguments: `{"order_id":"A-1","amount":5}`}},
			}))
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 2 || msgs[0].Role != schema.Tool || msgs[1].ToolCallID != "c2" {
				t.Fatalf("messages = %+v", msgs)
			}
			if !strings.Contains(msgs[0].Content, "doc a.md") || !strings.HasPrefix(msgs[0].Content, "<data>") {
				t.Errorf("read result = %q", msgs[0].Content)
			}
			if !strings.Contains(msgs[1].Content, tc.wantRefundOut) || refunds != tc.wantRefunds {
				t.Errorf("refund result = %q, refunds = %d", msgs[1].Content, refunds)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	if _, err := agenteino.ToolMiddleware(agenteino.Config{}); err == nil {
		t.Fatal("nil chain accepted")
	}
}

// A tool name the model invents goes through the chain (audited, judged by the
// scope) and never runs anything, even when the chain would allow it.
func TestUnknownToolsHandler(t *testing.T) {
	var seen []string
	audit := guard.AuditorFunc(func(_ context.Context, e guard.Event) { seen = append(seen, e.Tool+":"+e.Decision.String()) })
	scope, err := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Tool == "wire_money" {
			return guard.Deny("role.tools", "not in policy")
		}
		return nil // a permissive policy: the handler must still refuse
	}), guard.WithAuditor(audit))
	if err != nil {
		t.Fatal(err)
	}
	h, err := agenteino.UnknownToolsHandler(agenteino.Config{Chain: scope,
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "reader"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	read, _ := utils.InferTool("read_document", "Read a doc.", func(ctx context.Context, a struct {
		Path string `json:"path"`
	}) (string, error) {
		return "doc " + a.Path, nil
	})
	node, err := compose.NewToolNode(context.Background(), &compose.ToolsNodeConfig{
		Tools: []tool.BaseTool{read}, UnknownToolsHandler: h, ExecuteSequentially: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := node.Invoke(context.Background(), schema.AssistantMessage("", []schema.ToolCall{
		{ID: "c1", Type: "function", Function: schema.FunctionCall{Name: "wire_money", Arguments: `{"to":"x"}`}},
		{ID: "c2", Type: "function", Function: schema.FunctionCall{Name: "invented_tool", Arguments: `{}`}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("messages = %+v", msgs)
	}
	for _, m := range msgs {
		if !strings.Contains(m.Content, "refused") {
			t.Errorf("unknown tool answered %q, want a refusal", m.Content)
		}
	}
	if strings.Join(seen, ",") != "wire_money:deny,invented_tool:allow" {
		t.Errorf("audited %v: every unknown call must pass the chain", seen)
	}
	if _, err := agenteino.UnknownToolsHandler(agenteino.Config{}); err == nil {
		t.Error("UnknownToolsHandler accepted an empty config")
	}
}
