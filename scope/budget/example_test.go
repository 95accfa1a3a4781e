package budget_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/budget"
)

func ExampleBudget() {
	b, err := budget.New(budget.Config{Limits: []budget.Limit{
		{Name: "refunds-per-day", Kind: budget.Sum, Arg: "amount", MaxSum: 100,
			Window: 24 * time.Hour, Per: budget.PerPrincipal, Tools: []string{"refund_order"}},
	}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, amount := range []string{"60", "30", "20"} {
		err := b.Authorize(ctx, &guard.Call{Tool: "refund_order", Args: json.RawMessage(`{"amount":` + amount + `}`),
			Principal: guard.Principal{Subject: "alice"}})
		var d *guard.DenialError
		if errors.As(err, &d) {
			fmt.Println(amount, "denied:", d.Rule)
			continue
		}
		fmt.Println(amount, "allowed", err)
	}
	// Output:
	// 60 allowed <nil>
	// 30 allowed <nil>
	// 20 denied: budget.refunds-per-day
}

// A chain with a budget stage: the model is told a usage limit was reached, the
// audit trail gets the rule.
func ExampleBudget_Middleware() {
	b, err := budget.New(budget.Config{Limits: []budget.Limit{
		{Name: "search-per-minute", MaxCalls: 2, Window: time.Minute, Per: budget.PerSession, Tools: []string{"search"}},
	}})
	if err != nil {
		panic(err)
	}
	mw, err := b.Middleware()
	if err != nil {
		panic(err)
	}
	h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "results"}, nil
	}))
	for range 3 {
		_, err := h.Handle(context.Background(), &guard.Call{ID: "c", Tool: "search", SessionID: "s1"})
		if err != nil {
			fmt.Println(guard.ModelMessage(err))
			continue
		}
		fmt.Println("ran")
	}
	// Output:
	// ran
	// ran
	// The call to "search" was refused: a usage limit was reached.
}
