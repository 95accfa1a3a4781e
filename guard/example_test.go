package guard_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentguard/agentguard/guard"
)

func trace(name string) guard.Middleware {
	return func(next guard.Handler) guard.Handler {
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			fmt.Println(name, "sees the call")
			r, err := next.Handle(ctx, c)
			fmt.Println(name, "sees the result")
			return r, err
		})
	}
}

// Chain puts its first middleware outermost: it sees the call first and the result
// last.
func ExampleChain() {
	tool := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		fmt.Println("tool runs")
		return &guard.Result{Content: "done"}, nil
	})
	h := guard.Chain(trace("audit"), trace("scope"), trace("args"))(tool)
	_, _ = h.Handle(context.Background(), &guard.Call{Tool: "read_document"})
	// Output:
	// audit sees the call
	// scope sees the call
	// args sees the call
	// tool runs
	// args sees the result
	// scope sees the result
	// audit sees the result
}

// A Scoper denies with a typed error; the model is shown a generic refusal while the
// error keeps the rule and reason for the audit trail.
func ExampleAuthorize() {
	readerTools := map[string]bool{"read_document": true, "search_knowledge_base": true}
	scope, err := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Principal.Role == "reader" && readerTools[c.Tool] {
			return nil
		}
		return guard.Deny("role.tools", fmt.Sprintf("role %q may not call %q", c.Principal.Role, c.Tool))
	}))
	if err != nil {
		panic(err)
	}
	refund := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "refunded"}, nil
	})
	_, err = scope(refund).Handle(context.Background(), &guard.Call{
		ID: "call_1", Tool: "refund_order", Principal: guard.Principal{Role: "reader"},
	})
	fmt.Println(errors.Is(err, guard.ErrDenied))
	fmt.Println(err)
	fmt.Println(guard.ModelMessage(err))
	// Output:
	// true
	// agentguard: scope denied call "refund_order" (call_1): role.tools: role "reader" may not call "refund_order"
	// The call to "refund_order" was refused by policy.
}

// Stages composes a chain in the order the design requires, whatever order the
// fields are set in.
func ExampleStages() {
	tool := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		fmt.Println("tool runs")
		return &guard.Result{Content: "done"}, nil
	})
	h := guard.Stages{
		Secrets:   trace("secrets"),
		Scope:     trace("scope"),
		Injection: trace("injection"),
		Args:      trace("args"),
		Audit:     trace("audit"),
	}.Chain()(tool)
	_, _ = h.Handle(context.Background(), &guard.Call{Tool: "send_email"})
	// Output:
	// audit sees the call
	// injection sees the call
	// scope sees the call
	// args sees the call
	// secrets sees the call
	// tool runs
	// secrets sees the result
	// args sees the result
	// scope sees the result
	// injection sees the result
	// audit sees the result
}
