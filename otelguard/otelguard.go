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
	// StageEvents records each stage decision as an event on the call span
	// instead of as a child span of its own. The event carries the same
	// attributes (stage, decision, mode, rule, duration); a trace is smaller and
	// a call costs less to record (see BenchmarkTelemetry), but a stage's own
	// work (a judge's HTTP request) is no longer shown under a stage span.
	StageEvents bool
}

// Telemetry records agentguard's spans and metrics. It is safe for concurrent use.
type Telemetry struct {
	cfg    Config
	tracer trace.Tracer
	tools  map[string]attribute.KeyValue

	callDuration  metric.Float64Histogram
	stageDuration metric.Float64Histogram
	denials       metric.Int64Counter
	scores        metric.Float64Histogram
	sandboxRuns   metric.Int64Counter
	sandboxTime   metric.Float64Histogram

	// Precomputed measurement options for the hot path: the variadic option
	// slices are built once, so recording allocates nothing.
	outcomeRecs map[string]map[string][]metric.RecordOption
	// stages caches the options of each stage name seen. Stage names come from
	// code, never from the model, so it stays small.
	mu     sync.RWMutex
	stages map[guard.Stage]*stageOpts
}

// numDecisions bounds the decisions a stage option table holds; an event with a
// decision or mode outside the tables is recorded under the last decision,
// whose label is "Decision(7)", so labels stay a bounded set.
const numDecisions = 8

// stageOpts holds a stage's precomputed options, one per decision and mode: the
// latency histogram's and the denial counter's attribute sets, and the stage
// span's (or event's) attributes.
type stageOpts struct {
	duration [numDecisions][]metric.RecordOption
	denial   [numDecisions][]metric.AddOption
	span     [numDecisions][2][]trace.SpanStartOption
	event    [numDecisions][2][]attribute.KeyValue
}

func (t *Telemetry) stageOptions(s guard.Stage) *stageOpts {
	t.mu.RLock()
	so := t.stages[s]
	t.mu.RUnlock()
	if so != nil {
		return so
	}
	so = &stageOpts{}
	for d := range numDecisions {
		// Metrics are labelled by stage and decision only: in monitor mode a
		// would-be denial is the decision "monitored", so the mode adds no
		// information to a count, and every label costs the SDK on each
		// measurement. Spans and events carry the mode.
		set := attribute.NewSet(KeyStage.String(string(s)), KeyDecision.String(guard.Decision(d).String()))
		so.duration[d] = []metric.RecordOption{metric.WithAttributeSet(set)}
		so.denial[d] = []metric.AddOption{metric.WithAttributeSet(set)}
		for m := range 2 {
			kvs := []attribute.KeyValue{KeyStage.String(string(s)), KeyDecision.String(guard.Decision(d).String()), KeyMode.String(guard.Mode(m).String())}
			// Full slice (len == cap): audit appends the timestamp option to
			// it, which must copy rather than write into the shared array.
			so.span[d][m] = []trace.SpanStartOption{trace.WithAttributes(kvs...)}
			so.event[d][m] = kvs
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

// Metric names. Histograms carry their own counts, so the number of calls and of
// decisions per stage and decision is the count of the matching latency
// histogram (as in OpenTelemetry's semantic conventions for HTTP servers); the
// denial counter is the cheap series to alert on.
const (
	MetricCallDuration  = "agentguard.call.duration"
	MetricStageDuration = "agentguard.stage.duration"
	MetricDenials       = "agentguard.denials"
	MetricDetectorScore = "agentguard.detector.score"
	MetricSandboxRuns   = "agentguard.sandbox.runs"
	MetricSandboxTime   = "agentguard.sandbox.duration"
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
	var e error
	t.callDuration, e = m.Float64Histogram(MetricCallDuration, metric.WithDescription("Guarded tool calls by tool and outcome, and their latency (the count is the number of calls)."), metric.WithUnit("s"))
	ins(e)
	t.stageDuration, e = m.Float64Histogram(MetricStageDuration, metric.WithDescription("Guard decisions by stage and decision, and the time each check took (the count is the number of decisions)."), metric.WithUnit("s"))
	ins(e)
	t.denials, e = m.Int64Counter(MetricDenials, metric.WithDescription("Decisions other than allow and rewrite (denied, monitored, pending, errored) by stage and decision."), metric.WithUnit("{decision}"))
	ins(e)
	t.scores, e = m.Float64Histogram(MetricDetectorScore, metric.WithDescription("Injection detector scores."),
		metric.WithExplicitBucketBoundaries(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99))
	ins(e)
	t.sandboxRuns, e = m.Int64Counter(MetricSandboxRuns, metric.WithDescription("Sandboxed runs by language and limit hit."), metric.WithUnit("{run}"))
	ins(e)
	t.sandboxTime, e = m.Float64Histogram(MetricSandboxTime, metric.WithDescription("Sandboxed run time."), metric.WithUnit("s"))
	ins(e)
	if err != nil {
		return nil, fmt.Errorf("otelguard: creating instruments: %w", err)
	}
	t.outcomeRecs = map[string]map[string][]metric.RecordOption{}
	for name, kv := range t.tools {
		t.outcomeRecs[name] = map[string][]metric.RecordOption{}
		for _, o := range []string{OutcomeOK, OutcomeDenied, OutcomePending, OutcomeError} {
			t.outcomeRecs[name][o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv, KeyOutcome.String(o)))}
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
					t.callDuration.Record(ctx, time.Since(start).Seconds(), t.outcomeRecs[tool][OutcomeError]...)
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
	d, m := int(e.Decision), int(e.Mode)
	if d < 0 || d >= numDecisions || m < 0 || m > 1 {
		d, m = numDecisions-1, 0 // out of range: one bounded label, "Decision(7)"
	}
	so := t.stageOptions(e.Stage)
	// Stage metrics take no exemplars: those hang off the call's latency, which is
	// what an operator follows to a trace. This keeps a stage's metrics cheap.
	t.stageDuration.Record(context.Background(), e.Duration.Seconds(), so.duration[d]...)
	denied := e.Decision != guard.DecisionAllow && e.Decision != guard.DecisionRewrite
	if denied {
		t.denials.Add(ctx, 1, so.denial[d]...)
	}
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		// Stage spans and events belong to the call span (Middleware); without a
		// recording parent only the metrics are kept.
		return
	}
	if t.cfg.StageEvents {
		kvs := append(make([]attribute.KeyValue, 0, 6), so.event[d][m]...)
		kvs = append(kvs, attribute.Int64("agentguard.duration_ns", int64(e.Duration)))
		kvs = t.detailAttrs(ctx, kvs, e)
		parent.AddEvent("agentguard.stage", trace.WithTimestamp(end), trace.WithAttributes(kvs...))
		return
	}
	_, span := t.tracer.Start(ctx, "agentguard.stage", append(so.span[d][m], trace.WithTimestamp(start))...)
	if span.IsRecording() && (e.Rule != "" || e.Reason != "" || len(e.Attrs) > 0) {
		span.SetAttributes(t.detailAttrs(ctx, nil, e)...)
	}
	if e.Decision == guard.DecisionDeny || e.Decision == guard.DecisionError {
		span.SetStatus(codes.Error, e.Decision.String())
	}
	span.End(trace.WithTimestamp(end))
}

// detailAttrs appends an event's rule, redacted reason and numeric attributes.
func (t *Telemetry) detailAttrs(ctx context.Context, kvs []attribute.KeyValue, e guard.Event) []attribute.KeyValue {
	if e.Rule != "" {
		kvs = append(kvs, textAttr(KeyRule, t.ruleLabel(ctx, e.Rule)))
	}
	if msg := t.redact(ctx, e.Reason); msg != "" {
		kvs = append(kvs, textAttr(KeyReason, msg))
	}
	for _, a := range e.Attrs {
		if a.Value.Kind() == 0 || a.Value.Kind() == 1 { // any, bool
			continue
		}
		if f, ok := numeric(a.Value.Any()); ok {
			kvs = append(kvs, attribute.Float64("agentguard.attr."+a.Key, f))
		}
	}
	return kvs
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
