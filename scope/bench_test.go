package scope

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

// BenchmarkAuthorize measures the allow path of Policy.Authorize. Targets:
// allow-list ≤ 200 ns and 0 allocations; with a CEL condition ≤ 2 µs.
func BenchmarkAuthorize(b *testing.B) {
	p := supportPolicy(b)
	ctx := context.Background()
	b.Run("allow-list", func(b *testing.B) {
		c := call("reader", "read_document", `{"path":"refund-policy.md"}`)
		b.ReportAllocs()
		defer cpuTimer(b)()
		for b.Loop() {
			if err := p.Authorize(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cel", func(b *testing.B) {
		c := call("admin", "refund_order", `{"order_id":"A-1001","amount":50}`)
		b.ReportAllocs()
		defer cpuTimer(b)()
		for b.Loop() {
			if err := p.Authorize(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("deny", func(b *testing.B) {
		c := call("reader", "refund_order", `{"order_id":"A-1001","amount":50}`)
		b.ReportAllocs()
		defer cpuTimer(b)()
		for b.Loop() {
			if err := p.Authorize(ctx, c); err == nil {
				b.Fatal("allowed")
			}
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	q := "SELECT o.id, o.status, count(*) FROM orders o JOIN items i ON i.order_id = o.id WHERE o.customer = $1 GROUP BY o.id, o.status"
	b.ReportAllocs()
	defer cpuTimer(b)()
	for b.Loop() {
		if _, err := Classify(q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckHTTP(b *testing.B) {
	p := supportPolicy(b)
	b.ReportAllocs()
	defer cpuTimer(b)()
	for b.Loop() {
		if err := p.CheckHTTP("operator", "POST", "https://api.example.com/orders/1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeArgs(b *testing.B) {
	raw := json.RawMessage(`{"order_id":"A-1001","amount":50,"note":"customer asked twice"}`)
	b.ReportAllocs()
	defer cpuTimer(b)()
	for b.Loop() {
		if _, err := decodeArgs(raw); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = guard.StageScope
