package genkit_test

import (
	"context"
	"fmt"

	"github.com/firebase/genkit/go/ai"
	gk "github.com/firebase/genkit/go/genkit"

	agentgenkit "github.com/agentguard/agentguard/adapters/genkit"
	"github.com/agentguard/agentguard/guard"
)

// A guarded Genkit tool: same typed function, every call through the chain.
func Example() {
	g := gk.Init(context.Background())
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Principal.Role != "admin" {
			return guard.Deny("role.tools", "admins only")
		}
		return nil
	}))
	tool, err := agentgenkit.DefineTool(g, "refund_order", "Refund an order.",
		agentgenkit.Config{Chain: guard.Chain(scope), Principal: func(context.Context) (guard.Principal, error) {
			return guard.Principal{Role: "reader"}, nil // in production: from the request's verified identity
		}},
		func(tc *ai.ToolContext, in refundIn) (refundOut, error) { return refundOut{Status: "refunded"}, nil })
	fmt.Println(tool.Name(), err)
	// Output: refund_order <nil>
}
