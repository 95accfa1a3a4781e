// Quickstart wraps an existing tool handler in a guard chain: only admins may
// refund, every decision is logged, and a reader agent's refund is refused.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/agentguard/agentguard/guard"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(out *os.File) error {
	// Your existing tool.
	refund := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "refunded"}, nil
	})

	// A policy: in a real service, scope.Load("support.yaml") gives you this.
	onlyAdmins := guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Principal.Role != "admin" {
			return guard.Deny("role.tools", c.Principal.Role+" may not call "+c.Tool)
		}
		return nil
	})
	audit := guard.SlogAuditor(slog.New(slog.NewTextHandler(out, nil)))
	scope, err := guard.Authorize(onlyAdmins, guard.WithAuditor(audit))
	if err != nil {
		return err
	}
	tool := guard.Chain(scope)(refund)

	// The model, talked into it by an injected e-mail, asks for a refund.
	_, err = tool.Handle(context.Background(), &guard.Call{
		ID: "call_1", Tool: "refund_order", Args: []byte(`{"order_id":"A-1002","amount":1240}`),
		Principal: guard.Principal{Subject: "support-bot", Role: "reader"},
	})
	fmt.Fprintln(out, "model is told:", guard.ModelMessage(err))
	return nil
}
