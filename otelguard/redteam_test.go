package otelguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/otelguard"
)

// Red-team tests: attacks on otelguard's "nothing sensitive, bounded labels" claims.

// metricLabelValues returns every distinct label value of every metric.
func metricLabelValues(t *testing.T, s *setup) map[string]bool {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := s.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			b, _ := json.Marshal(m.Data)
			var generic struct {
				DataPoints []struct {
					Attributes []struct{ Value struct{ Value any } }
				}
			}
			_ = json.Unmarshal(b, &generic)
			for _, dp := range generic.DataPoints {
				for _, a := range dp.Attributes {
					out[fmt.Sprint(a.Value.Value)] = true
				}
			}
		}
	}
	return out
}

// A model that chooses the sandbox language or a backend that reports odd limits
// must not create new label values, nor put model text in labels.
func TestRedTeamSandboxLabelsBounded(t *testing.T) {
	s := newSetup(t, otelguard.Config{})
	sb := s.tel.Sandbox(guard.SandboxFunc(func(_ context.Context, code guard.Code) (*guard.Execution, error) {
		return &guard.Execution{LimitHit: guard.Limit("limit-" + code.Source)}, nil
	}))
	for i := range 50 {
		_, _ = sb.Exec(context.Background(), guard.Code{Lang: fmt.Sprintf("l%d_%s", i, canarySecret[:20]), Source: fmt.Sprint(i)})
	}
	labels := metricLabelValues(t, s)
	if len(labels) > 10 {
		t.Fatalf("sandbox metrics have %d label values: %v", len(labels), labels)
	}
	for v := range labels {
		if strings.Contains(v, "sk_live") || strings.HasPrefix(v, "limit-") {
			t.Errorf("model or backend text in a label: %q", v)
		}
	}
}

// A sandbox that returns (nil, nil) must not crash the wrapper.
func TestRedTeamSandboxNilExecution(t *testing.T) {
	s := newSetup(t, otelguard.Config{})
	sb := s.tel.Sandbox(guard.SandboxFunc(func(context.Context, guard.Code) (*guard.Execution, error) { return nil, nil }))
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("wrapper panicked: %v", p)
		}
	}()
	if _, err := sb.Exec(context.Background(), guard.Code{Lang: "python"}); err != nil {
		t.Logf("err %v", err)
	}
}

// Invalid UTF-8 from the model (call ids, rule text, argument fields) must not
// reach span attributes: OTLP exporters reject a batch holding invalid UTF-8,
// which would silently drop every span with it.
func TestRedTeamSpanAttributesValidUTF8(t *testing.T) {
	red := guard.RedactorFunc(func(_ context.Context, s string) string { return s })
	s := newSetup(t, otelguard.Config{Tools: []string{"t"}, ArgFields: []string{"q", "n"}, Redactor: red})
	a := s.tel.Auditor()
	scope, _ := guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error {
		return guard.Deny("rule.\xff"+strings.Repeat("é", 100), "reason \xfe")
	}), guard.WithAuditor(a))
	h := guard.Chain(s.tel.Middleware(), scope)(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		return &guard.Result{}, nil
	}))
	_, _ = h.Handle(context.Background(), &guard.Call{ID: "id\xff", SessionID: "s\xc3", Tool: "t",
		Principal: guard.Principal{Role: "r\xff"}, Args: json.RawMessage("{\"q\":\"a\xffb\",\"n\":[\"\xfe\"]}")})
	spans := s.spans.GetSpans()
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	for _, sp := range spans {
		for _, kv := range sp.Attributes {
			if v := kv.Value.Emit(); !utf8.ValidString(v) {
				t.Errorf("span %s attribute %s is invalid UTF-8: %q", sp.Name, kv.Key, v)
			}
		}
	}
}

// Without a redactor, no reason or error text reaches a span, however the error
// wraps it.
func TestRedTeamNoRedactorNoText(t *testing.T) {
	s := newSetup(t, otelguard.Config{Tools: []string{"t"}, ArgFields: []string{"key"}})
	h := s.tel.Middleware()(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
		return nil, errors.Join(errors.New(canarySecret), &guard.DenialError{Reason: canarySecret, Err: errors.New(canaryEmail)})
	}))
	_, _ = h.Handle(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(`{"key":"` + canarySecret + `"}`)})
	all := s.everything(t)
	if strings.Contains(all, canarySecret) || strings.Contains(all, canaryEmail) {
		t.Fatalf("text on span without a redactor: %s", all)
	}
}

// Concurrent calls with many stage names (run with -race).
func TestRedTeamConcurrentTelemetry(t *testing.T) {
	s := newSetup(t, otelguard.Config{Tools: []string{"t"}})
	a := s.tel.Auditor()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			st, _ := guard.Authorize(guard.ScoperFunc(func(context.Context, *guard.Call) error { return nil }),
				guard.WithAuditor(a), guard.WithStage(guard.Stage(fmt.Sprint("s", i%3))))
			h := guard.Chain(s.tel.Middleware(), st)(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) {
				return &guard.Result{}, nil
			}))
			for range 20 {
				_, _ = h.Handle(context.Background(), &guard.Call{Tool: "t"})
			}
		})
	}
	wg.Wait()
}

// Out-of-range decisions and modes in an event must not panic.
func TestRedTeamOddEvents(t *testing.T) {
	s := newSetup(t, otelguard.Config{})
	s.tel.Auditor().Audit(context.Background(), guard.Event{Stage: "x", Decision: guard.Decision(200), Mode: guard.Mode(9)})
}

// A panicking tool still ends the call span (and the panic reaches the caller).
func TestRedTeamPanicEndsSpan(t *testing.T) {
	s := newSetup(t, otelguard.Config{Tools: []string{"t"}})
	h := s.tel.Middleware()(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) { panic("boom") }))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_, _ = h.Handle(context.Background(), &guard.Call{Tool: "t"})
	}()
	if n := len(s.spans.GetSpans()); n != 1 {
		t.Fatalf("ended spans %d, want 1", n)
	}
}
