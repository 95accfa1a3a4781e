package guard

import (
	"errors"
	"fmt"
)

// ErrDenied is matched (with errors.Is) by every denial a guard returns.
var ErrDenied = errors.New("agentguard: denied")

// ErrPending is matched by a denial whose call is parked awaiting human approval.
// It also matches [ErrDenied]: a pending call has not run.
var ErrPending = errors.New("agentguard: awaiting approval")

// ErrNilPolicy is returned by constructors given a nil policy, detector, filter or
// resolver. A missing policy is a construction error, never allow-all.
var ErrNilPolicy = errors.New("agentguard: nil policy")

// DenialError is the typed error of a denial. It carries the detail for the audit
// trail; the model is shown only [DenialError.ModelMessage].
type DenialError struct {
	// Stage is the chain stage that denied.
	Stage Stage
	// Rule names the rule that matched, for example "role.tools" or "budget.calls".
	Rule string
	// Reason explains the denial to an operator. It must never contain secret values.
	Reason string
	// CallID and Tool identify the call.
	CallID string
	Tool   string
	// Pending is set when the call is parked awaiting approval rather than refused.
	Pending bool
	// ApprovalID identifies the parked call when Pending is set.
	ApprovalID string
	// Err is the underlying cause, if any (a check's error, a timeout, a panic).
	Err error
}

func (e *DenialError) Error() string {
	verb := "denied"
	if e.Pending {
		verb = "parked for approval"
	}
	s := fmt.Sprintf("agentguard: %s %s call %q", e.Stage, verb, e.Tool)
	if e.CallID != "" {
		s += " (" + e.CallID + ")"
	}
	if e.Rule != "" {
		s += ": " + e.Rule
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes a DenialError match [ErrDenied], and [ErrPending] when pending.
func (e *DenialError) Is(target error) bool {
	return target == ErrDenied || (e.Pending && target == ErrPending)
}

func (e *DenialError) Unwrap() error { return e.Err }

// ModelMessage is the short, generic text shown to the model. It names the tool and
// the stage's kind of refusal but not the rule or reason, so the model cannot learn
// the policy by probing it.
func (e *DenialError) ModelMessage() string {
	if e.Pending {
		return fmt.Sprintf("The call to %q is awaiting human approval (id %s). Do not retry it; tell the user it is pending.", e.Tool, e.ApprovalID)
	}
	switch e.Stage {
	case StageArgs:
		// Argument errors are actionable by the model and reveal no policy; the
		// reason is written for the model by the validator.
		if e.Reason != "" {
			return fmt.Sprintf("The arguments for %q were rejected: %s", e.Tool, e.Reason)
		}
		return fmt.Sprintf("The arguments for %q were rejected.", e.Tool)
	case StageInjection, StageOutput:
		return fmt.Sprintf("The result of %q was withheld by a content filter.", e.Tool)
	case StageBudget:
		return fmt.Sprintf("The call to %q was refused: a usage limit was reached.", e.Tool)
	}
	return fmt.Sprintf("The call to %q was refused by policy.", e.Tool)
}

// ModelMessage returns the text to show the model for err: the generic refusal for a
// denial, and a generic failure for any other error (whose text may carry internal
// detail the model must not see).
func ModelMessage(err error) string {
	var d *DenialError
	if errors.As(err, &d) {
		return d.ModelMessage()
	}
	return "The tool failed."
}

// Deny returns a denial for stage with rule and reason. Checks use it to say why.
// Its Stage, CallID and Tool are filled in by the stage that runs the check when
// left empty.
func Deny(rule, reason string) *DenialError {
	return &DenialError{Rule: rule, Reason: reason}
}
