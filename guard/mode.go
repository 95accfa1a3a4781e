package guard

import "fmt"

// Mode says what a stage does with a denial.
type Mode uint8

const (
	// Enforce denies: the call stops and the model is shown a refusal. The zero value.
	Enforce Mode = iota
	// Monitor records what would have been denied and lets the call through. Use it to
	// roll out a policy; an audit event with [DecisionMonitored] is written for each
	// would-be denial.
	Monitor
)

func (m Mode) String() string {
	switch m {
	case Enforce:
		return "enforce"
	case Monitor:
		return "monitor"
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// Decision is the outcome a stage records for a call.
type Decision uint8

const (
	// DecisionAllow: the check passed.
	DecisionAllow Decision = iota
	// DecisionDeny: the check denied and the call was stopped.
	DecisionDeny
	// DecisionMonitored: the check denied in monitor mode; the call went on.
	DecisionMonitored
	// DecisionError: the check failed (error, panic or timeout) and the call was
	// denied, failing closed.
	DecisionError
	// DecisionPending: the call was parked awaiting approval.
	DecisionPending
	// DecisionRewrite: the stage let the call or result through changed (for
	// example a redacted output).
	DecisionRewrite
)

var decisionNames = [...]string{"allow", "deny", "monitored", "error", "pending", "rewrite"}

func (d Decision) String() string {
	if int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return fmt.Sprintf("Decision(%d)", d)
}

// Stage names a position in the chain. Order matters and is part of the contract:
//
//	model ──call──▶ audit ▶ budget ▶ scope ▶ approval ▶ flow ▶ args ▶ secrets ▶ TOOL
//	model ◀─result─ audit ◀ output ◀ spotlight ◀ injection ◀ secrets ◀
type Stage string

// The stages of the reference chain.
const (
	StageAudit     Stage = "audit"
	StageBudget    Stage = "budget"
	StageScope     Stage = "scope"
	StageApproval  Stage = "approval"
	StageFlow      Stage = "flow"
	StageArgs      Stage = "args"
	StageSecrets   Stage = "secrets"
	StageInjection Stage = "injection"
	StageSpotlight Stage = "spotlight"
	StageOutput    Stage = "output"
	StageTool      Stage = "tool"
)
