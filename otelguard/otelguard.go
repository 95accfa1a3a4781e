package otelguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentguard/agentguard/guard"
)

// ScopeName is the instrumentation scope of every span and instrument.
const ScopeName = "github.com/agentguard/agentguard/otelguard"

// Config configures [New]. The zero value records spans and metrics through the
// global providers and carries no argument values, reasons or error texts.
type Config struct {
	// TracerProvider and MeterProvider default to the global ones (otel.Get…).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Tools are the tool names that may appear as a metric label. A call to any
	// other name (a model can invent names) is labelled "other", so labels stay
	// bounded and carry nothing the model wrote.
	Tools []string
	// ArgFields opts in, per field, to recording top-level argument values on the
	// call span. They are recorded only after Redactor, and only when it is set.
	ArgFields []string
	// Redactor scrubs denial reasons, error texts and opted-in argument fields
	// before they are put on a span. Without it those are left out entirely.
	Redactor guard.Redactor
}

// Telemetry records agentguard's spans and metrics. It is safe for concurrent use.
type Telemetry struct {
	cfg    Config
	tracer trace.Tracer
	tools  map[string]attribute.KeyValue

	calls         metric.Int64Counter
	callDuration  metric.Float64Histogram
	decisions     metric.Int64Counter
	stageDuration metric.Float64Histogram
	scores        metric.Float64Histogram
	sandboxRuns   metric.Int64Counter
	sandboxTime   metric.Float64Histogram

	// Precomputed measurement options for the hot path: the variadic option
	// slices are built once, so recording allocates nothing.
	outcomeSets map[string]map[string][]metric.AddOption
	outcomeRecs map[string]map[string][]metric.RecordOption
	// stages caches the options of each stage name seen. Stage names come from
	// code, never from the model, so it stays small.
	mu     sync.RWMutex
	stages map[guard.Stage]*stageOpts
}

// stageOpts holds a stage's measurement options: one per decision and mode for the
// decision counter, one for the latency histogram.
type stageOpts struct {
	decisions [8][2][]metric.AddOption
	duration  []metric.RecordOption
}

func (t *Telemetry) stageOptions(s guard.Stage) *stageOpts {
	t.mu.RLock()
	so := t.stages[s]
	t.mu.RUnlock()
	if so != nil {
		return so
	}
	so = &stageOpts{duration: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(KeyStage.String(string(s))))}}
	for d := range so.decisions {
		for m := range so.decisions[d] {
			so.decisions[d][m] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(KeyStage.String(string(s)),
				KeyDecision.String(guard.Decision(d).String()), KeyMode.String(guard.Mode(m).String())))}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stages == nil {
		t.stages = map[guard.Stage]*stageOpts{}
	}
	if old := t.stages[s]; old != nil {
		return old
	}
	t.stages[s] = so
	return so
}

// Attribute keys.
const (
	KeyTool       = attribute.Key("agentguard.tool")
	KeyCallID     = attribute.Key("agentguard.call_id")
	KeySessionID  = attribute.Key("agentguard.session_id")
	KeyRole       = attribute.Key("agentguard.role")
	KeyStage      = attribute.Key("agentguard.stage")
	KeyDecision   = attribute.Key("agentguard.decision")
	KeyMode       = attribute.Key("agentguard.mode")
	KeyRule       = attribute.Key("agentguard.rule")
	KeyReason     = attribute.Key("agentguard.reason")
	KeyOutcome    = attribute.Key("agentguard.outcome")
	KeyProvenance = attribute.Key("agentguard.provenance")
	KeyInjection  = attribute.Key("agentguard.injection")
	KeyLang       = attribute.Key("agentguard.sandbox.lang")
	KeyLimit      = attribute.Key("agentguard.sandbox.limit")
	argPrefix     = "agentguard.arg."
)

// Outcomes of a call.
const (
	OutcomeOK      = "ok"
	OutcomeDenied  = "denied"
	OutcomePending = "pending"
	OutcomeError   = "error"
)

// New returns a Telemetry for cfg.
func New(cfg Config) (*Telemetry, error) {
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	t := &Telemetry{cfg: cfg, tracer: cfg.TracerProvider.Tracer(ScopeName), tools: map[string]attribute.KeyValue{}}
	for _, name := range append(slices.Clone(cfg.Tools), "other") {
		if name == "" || !utf8.ValidString(name) || len(name) > 128 {
			return nil, fmt.Errorf("otelguard: invalid tool name %q", name)
		}
		t.tools[name] = KeyTool.String(name)
	}
	m := cfg.MeterProvider.Meter(ScopeName)
	var err error
	ins := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	t.calls, err = m.Int64Counter("agentguard.calls", metric.WithDescription("Tool calls by tool and outcome."), metric.WithUnit("{call}"))
	var e error
	t.callDuration, e = m.Float64Histogram("agentguard.call.duration", metric.WithDescription("Guarded tool call latency."), metric.WithUnit("s"))
	ins(e)
	t.decisions, e = m.Int64Counter("agentguard.decisions", metric.WithDescription("Guard decisions by stage, decision and mode."), metric.WithUnit("{decision}"))
	ins(e)
	t.stageDuration, e = m.Float64Histogram("agentguard.stage.duration", metric.WithDescription("Time a stage's check took."), metric.WithUnit("s"))
	ins(e)
	t.scores, e = m.Float64Histogram("agentguard.detector.score", metric.WithDescription("Injection detector scores."),
		metric.WithExplicitBucketBoundaries(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99))
	ins(e)
	t.sandboxRuns, e = m.Int64Counter("agentguard.sandbox.runs", metric.WithDescription("Sandboxed runs by language and limit hit."), metric.WithUnit("{run}"))
	ins(e)
	t.sandboxTime, e = m.Float64Histogram("agentguard.sandbox.duration", metric.WithDescription("Sandboxed run time."), metric.WithUnit("s"))
	ins(e)
	if err != nil {
		return nil, fmt.Errorf("otelguard: creating instruments: %w", err)
	}
	t.outcomeSets = map[string]map[string][]metric.AddOption{}
	t.outcomeRecs = map[string]map[string][]metric.RecordOption{}
	for name, kv := range t.tools {
		t.outcomeSets[name] = map[string][]metric.AddOption{}
		t.outcomeRecs[name] = map[string][]metric.RecordOption{}
		for _, o := range []string{OutcomeOK, OutcomeDenied, OutcomePending, OutcomeError} {
			set := metric.WithAttributeSet(attribute.NewSet(kv, KeyOutcome.String(o)))
			t.outcomeSets[name][o] = []metric.AddOption{set}
			t.outcomeRecs[name][o] = []metric.RecordOption{set}
		}
	}
	return t, nil
}

func (t *Telemetry) toolName(name string) string {
	if _, ok := t.tools[name]; ok {
		return name
	}
	return "other"
}

// Middleware returns the outermost middleware: a span per tool call (a child of
// the caller's span in ctx) and the call counter and latency histogram. Put it
// first in the chain so its span is the parent of the stages' spans.
func (t *Telemetry) Middleware() guard.Middleware {
	return func(next guard.Handler) guard.Handler {
		return guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
			tool := t.toolName(c.Tool)
			start := time.Now()
			ctx, span := t.tracer.Start(ctx, "agentguard.tool_call")
			recording := span.IsRecording()
			if recording {
				span.SetAttributes(t.tools[tool], textAttr(KeyCallID, c.ID), textAttr(KeySessionID, c.SessionID), textAttr(KeyRole, c.Principal.Role))
				t.recordArgs(ctx, span, c)
			}
			ended := false
			defer func() {
				// A panicking chain or tool still ends its span and is counted;
				// the panic goes on to the caller.
				if !ended {
					span.SetStatus(codes.Error, "panic")
					span.End()
					t.calls.Add(ctx, 1, t.outcomeSets[tool][OutcomeError]...)
				}
			}()
			r, err := next.Handle(ctx, c)
			ended = true
			end := time.Now()
			outcome := outcomeOf(err)
			if recording {
				if err != nil {
					span.SetStatus(codes.Error, outcome)
					if msg := t.redact(ctx, err.Error()); msg != "" {
						span.SetAttributes(textAttr(KeyReason, msg))
					}
				}
				span.SetAttributes(KeyOutcome.String(outcome))
			}
			span.End()
			t.calls.Add(ctx, 1, t.outcomeSets[tool][outcome]...)
			t.callDuration.Record(ctx, end.Sub(start).Seconds(), t.outcomeRecs[tool][outcome]...)
			return r, err
		})
	}
}

func outcomeOf(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, guard.ErrPending):
		return OutcomePending
	case errors.Is(err, guard.ErrDenied):
		return OutcomeDenied
	}
	return OutcomeError
}

// redact returns s scrubbed, or "" when no redactor is configured.
func (t *Telemetry) redact(ctx context.Context, s string) string {
	if t.cfg.Redactor == nil || s == "" {
		return ""
	}
	return t.cfg.Redactor.Redact(ctx, s)
}

// recordArgs puts the opted-in argument fields on the span, redacted.
func (t *Telemetry) recordArgs(ctx context.Context, span trace.Span, c *guard.Call) {
	if len(t.cfg.ArgFields) == 0 || t.cfg.Redactor == nil {
		return
	}
	var args map[string]json.RawMessage
	if json.Unmarshal(c.Args, &args) != nil {
		return
	}
	for _, f := range t.cfg.ArgFields {
		raw, ok := args[f]
		if !ok {
			continue
		}
		v := string(raw)
		var s string
		if json.Unmarshal(raw, &s) == nil {
			v = s
		}
		span.SetAttributes(textAttr(attribute.Key(argPrefix+f), t.redact(ctx, v)))
	}
}

// Auditor returns a guard.Auditor that turns each stage decision into a span (a
// child of the call's span, timed from the check's start to its end) and into the
// decision counter and stage latency histogram. Give it to every stage with
// guard.WithAuditor (combine with others through guard.MultiAuditor).
func (t *Telemetry) Auditor() guard.Auditor {
	return guard.AuditorFunc(t.audit)
}

func (t *Telemetry) audit(ctx context.Context, e guard.Event) {
	end := e.Time
	start := end.Add(-e.Duration)
	so := t.stageOptions(e.Stage)
	if int(e.Decision) < len(so.decisions) && int(e.Mode) < 2 {
		t.decisions.Add(ctx, 1, so.decisions[e.Decision][e.Mode]...)
	}
	t.stageDuration.Record(ctx, e.Duration.Seconds(), so.duration...)
	if !trace.SpanFromContext(ctx).IsRecording() {
		// Stage spans are children of the call span (Middleware); without a
		// recording parent only the metrics are kept.
		return
	}
	_, span := t.tracer.Start(ctx, "agentguard.stage", trace.WithTimestamp(start),
		trace.WithAttributes(KeyStage.String(string(e.Stage)), KeyDecision.String(e.Decision.String()),
			KeyMode.String(e.Mode.String()), textAttr(KeyCallID, e.CallID)))
	if span.IsRecording() {
		if e.Rule != "" {
			span.SetAttributes(textAttr(KeyRule, t.ruleLabel(ctx, e.Rule)))
		}
		if msg := t.redact(ctx, e.Reason); msg != "" {
			span.SetAttributes(textAttr(KeyReason, msg))
		}
		for _, a := range e.Attrs {
			if a.Value.Kind() == 0 || a.Value.Kind() == 1 { // any, bool
				continue
			}
			if f, ok := numeric(a.Value.Any()); ok {
				span.SetAttributes(attribute.Float64("agentguard.attr."+a.Key, f))
			}
		}
	}
	if e.Decision == guard.DecisionDeny || e.Decision == guard.DecisionError {
		span.SetStatus(codes.Error, e.Decision.String())
	}
	span.End(trace.WithTimestamp(end))
}

// ruleLabel keeps rule names (policy identifiers) but scrubs them when a redactor
// is configured, since a rule may be derived from input.
func (t *Telemetry) ruleLabel(ctx context.Context, rule string) string {
	if t.cfg.Redactor != nil {
		rule = t.cfg.Redactor.Redact(ctx, rule)
	}
	if len(rule) > 128 {
		rule = rule[:128]
	}
	return rule
}

// textAttr is a string attribute whose value is made valid UTF-8: text from the
// model or a tool may hold invalid bytes, and OTLP exporters reject a batch
// holding one, dropping every span in it.
func textAttr(k attribute.Key, v string) attribute.KeyValue {
	return k.String(strings.ToValidUTF8(v, "\uFFFD"))
}

// sandboxLangs are the language label values; any other is "other", so a model
// that picks the language cannot grow the label set or write into it.
var sandboxLangs = map[string]bool{"python": true, "wasm": true, "process": true, "javascript": true,
	"js": true, "node": true, "sh": true, "bash": true, "shell": true, "go": true, "ruby": true, "lua": true}

func sandboxLimit(l guard.Limit) string {
	switch l {
	case guard.LimitNone:
		return "none"
	case guard.LimitTime, guard.LimitMemory, guard.LimitOutput, guard.LimitModule, guard.LimitProcess:
		return string(l)
	}
	return "other"
}

func numeric(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// Detector wraps d so that every score it returns is recorded in the
// agentguard.detector.score histogram, by provenance and verdict.
func (t *Telemetry) Detector(d guard.InjectionDetector) guard.InjectionDetector {
	return guard.InjectionDetectorFunc(func(ctx context.Context, in guard.Text) (guard.Detection, error) {
		det, err := d.DetectInjection(ctx, in)
		if err == nil {
			t.scores.Record(ctx, det.Score, metric.WithAttributes(KeyProvenance.String(in.Provenance.String()), KeyInjection.Bool(det.Injection)))
		}
		return det, err
	})
}

// Sandbox wraps sb so that every run is counted by language and the limit it hit,
// and timed.
func (t *Telemetry) Sandbox(sb guard.Sandbox) guard.Sandbox {
	return guard.SandboxFunc(func(ctx context.Context, code guard.Code) (*guard.Execution, error) {
		start := time.Now()
		ex, err := sb.Exec(ctx, code)
		limit, outcome := "none", OutcomeOK
		switch {
		case err != nil || ex == nil:
			outcome = OutcomeError
		default:
			limit = sandboxLimit(ex.LimitHit)
		}
		lang := code.Lang
		if !sandboxLangs[lang] {
			lang = "other"
		}
		attrs := metric.WithAttributes(KeyLang.String(lang), KeyLimit.String(limit), KeyOutcome.String(outcome))
		t.sandboxRuns.Add(ctx, 1, attrs)
		t.sandboxTime.Record(ctx, time.Since(start).Seconds(), attrs)
		return ex, err
	})
}
