package otelguard_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/otelguard"
)

func benchChain(b *testing.B, tel *otelguard.Telemetry) guard.Handler {
	var aud []guard.Option
	var first guard.Middleware
	if tel != nil {
		aud = []guard.Option{guard.WithAuditor(tel.Auditor())}
		first = tel.Middleware()
	}
	pass := guard.ScoperFunc(func(context.Context, *guard.Call) error { return nil })
	valid := guard.ArgValidatorFunc(func(context.Context, *guard.Call) error { return nil })
	must := func(m guard.Middleware, err error) guard.Middleware {
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	res := &guard.Result{Content: "ok"}
	return guard.Chain(first,
		must(guard.Authorize(pass, append(aud, guard.WithStage(guard.StageBudget))...)),
		must(guard.Authorize(pass, aud...)),
		must(guard.ValidateArgs(valid, aud...)),
	)(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) { return res, nil }))
}

// BenchmarkTelemetry compares a three-stage chain without telemetry against the
// same chain with telemetry on: through OpenTelemetry's no-op providers (what a
// program gets when it has not configured OpenTelemetry), through the SDK with a
// sampler that records nothing, and through the SDK recording every span to a
// no-op exporter, with stage spans and with stage events.
func BenchmarkTelemetry(b *testing.B) {
	c := &guard.Call{ID: "call_1", Tool: "read_document", Args: json.RawMessage(`{"path":"a"}`), Principal: guard.Principal{Role: "reader"}}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	for _, bc := range []struct {
		name   string
		tp     trace.TracerProvider
		mp     metric.MeterProvider
		off    bool
		events bool
	}{
		{name: "off", off: true},
		{name: "api-noop", tp: tracenoop.NewTracerProvider(), mp: metricnoop.NewMeterProvider()},
		{name: "sdk-not-sampled", tp: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())), mp: mp},
		{name: "sdk-noop-exporter", tp: sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())), mp: mp},
		{name: "sdk-noop-exporter-events", tp: sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())), mp: mp, events: true},
		{name: "sdk-batch-noop-exporter", tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter())), mp: mp},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var tel *otelguard.Telemetry
			if !bc.off {
				var err error
				tel, err = otelguard.New(otelguard.Config{TracerProvider: bc.tp, MeterProvider: bc.mp, Tools: []string{"read_document"}, StageEvents: bc.events})
				if err != nil {
					b.Fatal(err)
				}
			}
			h := benchChain(b, tel)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Handle(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSDKFloor is the cost of the OpenTelemetry SDK alone for what one
// guarded call of BenchmarkTelemetry records (a call span with its attributes, a
// span per stage, a latency measurement per call and per stage), made directly
// with precomputed options and no agentguard code: subtract it from the
// sdk-noop-exporter figures to see what agentguard itself adds.
func BenchmarkSDKFloor(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	tr := tp.Tracer("floor")
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	h, err := mp.Meter("floor").Float64Histogram("floor")
	if err != nil {
		b.Fatal(err)
	}
	callAttrs := []attribute.KeyValue{attribute.String("agentguard.tool", "read_document"), attribute.String("agentguard.call_id", "call_1"),
		attribute.String("agentguard.session_id", ""), attribute.String("agentguard.role", "reader")}
	stageOpt := trace.WithAttributes(attribute.String("agentguard.stage", "scope"), attribute.String("agentguard.decision", "allow"), attribute.String("agentguard.mode", "enforce"))
	rec := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("agentguard.stage", "scope")))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cctx, span := tr.Start(ctx, "agentguard.tool_call")
		span.SetAttributes(callAttrs...)
		for range 3 {
			now := time.Now()
			_, s := tr.Start(cctx, "agentguard.stage", stageOpt, trace.WithTimestamp(now))
			s.End(trace.WithTimestamp(now))
			h.Record(ctx, 1e-6, rec...)
		}
		span.SetAttributes(attribute.String("agentguard.outcome", "ok"))
		span.End()
		h.Record(cctx, 1e-5, rec...)
	}
}
