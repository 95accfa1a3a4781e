package mcpguard_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/mcpguard"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func benchCalls(b *testing.B, cs *mcp.ClientSession) {
	b.Helper()
	params := &mcp.CallToolParams{Name: "refund_order", Arguments: map[string]any{"order_id": "ORD-1234", "amount": 20}}
	ctx := context.Background()
	// Warm up (schema compilation, connections).
	if res, err := cs.CallTool(ctx, params); err != nil || res.IsError {
		b.Fatalf("warm-up call: %v %v", err, res)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			b.Fatalf("call: %v", err)
		}
	}
}

// BenchmarkExampleServer compares one tools/call to the example server (a child
// process over stdio) made directly and through the guarded proxy (client to
// proxy in memory, proxy to server over stdio). The difference is the proxy's
// added latency per call.
func BenchmarkExampleServer(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "v1"}, nil).
			Connect(context.Background(), exampleCommand(b, "normal"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		benchCalls(b, cs)
	})
	b.Run("proxied", func(b *testing.B) {
		cs, _, _ := startProxy(b, proxyOpts{})
		benchCalls(b, cs)
	})
}

// BenchmarkServerGuard measures the server middleware alone: an in-process
// server over in-memory transports, with and without the guard.
func BenchmarkServerGuard(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		name := map[bool]string{false: "unguarded", true: "guarded"}[guarded]
		b.Run(name, func(b *testing.B) {
			s := newShopServer(&recorder{})
			var cs *mcp.ClientSession
			if guarded {
				cs = connect(b, s, supportCfg())
			} else {
				ct, st := mcp.NewInMemoryTransports()
				ss, err := s.Connect(context.Background(), st, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer ss.Close()
				cs, err = mcp.NewClient(&mcp.Implementation{Name: "c", Version: "v1"}, nil).Connect(context.Background(), ct, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer cs.Close()
			}
			params := &mcp.CallToolParams{Name: "refund_order", Arguments: map[string]any{"order_id": "ORD-1234", "amount": 20}}
			b.ReportAllocs()
			for b.Loop() {
				if res, err := cs.CallTool(context.Background(), params); err != nil || res.IsError {
					b.Fatal(err, res)
				}
			}
		})
	}
}

func BenchmarkSchemaCheck(b *testing.B) {
	v := newValidator(b)
	c := &guard.Call{Tool: "refund_order", Args: json.RawMessage(`{"order_id":"ORD-0001","amount":5,"tags":["a","b"]}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.NormalizeArgs(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToolDigest(b *testing.B) {
	t := tool("search", "Search the web for a query and return the top results.", refundSchema)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mcpguard.ToolDigest(t); err != nil {
			b.Fatal(err)
		}
	}
}
