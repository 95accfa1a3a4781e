package langchaingo_test

import (
	"context"
	"fmt"

	lcguard "github.com/agentguard/agentguard/adapters/langchaingo"
	"github.com/agentguard/agentguard/guard"
)

// Any langchaingo tool keeps its name and description; its calls pass the chain.
func Example() {
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		return guard.Deny("role.tools", "reader may not refund")
	}))
	refund, _ := lcguard.Wrap(refundTool{calls: new(int)}, lcguard.Config{Chain: guard.Chain(scope),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "reader"}, nil }})
	out, err := refund.Call(context.Background(), "A-1002")
	fmt.Println(refund.Name(), "→", out, err)
	// Output: refund_order → The call to "refund_order" was refused by policy. <nil>
}
