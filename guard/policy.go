package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Scoper authorises a call: may this principal call this tool with these arguments?
// It returns nil to allow and a [*DenialError] (or any error, which denies) to refuse.
// Implementations must be safe for concurrent use and must not modify the call.
type Scoper interface {
	Authorize(ctx context.Context, c *Call) error
}

// ScoperFunc adapts a function to a [Scoper].
type ScoperFunc func(ctx context.Context, c *Call) error

// Authorize calls f(ctx, c).
func (f ScoperFunc) Authorize(ctx context.Context, c *Call) error { return f(ctx, c) }

// ArgValidator validates a call's arguments. It returns nil when they are valid and
// an error naming the field and the rule otherwise; the reason of a returned
// [*DenialError] is shown to the model, so it should say how to fix the call.
// Implementations must be safe for concurrent use and must not modify the call.
type ArgValidator interface {
	ValidateArgs(ctx context.Context, c *Call) error
}

// ArgValidatorFunc adapts a function to an [ArgValidator].
type ArgValidatorFunc func(ctx context.Context, c *Call) error

// ValidateArgs calls f(ctx, c).
func (f ArgValidatorFunc) ValidateArgs(ctx context.Context, c *Call) error { return f(ctx, c) }

// ArgNormalizer is an optional interface for an [ArgValidator] that also produces
// the canonical form of valid arguments (re-encoded, with duplicate keys and
// ambiguities removed). When the validator implements it, [ValidateArgs] calls
// NormalizeArgs instead of ValidateArgs and passes the canonical arguments on, so
// later stages and the tool see exactly what was validated.
type ArgNormalizer interface {
	NormalizeArgs(ctx context.Context, c *Call) (json.RawMessage, error)
}

// Detection is an injection detector's finding.
type Detection struct {
	// Injection is the detector's verdict at its configured threshold.
	Injection bool
	// Score is a calibrated probability-like score in [0, 1].
	Score float64
	// Rules names the signals that fired, for explanation and audit.
	Rules []string
	// Detector names the detector (for ensembles).
	Detector string
}

// InjectionDetector judges whether text carries a prompt injection or jailbreak.
// Implementations must be safe for concurrent use.
type InjectionDetector interface {
	DetectInjection(ctx context.Context, in Text) (Detection, error)
}

// InjectionDetectorFunc adapts a function to an [InjectionDetector].
type InjectionDetectorFunc func(ctx context.Context, in Text) (Detection, error)

// DetectInjection calls f(ctx, in).
func (f InjectionDetectorFunc) DetectInjection(ctx context.Context, in Text) (Detection, error) {
	return f(ctx, in)
}

// Code is a program to run in a sandbox.
type Code struct {
	// Lang names the runtime, for example "python" or "wasm".
	Lang string
	// Source is the program text, for interpreted languages.
	Source string
	// Module is a compiled module (for "wasm").
	Module []byte
	// Args are the program's arguments (argv[1:]).
	Args []string
	// Stdin is the program's standard input.
	Stdin []byte
}

// Limit names a sandbox limit that stopped a run.
type Limit string

// The limits every backend reports.
const (
	LimitNone    Limit = ""
	LimitTime    Limit = "time"
	LimitMemory  Limit = "memory"
	LimitOutput  Limit = "output"
	LimitModule  Limit = "module_size"
	LimitProcess Limit = "process"
)

// Execution is the outcome of a sandboxed run that started. A program that fails
// is an Execution with a non-zero ExitCode, not an error; errors are reserved for
// the sandbox itself failing (or refusing to start).
type Execution struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	// LimitHit names the limit that stopped the run, if any.
	LimitHit Limit
	Duration time.Duration
}

// Sandbox runs untrusted code with no access to the host beyond what it was
// configured with. Implementations must be safe for concurrent use and must stop
// the program when ctx ends.
type Sandbox interface {
	Exec(ctx context.Context, code Code) (*Execution, error)
}

// SandboxFunc adapts a function to a [Sandbox].
type SandboxFunc func(ctx context.Context, code Code) (*Execution, error)

// Exec calls f(ctx, code).
func (f SandboxFunc) Exec(ctx context.Context, code Code) (*Execution, error) { return f(ctx, code) }

// Output is text on its way to a person or a model: a tool result, or the agent's
// answer.
type Output struct {
	Text       string
	Provenance Provenance
	// Call is the tool call that produced the output, or nil for the agent's answer.
	Call *Call
	// SessionID and Principal identify the conversation when Call is nil.
	SessionID string
	Principal Principal
}

// Action is an output filter's verdict.
type Action uint8

const (
	// Allow lets the output through unchanged.
	Allow Action = iota
	// Block stops the output.
	Block
	// Rewrite lets the output through as [Verdict.Text] (for example redacted).
	Rewrite
)

var actionNames = [...]string{"allow", "block", "rewrite"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", a)
}

// Verdict is an output filter's decision.
type Verdict struct {
	Action Action
	// Text is the rewritten output when Action is Rewrite.
	Text string
	// Categories names what was found (for example Llama Guard's "S7", "secret",
	// "pii.email").
	Categories []string
	// Rule and Reason explain a block or rewrite for the audit trail.
	Rule   string
	Reason string
}

// OutputFilter judges text before anyone sees it. Implementations must be safe for
// concurrent use and must not modify out.
type OutputFilter interface {
	FilterOutput(ctx context.Context, out *Output) (Verdict, error)
}

// OutputFilterFunc adapts a function to an [OutputFilter].
type OutputFilterFunc func(ctx context.Context, out *Output) (Verdict, error)

// FilterOutput calls f(ctx, out).
func (f OutputFilterFunc) FilterOutput(ctx context.Context, out *Output) (Verdict, error) {
	return f(ctx, out)
}
