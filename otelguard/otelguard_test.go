package otelguard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/otelguard"
)

const (
	canarySecret = "sk_live_CANARY0123456789abcdef"
	canaryEmail  = "victim.canary@example.org"
)

type setup struct {
	tel     *otelguard.Telemetry
	spans   *tracetest.InMemoryExporter
	metrics *sdkmetric.ManualReader
}

func newSetup(t testing.TB, cfg otelguard.Config) *setup {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	cfg.TracerProvider, cfg.MeterProvider = tp, mp
	tel, err := otelguard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &setup{tel, exp, reader}
}

// everything returns all text the telemetry holds: span names, attributes, events,
// statuses and metric labels.
func (s *setup) everything(t *testing.T) string {
	var b strings.Builder
	for _, sp := range s.spans.GetSpans() {
		fmt.Fprintf(&b, "%s %s %s\n", sp.Name, sp.Status.Description, attrs(sp.Attributes))
		for _, ev := range sp.Events {
			fmt.Fprintf(&b, "%s %s\n", ev.Name, attrs(ev.Attributes))
		}
	}
	var rm metricdata.ResourceMetrics
	if err := s.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(rm)
	b.Write(j)
	return b.String()
}

func attrs(kvs []attribute.KeyValue) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, string(kv.Key)+"="+kv.Value.Emit())
	}
	return strings.Join(parts, " ")
}

// chain builds a realistic chain whose checks and tool see the canaries.
func chain(t *testing.T, tel *otelguard.Telemetry, tool guard.HandlerFunc) guard.Handler {
	a := tel.Auditor()
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		if strings.Contains(string(c.Args), "deny") {
			return guard.Deny("amount.limit", "refund for "+canaryEmail+" with key "+canarySecret+" exceeds limit")
		}
		return nil
	}), guard.WithAuditor(a))
	args, _ := guard.ValidateArgs(guard.ArgValidatorFunc(func(context.Context, *guard.Call) error { return nil }), guard.WithAuditor(a))
	return guard.Chain(tel.Middleware(), scope, args)(tool)
}

func TestNothingSensitiveInTelemetry(t *testing.T) {
	for _, events := range []bool{false, true} {
		t.Run(fmt.Sprintf("StageEvents=%v", events), func(t *testing.T) {
			testNothingSensitive(t, otelguard.Config{Tools: []string{"refund_order"}, StageEvents: events})
		})
	}
}

func testNothingSensitive(t *testing.T, cfg otelguard.Config) {
	s := newSetup(t, cfg)
	h := chain(t, s.tel, func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		if strings.Contains(string(c.Args), "fail") {
			return nil, errors.New("upstream said: bad key " + canarySecret + " for " + canaryEmail)
		}
		return &guard.Result{Content: canarySecret}, nil
	})
	args := fmt.Sprintf(`{"email":%q,"key":%q,"mode":"%%s"}`, canaryEmail, canarySecret)
	for _, mode := range []string{"ok", "deny", "fail"} {
		_, _ = h.Handle(context.Background(), &guard.Call{ID: "c-" + mode, Tool: "refund_order",
			Args: json.RawMessage(fmt.Sprintf(args, mode)), Principal: guard.Principal{Role: "admin"}})
	}
	// A model-invented tool name carrying a secret must not become a label.
	_, _ = h.Handle(context.Background(), &guard.Call{ID: "c-x", Tool: "leak_" + canarySecret, Args: json.RawMessage(`{}`)})

	all := s.everything(t)
	for _, canary := range []string{canarySecret, canaryEmail,
		base64.StdEncoding.EncodeToString([]byte(canarySecret)), "CANARY0123456789"} {
		if strings.Contains(all, canary) {
			t.Errorf("telemetry contains %q:\n%s", canary, all)
		}
	}
	for _, want := range []string{"agentguard.tool_call", "agentguard.stage", "amount.limit", "agentguard.tool=other", "agentguard.outcome=denied"} {
		if !strings.Contains(all, want) {
			t.Errorf("telemetry lacks %q", want)
		}
	}
}

func TestOptInFieldsAreRedacted(t *testing.T) {
	red := guard.RedactorFunc(func(_ context.Context, s string) string {
		s = strings.ReplaceAll(s, canarySecret, "[REDACTED:key]")
		return strings.ReplaceAll(s, canaryEmail, "[email]")
	})
	s := newSetup(t, otelguard.Config{Tools: []string{"refund_order"}, ArgFields: []string{"order_id", "email"}, Redactor: red})
	h := chain(t, s.tel, func(ctx context.Context, c *guard.Call) (*guard.Result, error) { return &guard.Result{}, nil })
	_, _ = h.Handle(context.Background(), &guard.Call{ID: "c1", Tool: "refund_order",
		Args: json.RawMessage(`{"order_id":"A-1002","email":"` + canaryEmail + `","key":"` + canarySecret + `","x":"deny"}`)})
	all := s.everything(t)
	if strings.Contains(all, canarySecret) || strings.Contains(all, canaryEmail) {
		t.Fatalf("canary leaked:\n%s", all)
	}
	for _, want := range []string{"agentguard.arg.order_id=A-1002", "agentguard.arg.email=[email]", "[REDACTED:key]"} {
		if !strings.Contains(all, want) {
			t.Errorf("lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "agentguard.arg.key") {
		t.Error("a field that was not opted in was recorded")
	}
}

func TestStageSpansAreChildrenOfTheCallSpan(t *testing.T) {
	s := newSetup(t, otelguard.Config{Tools: []string{"t"}})
	h := chain(t, s.tel, func(ctx context.Context, c *guard.Call) (*guard.Result, error) { return &guard.Result{}, nil })
	_, _ = h.Handle(context.Background(), &guard.Call{ID: "c1", Tool: "t", Args: json.RawMessage(`{}`)})
	spans := s.spans.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want call + 2 stages", len(spans))
	}
	var call sdktrace.ReadOnlySpan
	for _, sp := range spans.Snapshots() {
		if sp.Name() == "agentguard.tool_call" {
			call = sp
		}
	}
	for _, sp := range spans.Snapshots() {
		if sp.Name() == "agentguard.stage" && sp.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Errorf("stage span not a child of the call span")
		}
		if sp.EndTime().Before(sp.StartTime()) {
			t.Errorf("span ends before it starts")
		}
	}
}

func TestSandboxAndDetectorMetrics(t *testing.T) {
	s := newSetup(t, otelguard.Config{})
	sb := s.tel.Sandbox(guard.SandboxFunc(func(ctx context.Context, code guard.Code) (*guard.Execution, error) {
		if code.Source == "loop" {
			return &guard.Execution{LimitHit: guard.LimitTime}, nil
		}
		return &guard.Execution{Stdout: []byte(canarySecret)}, nil
	}))
	sb.Exec(context.Background(), guard.Code{Lang: "python", Source: "print(" + canarySecret + ")"})
	sb.Exec(context.Background(), guard.Code{Lang: "python", Source: "loop"})
	det := s.tel.Detector(guard.InjectionDetectorFunc(func(context.Context, guard.Text) (guard.Detection, error) {
		return guard.Detection{Injection: true, Score: 0.97}, nil
	}))
	det.DetectInjection(context.Background(), guard.Text{Content: canarySecret, Provenance: guard.ProvenanceToolResult})
	all := s.everything(t)
	if strings.Contains(all, canarySecret) {
		t.Fatal("canary in metrics")
	}
	for _, want := range []string{"agentguard.sandbox.runs", `"Value":"time"`, "agentguard.detector.score", "tool_result"} {
		if !strings.Contains(all, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestNewRejectsBadToolNames(t *testing.T) {
	if _, err := otelguard.New(otelguard.Config{Tools: []string{""}}); err == nil {
		t.Error("empty tool name accepted")
	}
}

// metricPoints returns every data point as "name attr=value … count" lines.
func (s *setup) metricPoints(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+" "+attrs(p.Attributes.ToSlice())] += int64(p.Count)
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+" "+attrs(p.Attributes.ToSlice())] += p.Value
				}
			}
		}
	}
	return out
}

// The latency histograms count calls and decisions; the denial counter counts
// only what was not allowed.
func TestMetricsCountCallsAndDecisions(t *testing.T) {
	s := newSetup(t, otelguard.Config{Tools: []string{"refund_order"}})
	h := chain(t, s.tel, func(ctx context.Context, c *guard.Call) (*guard.Result, error) { return &guard.Result{}, nil })
	for _, mode := range []string{"ok", "ok", "deny"} {
		_, _ = h.Handle(context.Background(), &guard.Call{ID: "c", Tool: "refund_order", Args: json.RawMessage(`{"m":"` + mode + `"}`)})
	}
	got := s.metricPoints(t)
	want := map[string]int64{
		otelguard.MetricCallDuration + " agentguard.outcome=ok agentguard.tool=refund_order":     2,
		otelguard.MetricCallDuration + " agentguard.outcome=denied agentguard.tool=refund_order": 1,
		otelguard.MetricStageDuration + " agentguard.decision=allow agentguard.stage=scope":      2,
		otelguard.MetricStageDuration + " agentguard.decision=deny agentguard.stage=scope":       1,
		otelguard.MetricStageDuration + " agentguard.decision=allow agentguard.stage=args":       2,
		otelguard.MetricDenials + " agentguard.decision=deny agentguard.stage=scope":             1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series = %v, want exactly %v", got, want)
	}
}

// With StageEvents, stages are events on the call span and no stage span exists.
func TestStageEvents(t *testing.T) {
	s := newSetup(t, otelguard.Config{Tools: []string{"refund_order"}, StageEvents: true})
	h := chain(t, s.tel, func(ctx context.Context, c *guard.Call) (*guard.Result, error) { return &guard.Result{}, nil })
	_, _ = h.Handle(context.Background(), &guard.Call{ID: "c", Tool: "refund_order", Args: json.RawMessage(`{"m":"deny"}`)})
	spans := s.spans.GetSpans()
	if len(spans) != 1 || spans[0].Name != "agentguard.tool_call" {
		t.Fatalf("spans = %v, want only the call span", spans)
	}
	evs := spans[0].Events
	if len(evs) != 1 {
		t.Fatalf("events = %v, want one (the scope denial ends the call)", evs)
	}
	got := attrs(evs[0].Attributes)
	for _, want := range []string{"agentguard.stage=scope", "agentguard.decision=deny", "agentguard.mode=enforce", "agentguard.rule=amount.limit", "agentguard.duration_ns="} {
		if !strings.Contains(got, want) {
			t.Errorf("event %q lacks %q", got, want)
		}
	}
}
