package inject

import (
	"context"
	"fmt"

	"github.com/agentguard/agentguard/guard"
)

// ScanResults returns the middleware that scans every tool result with d before
// the model sees it (indirect injection), at [guard.StageInjection]: a result
// judged an injection is withheld and the call returns a denial; a detector error
// denies (fail closed). Use [guard.WithMode] with [guard.Monitor] to log instead of
// block. It is [guard.ScanResults] with this package's detector; a nil d is an
// error.
func ScanResults(d guard.InjectionDetector, opts ...guard.Option) (guard.Middleware, error) {
	if d == nil {
		return nil, fmt.Errorf("inject: ScanResults: %w", guard.ErrNilPolicy)
	}
	return guard.ScanResults(d, opts...)
}

// ScanUserInput is the pure check an agent loop runs on the user's message before
// it reaches the model. It returns the detection and, when the text is judged an
// injection, a [*guard.DenialError] at [guard.StageInjection] (matching
// [guard.ErrDenied] and [ErrInjection]). A detector error is returned as a denial
// too: the check fails closed. A nil d denies.
func ScanUserInput(ctx context.Context, d guard.InjectionDetector, text string) (guard.Detection, error) {
	if d == nil {
		return guard.Detection{}, &guard.DenialError{Stage: guard.StageInjection, Rule: "injection.nil_detector",
			Reason: "no injection detector configured", Err: guard.ErrNilPolicy}
	}
	det, err := d.DetectInjection(ctx, guard.Text{Content: text, Provenance: guard.ProvenanceUser})
	if err != nil {
		return det, &guard.DenialError{Stage: guard.StageInjection, Rule: "injection.error",
			Reason: "injection check failed; denying (fail closed)", Err: err}
	}
	if det.Injection {
		rule := "injection.detected"
		if len(det.Rules) > 0 {
			rule = "injection." + det.Rules[0]
		}
		return det, &guard.DenialError{Stage: guard.StageInjection, Rule: rule,
			Reason: fmt.Sprintf("user input looks like a prompt injection or jailbreak (score %.2f)", det.Score),
			Err:    ErrInjection}
	}
	return det, nil
}
