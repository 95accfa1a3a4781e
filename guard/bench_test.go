package guard_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/agentguard/agentguard/guard"
)

// BenchmarkChain measures six pass-through stages around a no-op tool: the cost the
// chain itself adds to every call.
func BenchmarkChain(b *testing.B) {
	pass := guard.ScoperFunc(func(context.Context, *guard.Call) error { return nil })
	valid := guard.ArgValidatorFunc(func(context.Context, *guard.Call) error { return nil })
	clean := guard.InjectionDetectorFunc(func(context.Context, guard.Text) (guard.Detection, error) {
		return guard.Detection{}, nil
	})
	allow := guard.OutputFilterFunc(func(context.Context, *guard.Output) (guard.Verdict, error) {
		return guard.Verdict{}, nil
	})
	must := func(m guard.Middleware, err error) guard.Middleware {
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	res := &guard.Result{Content: "ok"}
	tool := guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) { return res, nil })
	h := guard.Chain(
		must(guard.Authorize(pass, guard.WithStage(guard.StageBudget))),
		must(guard.Authorize(pass)),
		must(guard.Authorize(pass, guard.WithStage(guard.StageApproval))),
		must(guard.ValidateArgs(valid)),
		must(guard.ScanResults(clean)),
		must(guard.FilterResults(allow)),
	)(tool)
	c := &guard.Call{ID: "call_1", Tool: "read_document", Args: json.RawMessage(`{"path":"a.txt"}`),
		Principal: guard.Principal{Role: "reader"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Handle(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
