package budget_test

import (
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
	"github.com/agentguard/agentguard/scope/budget"
)

func TestConformance(t *testing.T) {
	b := mustNew(t, budget.Config{Limits: []budget.Limit{
		{Name: "search", Tools: []string{"search"}, MaxCalls: 1 << 30},
		{Name: "never", Tools: []string{"provision_server"}},
		{Name: "refunds", Kind: budget.Sum, Arg: "amount", MaxSum: 100, Tools: []string{"refund_order"}},
	}})
	guardtest.TestScoper(t, b, guardtest.ScoperCases{
		Allow: []*guard.Call{call("search", `{"q":"x"}`), call("refund_order", `{"amount":0}`)},
		Deny: []*guard.Call{
			call("provision_server", `{}`),
			call("refund_order", `{"amount":101}`),
			call("refund_order", `{"amount":"1"}`),
			call("refund_order", `{"amount":1,"AMOUNT":1}`),
		},
	})
	mw, err := b.Middleware()
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestMiddleware(t, mw, []*guard.Call{call("search", `{}`)}, []*guard.Call{call("provision_server", `{}`)})
}
