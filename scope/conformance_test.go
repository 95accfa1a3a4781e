package scope

import (
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

func TestScoperConformance(t *testing.T) {
	p := supportPolicy(t)
	var allow, deny []*guard.Call
	for _, role := range []string{"reader", "operator", "admin", "intern"} {
		for _, tool := range allTools {
			c := call(role, tool, validArgs[tool])
			if p.CanCall(role, tool) {
				allow = append(allow, c)
			} else {
				deny = append(deny, c)
			}
		}
	}
	deny = append(deny,
		call("admin", "refund_order", `{"amount": 501}`),
		call("admin", "refund_order", `{"amount": 1, "amount": 1000}`),
		call("admin", "Refund_Order", `{"amount": 1}`),
		call("", "read_document", ``),
	)
	if len(allow) != 6 {
		t.Fatalf("reference table allows %d role/tool pairs, want 6", len(allow))
	}
	guardtest.TestScoper(t, p, guardtest.ScoperCases{Allow: allow, Deny: deny})
}
