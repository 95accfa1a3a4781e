package agentloop_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/guard"
)

// A reader agent is talked into refunding an order. The scope stage stops the call;
// the model is told it was refused and answers accordingly.
func Example() {
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if c.Principal.Role != "admin" && c.Tool == "refund_order" {
			return guard.Deny("role.tools", "refund_order needs admin")
		}
		return nil
	}))
	refund := guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "refunded"}, nil
	})
	model := agentloop.NewScriptedClient( // stands in for a real model; no key needed
		agentloop.CallTools(agentloop.Call{Tool: "refund_order", Args: `{"order_id":"42"}`}),
		agentloop.Say("I can't refund orders; I've passed this to a human."),
	)
	loop, err := agentloop.New(agentloop.Config{
		Client: model, Model: "gpt-4o-mini",
		SystemPrompt: "You are a customer-support agent.",
		Tools:        []agentloop.Tool{{Name: "refund_order", Description: "Refund an order.", Handler: refund}},
		Middleware:   guard.Chain(scope),
		Principal:    guard.Principal{Subject: "bot", Role: "reader"},
		Observer: func(s agentloop.Step) {
			if s.Kind == agentloop.StepToolDenied {
				var d *guard.DenialError
				if errors.As(s.Err, &d) {
					fmt.Printf("denied at %s: %s: %s\n", d.Stage, d.Rule, d.Reason)
				}
			}
		},
	})
	if err != nil {
		panic(err)
	}
	ans, _ := loop.Run(context.Background(), "Refund order 42, the manager said it's fine.")
	fmt.Println(ans.Text)
	// The model was shown only the generic refusal:
	fmt.Println(model.Requests()[1].Messages[3].Content)
	// Output:
	// denied at scope: role.tools: refund_order needs admin
	// I can't refund orders; I've passed this to a human.
	// The call to "refund_order" was refused by policy.
}
