package approval_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/approval"
)

// A refund is parked, an operator approves it, and the model's retry runs once.
func ExampleQueue() {
	ctx := context.Background()
	q, err := approval.NewQueue(approval.QueueConfig{
		Notify: func(_ context.Context, r approval.Request) { fmt.Println("operator paged:", r.Tool, string(r.Args)) },
	})
	if err != nil {
		panic(err)
	}
	gate, err := approval.New(approval.Config{Tools: []string{"refund_order"}, Approver: q})
	if err != nil {
		panic(err)
	}
	mw, err := gate.Middleware()
	if err != nil {
		panic(err)
	}
	h := mw(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "refunded"}, nil
	}))
	call := &guard.Call{ID: "c1", Tool: "refund_order", Args: []byte(`{"order":"o-7","amount":25}`), SessionID: "s1"}

	_, err = h.Handle(ctx, call)
	var d *guard.DenialError
	errors.As(err, &d)
	fmt.Println("pending:", errors.Is(err, guard.ErrPending))

	if err := q.Approve(ctx, d.ApprovalID); err != nil {
		panic(err)
	}
	r, err := h.Handle(ctx, call) // the retry
	fmt.Println(r.Content, err)
	_, err = h.Handle(ctx, call) // the approval was used up
	fmt.Println("pending again:", errors.Is(err, guard.ErrPending))
	// Output:
	// operator paged: refund_order {"order":"o-7","amount":25}
	// pending: true
	// refunded <nil>
	// operator paged: refund_order {"order":"o-7","amount":25}
	// pending again: true
}

func ExampleNewCallback() {
	cb, err := approval.NewCallback(func(_ context.Context, r approval.Request) (bool, error) {
		return r.Subject == "alice", nil // stands in for asking a person
	})
	if err != nil {
		panic(err)
	}
	for _, who := range []string{"alice", "mallory"} {
		err := cb.Review(context.Background(), &guard.Call{Tool: "delete_account", Principal: guard.Principal{Subject: who}})
		fmt.Println(who, err == nil)
	}
	// Output:
	// alice true
	// mallory false
}
