package openaigo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/agentguard/agentguard/adapters/openaigo"
	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/guard"
)

// The official client drives the guarded loop. A stub server stands in for the
// model, which asks for a refund the reader role may not make.
func Example() {
	turn := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		turn++
		w.Header().Set("Content-Type", "application/json")
		if turn == 1 {
			fmt.Fprint(w, `{"id":"1","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"refund_order","arguments":"{}"}}]}}]}`)
			return
		}
		fmt.Fprint(w, `{"id":"2","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Refunds need an admin."}}]}`)
	}))
	defer srv.Close()

	oc := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	client, _ := openaigo.NewClient(&oc)
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		return guard.Deny("role.tools", "reader may not refund")
	}))
	loop, _ := agentloop.New(agentloop.Config{Client: client, Model: "gpt-4o-mini", Middleware: guard.Chain(scope),
		Principal: guard.Principal{Role: "reader"},
		Tools: []agentloop.Tool{{Name: "refund_order", Handler: guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
			return &guard.Result{Content: "refunded"}, nil
		})}}})
	ans, err := loop.Run(context.Background(), "refund my order")
	fmt.Println(ans.Text, ans.Denied, err)
	// Output: Refunds need an admin. 1 <nil>
}
