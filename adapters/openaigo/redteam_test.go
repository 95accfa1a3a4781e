package openaigo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/agentguard/agentguard/adapters/openaigo"
	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/guard"
)

// Red-team test: a model that calls a registered tool's name as a "custom" tool
// (free-form input, not offered by the loop) must not reach that tool.
func TestRedTeamCustomToolCallIsNotTheFunction(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			fmt.Fprint(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"tool_calls",
"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"custom","custom":{"name":"refund_order","input":"A-1"}}]}}]}`)
			return
		}
		fmt.Fprint(w, `{"id":"y","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"done"}}]}`)
	}))
	defer srv.Close()
	oc := openai.NewClient(option.WithBaseURL(srv.URL+"/"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	client, err := openaigo.NewClient(&oc)
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	loop, err := agentloop.New(agentloop.Config{Client: client, Model: "m", InsecureNoMiddleware: true,
		Tools: []agentloop.Tool{{Name: "refund_order", Handler: guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
			ran = true
			return &guard.Result{Content: "refunded"}, nil
		})}}})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := loop.Run(context.Background(), "refund")
	if err != nil {
		t.Fatal(err)
	}
	if ran || ans.Denied != 1 {
		t.Fatalf("custom tool call reached the function: ran=%v %+v", ran, ans)
	}
}
