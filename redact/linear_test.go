package redact_test

import (
	"context"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/internal/lineartest"
	"github.com/agentguard/agentguard/redact"
)

// pathologicalShapes returns inputs of about n bytes shaped against the
// redactor's detectors (the secrets scanner and the PII detector): one long
// line of keywords back to back, long digit and separator runs, repeated PEM
// headers, many '@', invalid UTF-8.
func pathologicalShapes(n int) []struct{ name, text string } {
	rep := func(s string) string { return lineartest.Repeat(s, n) }
	return []struct{ name, text string }{
		{"password-repeat", rep("password=")},
		{"aws-repeat", rep("aws_secret_access_key=")},
		{"begin-key-repeat", rep("-----BEGIN RSA PRIVATE KEY-----")},
		{"digit-space", rep("4 ")},
		{"digit-dash", rep("1-")},
		{"card-groups", rep("4111 ")},
		{"at-repeat", rep("a@")},
		{"base64-run", rep("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw")},
		{"invalid-utf8", rep("\xff\xfepassword=\xc3 4 ")},
		{"many-findings", rep("ghp_0123456789abcdefghijABCDEFGHIJ012345 a@example.com ")},
	}
}

// TestLinearTimeRedact redacts each pathological shape at two sizes four
// times apart, with a resolved value in the context. It fails only on
// catastrophic slowness (over 5 s of CPU for the larger input) or when the cost
// grows more than 12 times for 4 times the input; wall and CPU times are logged.
func TestLinearTimeRedact(t *testing.T) {
	r, err := redact.New(redact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := guard.ContextWithScrubber(context.Background(), guard.NewScrubber(guard.NewSecret("PAY_KEY", "zq8RKxv2mT4pLw9N")))
	small, big := lineartest.Sizes()
	smalls, bigs := pathologicalShapes(small), pathologicalShapes(big)
	for i := range bigs {
		t.Run(bigs[i].name, func(t *testing.T) {
			lineartest.Check(t, func(text string) { r.Redact(ctx, text) }, smalls[i].text, bigs[i].text)
		})
	}
}

// BenchmarkRedactPathological measures the redactor on 1 MB of the shapes that
// once cost the most.
func BenchmarkRedactPathological(b *testing.B) {
	r, err := redact.New(redact.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, sh := range pathologicalShapes(1 << 20) {
		switch sh.name {
		case "password-repeat", "digit-dash", "digit-space", "begin-key-repeat", "invalid-utf8":
		default:
			continue
		}
		b.Run(sh.name+"-1MB", func(b *testing.B) {
			b.SetBytes(int64(len(sh.text)))
			c0 := lineartest.CPUTime()
			for b.Loop() {
				r.Redact(ctx, sh.text)
			}
			lineartest.ReportCPU(b, c0)
		})
	}
}

// A private key is redacted whole, from BEGIN to END, by every layer.
func TestRedactPrivateKeyWhole(t *testing.T) {
	r, err := redact.New(redact.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := "key:\n-----BEGIN OPENSSH PRIVATE " + "KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE " + "KEY-----\ndone"
	if got, want := r.Redact(context.Background(), in), "key:\n[REDACTED:private-key]\ndone"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
