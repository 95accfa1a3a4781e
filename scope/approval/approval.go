package approval

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// Approver decides on a call that needs human approval. Review returns nil to let
// the call run now; a [*guard.DenialError] to refuse it; a pending denial (one
// that matches [guard.ErrPending]) when the decision comes later; any other error
// denies (fail closed). Implementations must be safe for concurrent use.
type Approver interface {
	Review(ctx context.Context, c *guard.Call) error
}

// ApproverFunc adapts a function to an [Approver].
type ApproverFunc func(ctx context.Context, c *guard.Call) error

// Review calls f(ctx, c).
func (f ApproverFunc) Review(ctx context.Context, c *guard.Call) error { return f(ctx, c) }

// Request is what an operator is asked to approve: one call, in full.
type Request struct {
	// ID identifies the request; the model is told it in the pending message.
	ID        string          `json:"id"`
	Tool      string          `json:"tool"`
	Args      json.RawMessage `json:"args"`
	CallID    string          `json:"call_id,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Subject   string          `json:"subject,omitempty"`
	Role      string          `json:"role,omitempty"`
	Created   time.Time       `json:"created"`
}

func newRequest(id string, c *guard.Call, now time.Time) Request {
	return Request{
		ID: id, Tool: c.Tool, Args: c.Args, CallID: c.ID, SessionID: c.SessionID,
		Subject: c.Principal.Subject, Role: c.Principal.Role, Created: now,
	}
}

// Config configures a [Gate].
type Config struct {
	// Tools lists the tools that need approval. It must not be empty: a gate
	// that gates nothing is a mistake.
	Tools []string
	// Approver decides. Required.
	Approver Approver
}

// Gate sends calls to the configured tools to an [Approver]. It is a
// [guard.Scoper]; [Gate.Middleware] puts it into a chain at
// [guard.StageApproval]. Other tools pass untouched.
type Gate struct {
	tools    map[string]bool
	approver Approver
}

var _ guard.Scoper = (*Gate)(nil)

// New validates cfg and returns its Gate.
func New(cfg Config) (*Gate, error) {
	if cfg.Approver == nil {
		return nil, fmt.Errorf("approval: nil approver: %w", guard.ErrNilPolicy)
	}
	if len(cfg.Tools) == 0 {
		return nil, errors.New("approval: no tools to gate")
	}
	if slices.Contains(cfg.Tools, "") {
		return nil, errors.New("approval: empty tool name")
	}
	g := &Gate{tools: make(map[string]bool, len(cfg.Tools)), approver: cfg.Approver}
	for _, t := range cfg.Tools {
		g.tools[t] = true
	}
	return g, nil
}

// Authorize implements [guard.Scoper].
func (g *Gate) Authorize(ctx context.Context, c *guard.Call) error {
	if c == nil {
		return guard.Deny("approval.call", "nil call")
	}
	if !g.tools[c.Tool] {
		return nil
	}
	return g.approver.Review(ctx, c)
}

// Middleware returns the middleware that runs the gate at [guard.StageApproval].
func (g *Gate) Middleware(opts ...guard.Option) (guard.Middleware, error) {
	return guard.Authorize(g, append([]guard.Option{guard.WithStage(guard.StageApproval)}, opts...)...)
}

// Callback is the synchronous [Approver]: it asks a function and waits for the
// answer, for example a terminal prompt or a chat-ops message with a reply. Bound
// the wait with [guard.WithTimeout] on the middleware; a timeout denies.
type Callback struct {
	decide func(ctx context.Context, r Request) (bool, error)
	now    func() time.Time
}

var _ Approver = (*Callback)(nil)

// NewCallback returns an approver that calls decide for each call. decide
// returning false refuses the call; an error refuses it too.
func NewCallback(decide func(ctx context.Context, r Request) (approved bool, err error)) (*Callback, error) {
	if decide == nil {
		return nil, fmt.Errorf("approval: nil callback: %w", guard.ErrNilPolicy)
	}
	return &Callback{decide: decide, now: time.Now}, nil
}

// Review implements [Approver].
func (cb *Callback) Review(ctx context.Context, c *guard.Call) error {
	id, err := newID()
	if err != nil {
		return err
	}
	ok, err := cb.decide(ctx, newRequest(id, c, cb.now()))
	if err != nil {
		return fmt.Errorf("approval: callback: %w", err)
	}
	if err := ctx.Err(); err != nil {
		// A decision that arrives after the call was given up does not count.
		return fmt.Errorf("approval: callback answered too late: %w", err)
	}
	if !ok {
		return guard.Deny("approval.denied", "refused by the approver")
	}
	return nil
}

func newID() (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("approval: random id: %w", err)
	}
	return "apr_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]), nil
}
