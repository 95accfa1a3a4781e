package eino_test

import (
	"context"
	"fmt"

	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/components/tool/utils"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	agenteino "github.com/agentguard/agentguard/adapters/eino"
	"github.com/agentguard/agentguard/guard"
)

// A reader agent's refund is refused inside Eino's ToolsNode; the model reads the
// refusal in the tool message.
func Example() {
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		return guard.Deny("role.tools", "reader may not refund")
	}))
	mw, _ := agenteino.ToolMiddleware(agenteino.Config{Chain: guard.Chain(scope),
		Principal: func(context.Context) (guard.Principal, error) { return guard.Principal{Role: "reader"}, nil }})
	refund, _ := utils.InferTool("refund_order", "Refund an order.", func(ctx context.Context, a struct {
		OrderID string `json:"order_id"`
	}) (string, error) {
		return "refunded", nil
	})
	node, _ := compose.NewToolNode(context.Background(), &compose.ToolsNodeConfig{
		Tools: []tool.BaseTool{refund}, ToolCallMiddlewares: []compose.ToolMiddleware{mw}})
	msgs, _ := node.Invoke(context.Background(), schema.AssistantMessage("", []schema.ToolCall{
		{ID: "c1", Type: "function", Function: schema.FunctionCall{Name: "refund_order", Arguments: `{"order_id":"A-1"}`}}}))
	fmt.Println(msgs[0].Content)
	// Output: The call to "refund_order" was refused by policy.
}
