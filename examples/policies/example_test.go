package policies_test

import (
	"fmt"

	"github.com/agentguard/agentguard/examples/policies"
	"github.com/agentguard/agentguard/scope"
)

// The reference policy: each role and the tools it may call.
func Example() {
	p, err := scope.Parse("support.yaml", policies.SupportYAML)
	if err != nil {
		panic(err)
	}
	for _, role := range p.Roles() {
		fmt.Println(role, p.Access(role), p.Tools(role))
	}
	// Output:
	// admin full [provision_server refund_order]
	// operator read-write [send_email update_order_status]
	// reader read-only [read_document search_knowledge_base]
}
