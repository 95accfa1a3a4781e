package guard

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
)

// Principal is the identity a call is made for: who the agent acts on behalf of and
// the role that bounds what it may do. The zero Principal has no role and is denied
// by every policy in this module.
type Principal struct {
	// Subject identifies the end user or service (for example a JWT "sub" claim).
	Subject string
	// Role names the least-privilege role, for example "reader", "operator", "admin".
	Role string
	// Scopes are fine-grained grants carried by the principal's credential.
	Scopes []string
}

// HasScope reports whether p carries scope s.
func (p Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// Call is one tool invocation requested by a model. Middleware must treat a *Call as
// read-only: a stage that needs to change it (for example to pass on canonical
// arguments) passes a modified copy to the next handler, see [Call.Clone].
type Call struct {
	// ID is unique per call; it links the audit events of one call.
	ID string
	// Tool is the name of the tool the model asked for.
	Tool string
	// Args is the raw JSON arguments object the model produced. It is untrusted.
	Args json.RawMessage
	// Principal is who the call is made for.
	Principal Principal
	// SessionID groups the calls of one conversation (budgets, flow rules).
	SessionID string
	// Metadata carries caller-defined values. Guards never copy it into the model's
	// context.
	Metadata map[string]string
}

// Clone returns a deep copy of c.
func (c *Call) Clone() *Call {
	if c == nil {
		return nil
	}
	cp := *c
	cp.Args = slices.Clone(c.Args)
	cp.Principal.Scopes = slices.Clone(c.Principal.Scopes)
	cp.Metadata = maps.Clone(c.Metadata)
	return &cp
}

// WithArgs returns a shallow copy of c whose arguments are args.
func (c *Call) WithArgs(args json.RawMessage) *Call {
	cp := *c
	cp.Args = args
	return &cp
}

// Result is what a tool returns. Its Content goes back to the model, so every stage
// on the way back treats it as untrusted input.
type Result struct {
	// Content is the text shown to the model.
	Content string
	// Labels mark where the content came from for flow rules, for example
	// [LabelUntrusted] for a web page or an e-mail body, or [LabelSecret] for
	// data read from a secret-bearing tool.
	Labels []string
	// Metadata carries caller-defined values that are not shown to the model.
	Metadata map[string]string
}

// Flow labels understood across the module. Tools may add their own.
const (
	// LabelUntrusted marks content an attacker may have written (web pages, e-mail,
	// tickets, documents from outside).
	LabelUntrusted = "untrusted"
	// LabelSecret marks content read from a secret-bearing source.
	LabelSecret = "secret"
)

// HasLabel reports whether r carries label l.
func (r *Result) HasLabel(l string) bool { return r != nil && slices.Contains(r.Labels, l) }

// Provenance says where a piece of text came from. The same words mean different
// things from different sources: "ignore previous instructions" in a user message is
// a jailbreak attempt, in a retrieved web page it is an indirect injection.
type Provenance uint8

const (
	// ProvenanceUnknown is treated as untrusted by every detector.
	ProvenanceUnknown Provenance = iota
	// ProvenanceSystem is the application's own instructions.
	ProvenanceSystem
	// ProvenanceUser is the end user's message.
	ProvenanceUser
	// ProvenanceToolResult is text a tool returned.
	ProvenanceToolResult
	// ProvenanceRetrieved is a retrieved document (RAG, web page, e-mail body).
	ProvenanceRetrieved
	// ProvenanceModelOutput is text the model produced.
	ProvenanceModelOutput
)

var provenanceNames = [...]string{"unknown", "system", "user", "tool_result", "retrieved", "model_output"}

func (p Provenance) String() string {
	if int(p) < len(provenanceNames) {
		return provenanceNames[p]
	}
	return "unknown"
}

// Untrusted reports whether text of this provenance may carry an attacker's words
// that arrive without the user having typed them (indirect injection).
func (p Provenance) Untrusted() bool {
	switch p {
	case ProvenanceSystem, ProvenanceUser:
		return false
	}
	return true
}

// Text is a piece of text with its provenance.
type Text struct {
	Content    string
	Provenance Provenance
	// Source names the origin, for example the tool name or a URL. Optional.
	Source string
}

type callKey struct{}

// ContextWithCall returns a context that carries c. Stages that run outside the
// handler signature (secret resolvers, sandboxes) find the call with [CallFromContext].
func ContextWithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFromContext returns the call stored by [ContextWithCall], or nil.
func CallFromContext(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}
