// Package otelguard exports agentguard's decisions as OpenTelemetry traces and
// metrics, with nothing sensitive in them.
//
// [Telemetry.Middleware] opens a span per tool call (a child of the caller's trace
// context) and counts calls and their latency by tool and outcome;
// [Telemetry.Auditor], given to every stage with guard.WithAuditor, adds a child
// span per stage decision (stage, decision, rule, mode, duration) and counts
// decisions; [Telemetry.Detector] and [Telemetry.Sandbox] wrap detectors and
// sandboxes to record scores, runs and limits hit.
//
// It lives in its own package so programs that do not want OpenTelemetry do not
// link it.
//
// # Security model
//
// By default spans carry identifiers (call id, session id, role), the stage, the
// decision and the rule, and no argument values, denial reasons or error texts.
// Reasons and error texts are added only when a guard.Redactor is configured, and
// then only after it has scrubbed them; argument values only for the fields named
// in Config.ArgFields, after the same redactor. Metric labels are bounded sets:
// stage, decision, mode, outcome, and tool names from Config.Tools ("other" for any
// name the model invents), detector provenance and verdict, and the sandbox's
// language (a fixed list of common runtimes, else "other") and limit (guard's
// Limit constants, else "other"), so labels can neither explode nor carry model
// text. String attribute values are made valid UTF-8 before they are set.
//
// # Limitations
//
// Stage spans are children of the call span, so the middleware must be the
// outermost stage for them to appear; without it only metrics are recorded. What a
// tool logs or traces by itself is outside this package (use guard.ScrubHandler).
package otelguard
