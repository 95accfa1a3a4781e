package scope

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/approval"
	"github.com/agentguard/agentguard/scope/budget"
	"github.com/agentguard/agentguard/scope/flow"
	"github.com/agentguard/agentguard/scope/state"
)

// ControlsConfig supplies what a policy file cannot: where shared state lives and
// who approves.
type ControlsConfig struct {
	// Store keeps budgets and flow state. Nil means one in-process state.Memory
	// shared by every control built here; give a state.Redis to enforce one policy
	// across replicas.
	Store state.Store
	// Approver decides calls that need approval (tools marked "approval: required"
	// and flow.after_untrusted.approve). Required when the policy has any; for
	// example an approval.Queue.
	Approver approval.Approver
	// FlowKey keys the flow stage's fingerprints of secret results. Required (at
	// least 16 bytes, the same on every replica) when Store is set and the policy
	// has flow rules; a random key is made for the in-process store.
	FlowKey []byte
	// Now is the budgets' clock; nil means time.Now.
	Now func() time.Time
}

// Controls are the stages that enforce what a role may do now, given the session
// so far: the policy's budgets, approvals and flow rules. A nil field means the
// policy has no rule for that stage. Put them into a guard.Stages.
type Controls struct {
	Budget   guard.Middleware
	Approval guard.Middleware
	Flow     guard.Middleware
}

// Controls builds the budget, approval and flow stages from the policy's
// budgets, "approval: required" tools, tool labels and flow rules. opts are
// applied to every stage (for example guard.WithAuditor).
func (p *Policy) Controls(cfg ControlsConfig, opts ...guard.Option) (Controls, error) {
	var out Controls
	store := cfg.Store
	if store == nil {
		store = state.NewMemory()
	}
	spec := p.spec
	var err error
	if out.Budget, err = p.budgetStage(spec, store, cfg.Now, opts); err != nil {
		return Controls{}, err
	}
	var gated []string
	for name, t := range spec.Tools {
		if t.Approval == ApprovalRequired {
			gated = append(gated, name)
		}
	}
	slices.Sort(gated)
	if len(gated) > 0 {
		if cfg.Approver == nil {
			return Controls{}, fmt.Errorf("scope: tools %v need approval but ControlsConfig.Approver is nil", gated)
		}
		g, err := approval.New(approval.Config{Tools: gated, Approver: cfg.Approver})
		if err != nil {
			return Controls{}, fmt.Errorf("scope: approval stage: %w", err)
		}
		if out.Approval, err = g.Middleware(opts...); err != nil {
			return Controls{}, err
		}
	}
	if out.Flow, err = p.flowStage(spec, cfg, store, opts); err != nil {
		return Controls{}, err
	}
	return out, nil
}

func (p *Policy) budgetStage(spec Spec, store state.Counter, now func() time.Time, opts []guard.Option) (guard.Middleware, error) {
	global, err := limits(spec.Budgets)
	if err != nil {
		return nil, err
	}
	byRole := map[string]*budget.Budget{}
	var fallback *budget.Budget
	build := func(ls []budget.Limit) (*budget.Budget, error) {
		if len(ls) == 0 {
			return nil, nil
		}
		return budget.New(budget.Config{Limits: ls, Store: store, Now: now})
	}
	if fallback, err = build(global); err != nil {
		return nil, fmt.Errorf("scope: budgets: %w", err)
	}
	for role, r := range spec.Roles {
		own, err := limits(r.Budgets)
		if err != nil {
			return nil, fmt.Errorf("scope: role %q: %w", role, err)
		}
		if len(own) == 0 {
			continue
		}
		// Global limits keep their names, so every role's budget shares their
		// counters in the one store.
		b, err := build(append(slices.Clone(global), own...))
		if err != nil {
			return nil, fmt.Errorf("scope: role %q budgets: %w", role, err)
		}
		byRole[role] = b
	}
	if fallback == nil && len(byRole) == 0 {
		return nil, nil
	}
	// Budget.Middleware (not just Authorize) refunds a summed amount when a
	// later stage denies the call, so each role gets its own middleware and the
	// call is dispatched by role.
	mws := map[string]guard.Middleware{}
	for role, b := range byRole {
		mw, err := b.Middleware(opts...)
		if err != nil {
			return nil, err
		}
		mws[role] = mw
	}
	var fallbackMW guard.Middleware
	if fallback != nil {
		if fallbackMW, err = fallback.Middleware(opts...); err != nil {
			return nil, err
		}
	}
	return func(next guard.Handler) guard.Handler {
		hs := make(map[string]guard.Handler, len(mws))
		for role, mw := range mws {
			hs[role] = mw(next)
		}
		other := next
		if fallbackMW != nil {
			other = fallbackMW(next)
		}
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			if h, ok := hs[c.Principal.Role]; ok {
				return h.Handle(ctx, c)
			}
			return other.Handle(ctx, c)
		})
	}, nil
}

// limits turns policy budgets into budget limits: one per kind a budget sets.
func limits(bs []Budget) ([]budget.Limit, error) {
	var out []budget.Limit
	for _, b := range bs {
		per := budget.PerSession
		switch b.Per {
		case PerSession:
		case PerPrincipal:
			per = budget.PerPrincipal
		case PerGlobal:
			per = 0
		default:
			return nil, fmt.Errorf("budget %q: unknown per %q", b.Name, b.Per)
		}
		if b.MaxCalls > 0 {
			out = append(out, budget.Limit{Name: b.Name, Kind: budget.Calls, Tools: b.Tools, Per: per,
				MaxCalls: int64(b.MaxCalls), Window: b.Window.Std()})
		}
		if b.Sum != nil {
			out = append(out, budget.Limit{Name: b.Name + ".sum", Kind: budget.Sum, Tools: b.Tools, Per: per,
				Arg: b.Sum.Arg, MaxSum: b.Sum.Max, Window: b.Sum.Window.Std()})
		}
		if b.MaxRepeats > 0 {
			out = append(out, budget.Limit{Name: b.Name + ".repeats", Kind: budget.Repeats, Tools: b.Tools, Per: per | budget.PerSession,
				MaxCalls: int64(b.MaxRepeats), Window: b.Window.Std()})
		}
	}
	return out, nil
}

func (p *Policy) flowStage(spec Spec, cfg ControlsConfig, store state.Set, opts []guard.Option) (guard.Middleware, error) {
	var untrusted, secret, egress []string
	for name, t := range spec.Tools {
		if slices.Contains(t.Labels, guard.LabelUntrusted) {
			untrusted = append(untrusted, name)
		}
		if slices.Contains(t.Labels, guard.LabelSecret) {
			secret = append(secret, name)
		}
	}
	for _, nf := range spec.Flow.NoFlow {
		if nf.FromLabel != guard.LabelSecret {
			return nil, fmt.Errorf("scope: flow.no_flow from_label %q: only %q is enforced", nf.FromLabel, guard.LabelSecret)
		}
		egress = append(egress, nf.To...)
	}
	slices.Sort(untrusted)
	slices.Sort(secret)
	deny, approve := spec.Flow.AfterUntrusted.Deny, spec.Flow.AfterUntrusted.Approve
	if len(deny) == 0 && len(approve) == 0 && len(egress) == 0 {
		return nil, nil
	}
	key := cfg.FlowKey
	if key == nil && cfg.Store != nil {
		return nil, errors.New("scope: ControlsConfig.FlowKey is required with a shared Store")
	}
	if key == nil {
		key = randomKey()
	}
	base := flow.Config{UntrustedTools: untrusted, SecretTools: secret, Key: key, Store: store}
	// The recorder: denies after taint and guards egress; records every result.
	rec := base
	rec.SensitiveTools, rec.EgressTools = deny, egress
	if len(deny) == 0 && len(egress) == 0 {
		// Only approvals: one flow both records and sends the approve list to the
		// approver.
		rec.SensitiveTools, rec.Approver = approve, cfg.Approver
		if cfg.Approver == nil {
			return nil, errors.New("scope: flow.after_untrusted.approve needs ControlsConfig.Approver")
		}
		f, err := flow.New(rec)
		if err != nil {
			return nil, fmt.Errorf("scope: flow stage: %w", err)
		}
		return f.Middleware(opts...)
	}
	f, err := flow.New(rec)
	if err != nil {
		return nil, fmt.Errorf("scope: flow stage: %w", err)
	}
	mw, err := f.Middleware(opts...)
	if err != nil {
		return nil, err
	}
	if len(approve) == 0 {
		return mw, nil
	}
	if cfg.Approver == nil {
		return nil, errors.New("scope: flow.after_untrusted.approve needs ControlsConfig.Approver")
	}
	// A second checker over the same store sends the approve list to the approver
	// once the session is tainted.
	ap := base
	ap.SensitiveTools, ap.Approver = approve, cfg.Approver
	fa, err := flow.New(ap)
	if err != nil {
		return nil, fmt.Errorf("scope: flow stage: %w", err)
	}
	check, err := guard.Authorize(fa, append([]guard.Option{guard.WithStage(guard.StageFlow)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return guard.Chain(mw, check), nil
}

func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}
