package approval_test

import (
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
	"github.com/agentguard/agentguard/scope/approval"
)

func TestConformance(t *testing.T) {
	q, err := approval.NewQueue(approval.QueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := approval.New(approval.Config{Tools: []string{"refund_order"}, Approver: q})
	if err != nil {
		t.Fatal(err)
	}
	// Parked calls match guard.ErrDenied: they did not run.
	guardtest.TestScoper(t, g, guardtest.ScoperCases{
		Allow: []*guard.Call{{ID: "1", Tool: "search", Args: []byte(`{}`)}},
		Deny:  []*guard.Call{refund(`{"amount":5}`), refund(`{"amount":5,"Amount":5}`)},
	})
}
