package guard

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Event is one audit record: a decision a stage took about a call. It carries no
// secret values, and no argument values unless the caller opted in with
// [WithAuditArgs] (and then only after the arguments passed the secrets stage's
// placeholder discipline: values are never resolved before the secrets stage).
type Event struct {
	Time      time.Time
	Stage     Stage
	Decision  Decision
	Mode      Mode
	CallID    string
	SessionID string
	Tool      string
	Subject   string
	Role      string
	// Rule and Reason say why; empty for an allow.
	Rule   string
	Reason string
	// Duration is how long the stage's check took.
	Duration time.Duration
	// Args holds the call's raw arguments only when the stage was built with
	// [WithAuditArgs].
	Args json.RawMessage
	// Attrs holds stage-specific details (for example a detector score). Values
	// must not be secret.
	Attrs []slog.Attr
}

// Auditor receives audit events. Implementations must be safe for concurrent use
// and should not block: they run on the call path.
type Auditor interface {
	Audit(ctx context.Context, e Event)
}

// AuditorFunc adapts a function to an [Auditor].
type AuditorFunc func(ctx context.Context, e Event)

// Audit calls f(ctx, e).
func (f AuditorFunc) Audit(ctx context.Context, e Event) { f(ctx, e) }

// MultiAuditor sends each event to every auditor in order.
func MultiAuditor(as ...Auditor) Auditor {
	return AuditorFunc(func(ctx context.Context, e Event) {
		for _, a := range as {
			if a != nil {
				a.Audit(ctx, e)
			}
		}
	})
}

// SlogAuditor writes each event to l: allows at Debug, monitored decisions at Warn,
// denials and errors at Warn, pending at Info.
func SlogAuditor(l *slog.Logger) Auditor {
	return slogAuditor{l}
}

type slogAuditor struct{ l *slog.Logger }

func (s slogAuditor) Audit(ctx context.Context, e Event) {
	level := slog.LevelWarn
	switch e.Decision {
	case DecisionAllow:
		level = slog.LevelDebug
	case DecisionPending, DecisionRewrite:
		level = slog.LevelInfo
	}
	if !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 12+len(e.Attrs))
	attrs = append(attrs,
		slog.String("stage", string(e.Stage)),
		slog.String("decision", e.Decision.String()),
		slog.String("mode", e.Mode.String()),
		slog.String("call_id", e.CallID),
		slog.String("tool", e.Tool),
		slog.String("role", e.Role),
	)
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("session_id", e.SessionID))
	}
	if e.Subject != "" {
		attrs = append(attrs, slog.String("subject", e.Subject))
	}
	if e.Rule != "" {
		attrs = append(attrs, slog.String("rule", e.Rule))
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	attrs = append(attrs, slog.Duration("duration", e.Duration))
	if e.Args != nil {
		attrs = append(attrs, slog.String("args", string(e.Args)))
	}
	attrs = append(attrs, e.Attrs...)
	s.l.LogAttrs(ctx, level, "agentguard decision", attrs...)
}

func newEvent(stage Stage, mode Mode, c *Call) Event {
	return Event{
		Time:      time.Now(),
		Stage:     stage,
		Mode:      mode,
		CallID:    c.ID,
		SessionID: c.SessionID,
		Tool:      c.Tool,
		Subject:   c.Principal.Subject,
		Role:      c.Principal.Role,
	}
}
