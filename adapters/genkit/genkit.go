// Package genkit puts agentguard's guard chain around Firebase Genkit tools
// (github.com/firebase/genkit/go).
//
// [DefineTool] defines a Genkit tool exactly like genkit.DefineTool, with the same
// typed function, but every call passes the chain: the function receives the input
// as it left the chain (validated, with secrets resolved), and the model receives
// the output as it came back (scanned, spotlighted, scrubbed).
//
// A denial becomes the tool's output, {"error": "<generic refusal>"}, so Genkit
// sends it to the model as the tool response and the model reads it. A call parked
// for human approval (guard.ErrPending) becomes a Genkit interrupt
// (ai.ToolContext.Interrupt) carrying the approval id, so the application can ask a
// human and resume the generation.
//
// The tool's declared output schema is therefore "any": a refusal is not of the
// function's output type.
//
// It is its own Go module so that users of the core module do not pull in Genkit.
package genkit

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/firebase/genkit/go/ai"
	gk "github.com/firebase/genkit/go/genkit"

	"github.com/agentguard/agentguard/guard"
)

// Config configures a guarded tool.
type Config struct {
	// Chain guards every call. Required.
	Chain guard.Middleware
	// Principal returns who the agent acts for. Required; an error denies.
	Principal func(ctx context.Context) (guard.Principal, error)
	// SessionID names the conversation for budgets and flow rules. Optional.
	SessionID func(ctx context.Context) string
}

// Refusal is the output a denied call returns to the model.
type Refusal struct {
	Error string `json:"error"`
}

type callState[Out any] struct {
	tc  *ai.ToolContext
	out Out
	raw string
	ran bool
}

type stateKey struct{}

// DefineTool defines and registers a guarded tool. It returns an error for an
// invalid configuration, where genkit.DefineTool has none to return.
func DefineTool[In, Out any](g *gk.Genkit, name, description string, cfg Config, fn ai.ToolFunc[In, Out], opts ...ai.ToolOption) (*ai.ToolDef[In, any], error) {
	if g == nil || fn == nil {
		return nil, errors.New("genkit: nil Genkit or tool function")
	}
	if cfg.Chain == nil {
		return nil, fmt.Errorf("genkit: Config.Chain is nil: %w", guard.ErrNilPolicy)
	}
	if cfg.Principal == nil {
		return nil, errors.New("genkit: Config.Principal is required")
	}
	h := cfg.Chain(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		st, _ := ctx.Value(stateKey{}).(*callState[Out])
		if st == nil {
			return nil, errors.New("genkit: missing tool context")
		}
		var in In
		if err := json.Unmarshal(c.Args, &in); err != nil {
			return nil, fmt.Errorf("genkit: arguments after the chain: %w", err)
		}
		tc := *st.tc
		tc.Context = ctx
		out, err := fn(&tc, in)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("genkit: encoding the tool's output: %w", err)
		}
		st.out, st.raw, st.ran = out, string(raw), true
		return &guard.Result{Content: string(raw)}, nil
	}))
	guarded := func(tc *ai.ToolContext, in In) (any, error) {
		p, err := cfg.Principal(tc)
		if err != nil {
			return Refusal{Error: "The call was refused: the caller could not be identified."}, nil
		}
		args, err := json.Marshal(in)
		if err != nil {
			return Refusal{Error: "The arguments could not be read."}, nil
		}
		c := &guard.Call{ID: "genkit_" + rand.Text(), Tool: name, Args: args, Principal: p}
		if cfg.SessionID != nil {
			c.SessionID = cfg.SessionID(tc)
		}
		st := &callState[Out]{tc: tc}
		r, err := h.Handle(context.WithValue(tc.Context, stateKey{}, st), c)
		var de *guard.DenialError
		switch {
		case errors.As(err, &de) && de.Pending:
			return nil, tc.Interrupt(&ai.InterruptOptions{Metadata: map[string]any{
				"agentguard_approval_id": de.ApprovalID, "message": de.ModelMessage()}})
		case err != nil:
			return Refusal{Error: guard.ModelMessage(err)}, nil
		case r == nil:
			return nil, nil
		case st.ran && r.Content == st.raw:
			return st.out, nil
		}
		// A result stage rewrote the output (spotlighting, redaction): the model
		// gets the rewritten text.
		return r.Content, nil
	}
	return gk.DefineTool(g, name, description, guarded, opts...), nil
}
