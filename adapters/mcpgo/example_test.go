package mcpgo_test

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentguard/agentguard/adapters/mcpgo"
	"github.com/agentguard/agentguard/guard"
)

// An mcp-go server whose every tool call passes the guard chain and whose tool list
// depends on the caller's role.
func Example() {
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Tool == "refund_order" && c.Principal.Role != "admin" {
			return guard.Deny("role.tools", "admins only")
		}
		return nil
	}))
	opts, err := mcpgo.ServerOptions(mcpgo.Config{
		Chain: guard.Chain(scope),
		Principal: func(ctx context.Context) (guard.Principal, error) {
			return guard.Principal{Role: "reader"}, nil // in production: from a verified token
		},
		Visible: func(_ context.Context, p guard.Principal, tool string) bool {
			return tool == "read_document" || p.Role == "admin"
		},
	})
	if err != nil {
		panic(err)
	}
	s := server.NewMCPServer("shop", "1.0", opts...)
	s.AddTool(mcp.NewTool("read_document"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("Refunds within 30 days."), nil
	})
	fmt.Println(s != nil)
	// Output: true
}
