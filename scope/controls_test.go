package scope_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/agentguard/agentguard/examples/policies"
	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope"
	"github.com/agentguard/agentguard/scope/approval"
)

// The reference policy's budgets, approvals and flow rules become working stages.
func TestControlsFromReferencePolicy(t *testing.T) {
	pol, err := scope.Parse("support.yaml", policies.SupportYAML)
	if err != nil {
		t.Fatal(err)
	}
	approved := map[string]bool{}
	approver := approval.ApproverFunc(func(ctx context.Context, c *guard.Call) error {
		if approved[string(c.Args)] {
			return nil
		}
		return guard.Deny("approval.refused", "not approved")
	})
	if _, err := pol.Controls(scope.ControlsConfig{}); err == nil {
		t.Fatal("a policy with approval tools built without an approver")
	}
	ctl, err := pol.Controls(scope.ControlsConfig{Approver: approver})
	if err != nil {
		t.Fatal(err)
	}
	if ctl.Budget == nil || ctl.Approval == nil || ctl.Flow == nil {
		t.Fatalf("controls = %+v", ctl)
	}
	scopeMW, _ := pol.Middleware()
	h := guard.Stages{Budget: ctl.Budget, Scope: scopeMW, Approval: ctl.Approval, Flow: ctl.Flow}.Chain()(
		guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			r := &guard.Result{Content: "ok"}
			if c.Tool == "read_document" {
				r.Labels = []string{guard.LabelUntrusted}
			}
			return r, nil
		}))
	call := func(role, session, tool, args string) error {
		_, err := h.Handle(context.Background(), &guard.Call{ID: "c", Tool: tool, Args: json.RawMessage(args),
			Principal: guard.Principal{Subject: "u-" + role, Role: role}, SessionID: session})
		return err
	}
	// Approval: refunds need a human; approved ones pass, within the daily sum.
	refund := `{"order_id":"A-1001","amount":300}`
	if err := call("admin", "s1", "refund_order", refund); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("unapproved refund: %v", err)
	}
	approved[refund] = true
	if err := call("admin", "s1", "refund_order", refund); err != nil {
		t.Fatalf("approved refund: %v", err)
	}
	// Budget: 300 + 300 > 500 per principal per day, even in another session.
	if err := call("admin", "s2", "refund_order", refund); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("refund over the daily sum: %v", err)
	}
	// Flow: after an untrusted document, send_email needs approval; before, it does not.
	mail := `{"to":"x@example.com","subject":"s","body":"b"}`
	if err := call("operator", "s3", "send_email", mail); err != nil {
		t.Fatalf("clean session send_email: %v", err)
	}
	if err := call("reader", "s3", "read_document", `{"path":"a"}`); err != nil {
		t.Fatalf("read_document: %v", err)
	}
	if err := call("operator", "s3", "send_email", mail); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("tainted session send_email: %v", err)
	}
	// Loop guard: the same call at most 3 times per session.
	for i := range 4 {
		err := call("reader", "s4", "search_knowledge_base", `{"query":"refunds"}`)
		if (i < 3) != (err == nil) {
			t.Fatalf("repeat %d: %v", i+1, err)
		}
	}
}
