package otelguard_test

import (
	"context"
	"encoding/json"
	"testing"

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

// BenchmarkTelemetry compares a three-stage chain without telemetry, with the SDK
// recording every span to a no-op exporter, and with the SDK sampling nothing.
func BenchmarkTelemetry(b *testing.B) {
	c := &guard.Call{ID: "call_1", Tool: "read_document", Args: json.RawMessage(`{"path":"a"}`), Principal: guard.Principal{Role: "reader"}}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	for _, bc := range []struct {
		name string
		tp   trace.TracerProvider
		mp   metric.MeterProvider
		off  bool
	}{
		{"off", nil, nil, true},
		{"api-noop", tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider(), false},
		{"sdk-noop-exporter", sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())), mp, false},
		{"sdk-batch-noop-exporter", sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter())), mp, false},
		{"sdk-not-sampled", sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())), mp, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var tel *otelguard.Telemetry
			if !bc.off {
				var err error
				tel, err = otelguard.New(otelguard.Config{TracerProvider: bc.tp, MeterProvider: bc.mp, Tools: []string{"read_document"}})
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
