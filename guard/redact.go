package guard

import "context"

// Redactor rewrites text before it leaves the process in a log record, a trace, a
// metric label or an error message, removing secret values and personal data. One
// Redactor serves audit, tracing and error reporting, so a value is caught
// everywhere or (if the redactor misses it) nowhere is it treated differently.
// Implementations must be safe for concurrent use and should be linear in len(s).
//
// The context may carry the call's resolved-secret [Scrubber]
// ([ScrubberFromContext]); a Redactor should apply it when present.
type Redactor interface {
	Redact(ctx context.Context, s string) string
}

// RedactorFunc adapts a function to a [Redactor].
type RedactorFunc func(ctx context.Context, s string) string

// Redact calls f(ctx, s).
func (f RedactorFunc) Redact(ctx context.Context, s string) string { return f(ctx, s) }

// Redactors applies rs in order.
func Redactors(rs ...Redactor) Redactor {
	return RedactorFunc(func(ctx context.Context, s string) string {
		for _, r := range rs {
			if r != nil {
				s = r.Redact(ctx, s)
			}
		}
		return s
	})
}
