// Package redact builds the one guard.Redactor that audit logs, traces, metric
// labels and error messages share, so a secret or a piece of personal data is
// removed from all of them or (if every detector misses it) treated alike by all.
//
// The redactor applies, in order:
//
//  1. the values resolved for the call being handled (guard.ScrubberFromContext),
//     with their encodings — exact, so it runs first;
//  2. the secrets scanner (provider token formats, private keys, JWTs,
//     connection strings, high-entropy assignments);
//  3. the PII detectors of outputguard (e-mail, phone, card with Luhn, IBAN with
//     its checksum, national identifiers).
//
// Each finding is replaced with a marker naming what it was, for example
// [REDACTED:PAY_KEY], [REDACTED:aws-access-key-id] or [REDACTED:pii.email].
//
// # Security model
//
// Redaction is detection: what no detector recognises passes. That is why the
// other measures come first — secret values never enter the model's context, and
// stages that record text record identifiers, not values, unless an operator opts
// in. Use this redactor for what does get recorded.
//
// # Limitations
//
// The cost is linear in the text but not free (tens of microseconds per
// kilobyte); apply it to the fields that are recorded, not to whole payloads.
package redact

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/outputguard"
	"github.com/agentguard/agentguard/secrets"
)

// Config configures [New]. The zero value uses every secret rule and every PII kind.
type Config struct {
	// Secrets is the scanner to use; nil builds one with every rule.
	Secrets *secrets.Scanner
	// PII is the personal-data detector to use; nil builds one for every kind.
	PII *outputguard.PII
	// NoPII leaves personal data in place (for logs that must keep contact data).
	NoPII bool
}

// Redactor is the shared redactor. It is safe for concurrent use.
type Redactor struct {
	secrets *secrets.Scanner
	pii     *outputguard.PII
}

var _ guard.Redactor = (*Redactor)(nil)

// New returns a Redactor for cfg.
func New(cfg Config) (*Redactor, error) {
	r := &Redactor{secrets: cfg.Secrets, pii: cfg.PII}
	if r.secrets == nil {
		s, err := secrets.NewScanner(secrets.ScannerConfig{})
		if err != nil {
			return nil, fmt.Errorf("redact: secrets scanner: %w", err)
		}
		r.secrets = s
	}
	if cfg.NoPII {
		r.pii = nil
	} else if r.pii == nil {
		p, err := outputguard.NewPII(outputguard.PIIConfig{})
		if err != nil {
			return nil, fmt.Errorf("redact: PII detector: %w", err)
		}
		r.pii = p
	}
	return r, nil
}

// Redact returns s with resolved secret values, detected secrets and personal
// data replaced by markers.
func (r *Redactor) Redact(ctx context.Context, s string) string {
	if s == "" {
		return s
	}
	if sc := guard.ScrubberFromContext(ctx); sc != nil {
		s = sc.Scrub(s)
	}
	s, _ = r.secrets.Redact(s)
	if r.pii != nil {
		s = replace(s, r.pii.Scan(s))
	}
	return s
}

// RedactError returns an error whose text is err's text redacted; errors.Is
// still matches guard.ErrDenied, guard.ErrPending and context errors. Nil stays
// nil.
func (r *Redactor) RedactError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return guard.NewScrubber().ScrubError(&redactedError{msg: r.Redact(ctx, err.Error()), orig: err})
}

type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.orig }

func replace(s string, fs []outputguard.Finding) string {
	if len(fs) == 0 {
		return s
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Start < fs[j].Start })
	var b strings.Builder
	last := 0
	for _, f := range fs {
		if f.Start < last || f.End > len(s) || f.Start >= f.End {
			continue // overlapping or out of range: the earlier span already covers it
		}
		b.WriteString(s[last:f.Start])
		b.WriteString(guard.RedactionMarker(f.Category))
		last = f.End
	}
	b.WriteString(s[last:])
	return b.String()
}
