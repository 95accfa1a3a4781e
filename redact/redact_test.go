package redact_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/audit"
	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/redact"
)

func TestRedact(t *testing.T) {
	r, err := redact.New(redact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	resolved := "zq8RKxv2mT4pLw9N" // a resolved value no pattern knows
	ctx := guard.ContextWithScrubber(context.Background(), guard.NewScrubber(guard.NewSecret("PAY_KEY", resolved)))
	in := strings.Join([]string{
		"key " + resolved,
		"b64 " + base64.StdEncoding.EncodeToString([]byte(resolved)),
		"aws AKIAZ5T7QWERTYUIOPAS",
		"gh ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
		"mail dana.customer@example.com",
		"card 4111 1111 1111 1111",
	}, "\n")
	out := r.Redact(ctx, in)
	for _, leaked := range []string{resolved, base64.StdEncoding.EncodeToString([]byte(resolved)), "AKIAZ5T7QWERTYUIOPAS",
		"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "dana.customer@example.com", "4111 1111 1111 1111"} {
		if strings.Contains(out, leaked) {
			t.Errorf("not redacted: %q in\n%s", leaked, out)
		}
	}
	if !strings.Contains(out, "[REDACTED:PAY_KEY]") || !strings.Contains(out, "[REDACTED:pii.email]") {
		t.Errorf("markers missing:\n%s", out)
	}
	if got := r.Redact(context.Background(), "order A-1002 shipped"); got != "order A-1002 shipped" {
		t.Errorf("clean text changed: %q", got)
	}
}

func TestRedactError(t *testing.T) {
	r, _ := redact.New(redact.Config{})
	err := r.RedactError(context.Background(), &guard.DenialError{Stage: guard.StageScope, Reason: "mail lee@example.com"})
	if strings.Contains(err.Error(), "lee@example.com") || !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("%v", err)
	}
	if r.RedactError(context.Background(), nil) != nil {
		t.Fatal("nil error")
	}
}

// The same redactor serves the audit log.
func TestRedactorInAudit(t *testing.T) {
	r, _ := redact.New(redact.Config{})
	var b strings.Builder
	w, _ := audit.NewWriter(&b, audit.WithRedactor(r))
	w.Audit(context.Background(), guard.Event{Stage: guard.StageScope, Reason: "refund for dana@example.com with AKIAZ5T7QWERTYUIOPAS"})
	if strings.Contains(b.String(), "dana@example.com") || strings.Contains(b.String(), "AKIAZ5T7QWERTYUIOPAS") {
		t.Fatalf("audit record leaks: %s", b.String())
	}
}

func FuzzRedact(f *testing.F) {
	r, _ := redact.New(redact.Config{})
	for _, s := range []string{"", "a@b.co", "4111111111111111", "AKIAZ5T7QWERTYUIOPAS", "password = hunter2hunter2", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := r.Redact(context.Background(), s)
		if again := r.Redact(context.Background(), out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, again)
		}
	})
}
