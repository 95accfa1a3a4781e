package mcpgo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentguard/agentguard/adapters/mcpgo"
	"github.com/agentguard/agentguard/guard"
)

type roleKey struct{}

var roleTools = map[string][]string{
	"reader": {"read_document"},
	"admin":  {"read_document", "refund_order"},
}

func visible(_ context.Context, p guard.Principal, tool string) bool {
	for _, t := range roleTools[p.Role] {
		if t == tool {
			return true
		}
	}
	return false
}

// newServer builds a real mcp-go server with the adapter and returns an in-process
// client for role, going through mcp-go's own JSON-RPC machinery.
func newServer(t *testing.T, role string, refunds *int) *client.Client {
	t.Helper()
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if strings.Contains(string(c.Args), "9999") {
			return guard.Deny("amount.limit", "refund too large")
		}
		return nil
	}))
	spotlight := func(next guard.Handler) guard.Handler {
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			r, err := next.Handle(ctx, c)
			if err != nil || r == nil {
				return r, err
			}
			cp := *r
			cp.Content = "<<data>>" + r.Content + "<</data>>"
			return &cp, nil
		})
	}
	opts, err := mcpgo.ServerOptions(mcpgo.Config{
		Chain: guard.Chain(scope, spotlight),
		Principal: func(ctx context.Context) (guard.Principal, error) {
			r, ok := ctx.Value(roleKey{}).(string)
			if !ok {
				return guard.Principal{}, errors.New("no principal")
			}
			return guard.Principal{Role: r}, nil
		},
		Visible: visible,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := server.NewMCPServer("shop", "1.0", append(opts, server.WithToolCapabilities(true))...)
	s.AddTool(mcp.NewTool("read_document", mcp.WithString("path", mcp.Required())), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("doc " + req.GetString("path", "")), nil
	})
	s.AddTool(mcp.NewTool("refund_order", mcp.WithString("order_id", mcp.Required()), mcp.WithNumber("amount")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		*refunds++
		return mcp.NewToolResultText("refunded"), nil
	})
	c, err := client.NewInProcessClient(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), roleKey{}, role)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *client.Client, role, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(context.WithValue(context.Background(), roleKey{}, role), req)
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	return res
}

func text(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func TestMCPGoAdapter(t *testing.T) {
	refunds := 0
	t.Run("allowed call goes through the chain", func(t *testing.T) {
		c := newServer(t, "reader", &refunds)
		r := call(t, c, "reader", "read_document", map[string]any{"path": "a.md"})
		if r.IsError || text(r) != "<<data>>doc a.md<</data>>" {
			t.Fatalf("result = %+v %q", r, text(r))
		}
	})
	t.Run("tool the role may not see does not exist for it", func(t *testing.T) {
		// mcp-go applies the tool filter at call time too: the call fails as for
		// an unknown tool, revealing nothing about other roles' tools.
		c := newServer(t, "reader", &refunds)
		req := mcp.CallToolRequest{}
		req.Params.Name = "refund_order"
		req.Params.Arguments = map[string]any{"order_id": "A-1", "amount": 5}
		_, err := c.CallTool(context.WithValue(context.Background(), roleKey{}, "reader"), req)
		if err == nil || !strings.Contains(err.Error(), "not found") || refunds != 0 {
			t.Fatalf("reader's refund: err=%v refunds=%d", err, refunds)
		}
	})
	t.Run("chain denial reaches the client readable", func(t *testing.T) {
		c := newServer(t, "admin", &refunds)
		r := call(t, c, "admin", "refund_order", map[string]any{"order_id": "A-1", "amount": 9999})
		if !r.IsError || !strings.Contains(text(r), "refused by policy") || strings.Contains(text(r), "amount.limit") || refunds != 0 {
			t.Fatalf("result = %+v %q refunds=%d", r, text(r), refunds)
		}
		r = call(t, c, "admin", "refund_order", map[string]any{"order_id": "A-1", "amount": 5})
		if r.IsError || refunds != 1 {
			t.Fatalf("admin refund: %+v refunds=%d", r, refunds)
		}
	})
	t.Run("tools/list is filtered per role", func(t *testing.T) {
		c := newServer(t, "reader", &refunds)
		res, err := c.ListTools(context.WithValue(context.Background(), roleKey{}, "reader"), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tools) != 1 || res.Tools[0].Name != "read_document" {
			t.Fatalf("reader sees %v", res.Tools)
		}
	})
}

func TestConfigValidation(t *testing.T) {
	if _, err := mcpgo.ServerOptions(mcpgo.Config{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Fatalf("err = %v", err)
	}
	if _, err := mcpgo.ServerOptions(mcpgo.Config{Chain: guard.Chain(nil)}); err == nil {
		t.Fatal("missing Principal accepted")
	}
}
