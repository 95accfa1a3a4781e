package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/guard"
)

func init() {
	registerDemoStep(demoStep{order: 10, name: "chain", title: "The chain: every tool call passes typed guards, and they fail closed", run: demoChain})
}

// demoChain shows the chain's contract with a hand-written guard: an allowed call,
// and a check whose policy store is down denying instead of allowing.
func demoChain(ctx context.Context, d *demo) error {
	d.say("A guard is a guard.Middleware around the tool handler. Here a tiny hand-written")
	d.say("check stands in for the real policy; its store goes down half way through.")
	storeDown := false
	check := guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if storeDown {
			return errors.New("policy store: connection refused")
		}
		return nil
	})
	scope, err := guard.Authorize(check, guard.WithAuditor(d.auditor))
	if err != nil {
		return err
	}
	_, steps, err := d.runAgent(ctx, agent{
		role: "reader", user: "What is your refund policy?",
		tools: d.shop.subset("read_document"), chain: guard.Chain(scope),
		script: []agentloop.Message{
			agentloop.CallTools(agentloop.Call{Tool: "read_document", Args: args(map[string]string{"path": "refund-policy.md"})}),
			agentloop.Say("Refunds are possible within 30 days of delivery."),
		},
	})
	if err != nil {
		return err
	}
	if !allowed(steps, "read_document") {
		return fmt.Errorf("read_document was not allowed")
	}
	storeDown = true
	_, steps, err = d.runAgent(ctx, agent{
		role: "reader", user: "And the shipping times?",
		tools: d.shop.subset("read_document"), chain: guard.Chain(scope),
		script: []agentloop.Message{
			agentloop.CallTools(agentloop.Call{Tool: "read_document", Args: args(map[string]string{"path": "shipping.md"})}),
			agentloop.Say("I can't look that up right now."),
		},
	})
	if err != nil {
		return err
	}
	if !denied(steps, "read_document", guard.StageScope) {
		return fmt.Errorf("a failing check let the call through")
	}
	d.say("A check that errors, panics or times out denies: the agent never runs unguarded.")
	return nil
}
