package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentguard/agentguard/audit"
	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/otelguard"
	"github.com/agentguard/agentguard/redact"
)

func init() {
	demoSetups = append(demoSetups, setupTelemetry, setupAuditTrail)
}

// setupTelemetry exports every guard decision over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporters read the standard OTEL_*
// variables themselves).
func setupTelemetry(ctx context.Context, d *demo) error {
	if d.e.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return nil
	}
	te, err := otlptracehttp.New(ctx)
	if err != nil {
		return fmt.Errorf("OTLP trace exporter: %w", err)
	}
	me, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return fmt.Errorf("OTLP metric exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me)))
	red, err := redact.New(redact.Config{})
	if err != nil {
		return err
	}
	tel, err := otelguard.New(otelguard.Config{TracerProvider: tp, MeterProvider: mp, Tools: shopToolNames(), Redactor: red})
	if err != nil {
		return err
	}
	d.outer = tel.Middleware()
	d.auditor = guard.MultiAuditor(d.auditor, tel.Auditor())
	fmt.Fprintf(d.out, "(exporting traces and metrics to %s)\n", d.e.getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	d.onFinish = append(d.onFinish, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return errors.Join(tp.Shutdown(sctx), mp.Shutdown(sctx))
	})
	return nil
}

func shopToolNames() []string {
	var names []string
	for _, t := range newShop().tools() {
		names = append(names, t.Name)
	}
	return names
}

// setupAuditTrail writes every decision to a hash-chained audit log and, with
// --audit, prints the trail at the end and verifies the log.
func setupAuditTrail(ctx context.Context, d *demo) error {
	if !d.printAudit {
		return nil
	}
	red, err := redact.New(redact.Config{})
	if err != nil {
		return err
	}
	var log bytes.Buffer
	w, err := audit.NewWriter(&log, audit.WithRedactor(red))
	if err != nil {
		return err
	}
	d.auditor = guard.MultiAuditor(d.auditor, w)
	d.onFinish = append(d.onFinish, func() error {
		fmt.Fprintf(d.out, "\n━━ Audit trail: %d guard decisions ━━\n", len(d.events))
		for _, ev := range d.events {
			line := fmt.Sprintf("  %-9s %-9s %-22s %-8s", ev.Stage, ev.Decision, ev.Tool, ev.Role)
			if ev.Rule != "" {
				line += " " + ev.Rule
			}
			if ev.Reason != "" {
				// The printed trail goes through the same redactor as the log.
				line += " — " + clip(red.Redact(context.Background(), ev.Reason), 90)
			}
			fmt.Fprintln(d.out, strings.TrimRight(line, " "))
		}
		res, err := audit.Verify(bytes.NewReader(log.Bytes()), audit.VerifyOptions{Head: w.Head()})
		if err != nil {
			return fmt.Errorf("audit log does not verify: %w", err)
		}
		fmt.Fprintf(d.out, "  hash-chained log: %d records, verified, head %s…\n", res.Records, res.Head[:16])
		return nil
	})
	return nil
}
