package outputguard

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/internal/lineartest"
)

// pathologicalShapes returns inputs of about n bytes shaped to defeat a
// detector that is not linear in its input.
func pathologicalShapes(n int) []struct{ name, text string } {
	rep := func(s string) string { return lineartest.Repeat(s, n) }
	return []struct{ name, text string }{
		{"digit-space", rep("4 ")},
		{"digit-dash", rep("1-")},
		{"digit-dot", rep("1.")},
		{"digits", rep("4111111111111111")},
		{"card-groups", rep("4111 ")},
		{"card-repeat", rep("4111 1111 1111 1111 ")},
		{"phone-plus", rep("+1 ")},
		{"paren", rep("(415) ")},
		{"paren-open", rep("(")},
		{"plus-repeat", rep("+")},
		{"at-repeat", rep("@")},
		{"email-local", rep("a@")},
		{"email-dots", rep("a.b@c.")},
		{"email-long-local", rep("abcdefghij") + "@example.com"},
		{"email-many", rep("a@example.com ")},
		{"iban-prefix", rep("DE89")},
		{"iban-spaced", rep("DE89 3704 ")},
		{"letters-digits", rep("AB1")},
		{"nino", rep("AB 12 34 56 ")},
		{"dni", rep("12345678-")},
		{"mixed-seps", rep("1 2-3.4 ")},
		{"ssn", rep("123-45-6789 ")},
		{"invalid-utf8", rep("\xff4 \xfe1-")},
		{"word-digits", rep("a1")},
		{"canary-spaced", rep("c a n a r y ")},
		{"prompt-words", rep("you are a helpful ")},
		{"begin-key", rep("-----BEGIN RSA PRIVATE KEY-----\n")},
		{"begin-key-line", rep("-----BEGIN RSA PRIVATE KEY-----")},
		{"password-repeat", rep("password=")},
		{"base64-run", rep("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw")},
		{"hex-run", rep("0123456789abcdef")},
	}
}

type linearScanner struct {
	name   string
	scan   func(string)
	shapes string // the shapes to run it on, space-separated; empty means all
}

func linearScanners(tb testing.TB) []linearScanner {
	pii, err := NewPII(PIIConfig{Action: ActionRedact})
	if err != nil {
		tb.Fatal(err)
	}
	sec, err := NewSecrets(SecretsConfig{Action: ActionRedact, Values: []guard.Secret{guard.NewSecret("db", "correct-horse-battery-staple")}})
	if err != nil {
		tb.Fatal(err)
	}
	leak, err := NewPromptLeak(PromptLeakConfig{SystemPrompt: testSystemPrompt, Canaries: []string{testCanary}, Action: ActionRedact})
	if err != nil {
		tb.Fatal(err)
	}
	stream := func(text string) {
		s, err := NewStream(StreamConfig{Scanners: []Scanner{sec, pii, leak}})
		if err != nil {
			tb.Fatal(err)
		}
		for i := 0; i < len(text); i += 64 {
			if _, err := s.Write(text[i:min(i+64, len(text))]); err != nil {
				return // blocked: the rest is not scanned
			}
		}
		_, _ = s.Close()
	}
	return []linearScanner{
		{"pii", func(t string) { verdictFor(t, "pii", pii.Scan(t)) }, ""},
		{"secrets", func(t string) { verdictFor(t, "secret", sec.Scan(t)) },
			"begin-key begin-key-line password-repeat base64-run hex-run at-repeat invalid-utf8 digit-space"},
		{"promptleak", func(t string) { verdictFor(t, "system_prompt", leak.Scan(t)) },
			"canary-spaced prompt-words invalid-utf8 hex-run word-digits"},
		{"stream", stream, "digit-dash mixed-seps card-groups begin-key canary-spaced email-many invalid-utf8"},
	}
}

// TestLinearTime runs every model-free detector (PII, secrets, prompt leak, and
// a stream of all three) over each pathological shape at two sizes four times
// apart. It fails only on catastrophic slowness (over 5 s for the larger input)
// or when the cost grows more than 12 times for 4 times the input: the machine
// may be shared, so the bounds are generous and both are judged on CPU time
// where the platform reports it; wall and CPU times are logged.
func TestLinearTime(t *testing.T) {
	small, big := lineartest.Sizes()
	smalls, bigs := pathologicalShapes(small), pathologicalShapes(big)
	for _, sc := range linearScanners(t) {
		for i := range bigs {
			if sc.shapes != "" && !slices.Contains(strings.Fields(sc.shapes), bigs[i].name) {
				continue
			}
			t.Run(sc.name+"/"+bigs[i].name, func(t *testing.T) {
				lineartest.Check(t, sc.scan, smalls[i].text, bigs[i].text)
			})
		}
	}
}

// BenchmarkScanPathological measures the detectors on 1 MB of the shapes that
// once cost the most.
func BenchmarkScanPathological(b *testing.B) {
	want := map[string]bool{"digit-space": true, "digit-dash": true, "digit-dot": true, "begin-key-line": true, "password-repeat": true}
	for _, sc := range linearScanners(b) {
		for _, sh := range pathologicalShapes(1 << 20) {
			if !want[sh.name] || (sc.shapes != "" && !slices.Contains(strings.Fields(sc.shapes), sh.name)) {
				continue
			}
			b.Run(sc.name+"/"+sh.name+"-1MB", func(b *testing.B) {
				b.SetBytes(int64(len(sh.text)))
				defer lineartest.ReportCPU(b, lineartest.CPUTime())
				for b.Loop() {
					sc.scan(sh.text)
				}
			})
		}
	}
}

// Repeated BEGIN lines without END lines are one redaction to the end of the
// text, found in linear time (each header used to search the rest of the text
// for its END line).
func TestSecretsRepeatedPEMHeaders(t *testing.T) {
	sec, err := NewSecrets(SecretsConfig{Action: ActionRedact})
	if err != nil {
		t.Fatal(err)
	}
	text := "before " + strings.Repeat("-----BEGIN RSA PRIVATE "+"KEY-----\nMIIB\n", 1000)
	v, err := sec.FilterOutput(context.Background(), &guard.Output{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if v.Text != "before [REDACTED:secret.private-key]" {
		t.Errorf("got %.80q", v.Text)
	}
}

// cutBeforeMatches agrees with moving the cut one finding at a time, and is
// fast on a long chain of overlapping findings.
func TestCutBeforeMatches(t *testing.T) {
	naive := func(fs []Finding, off, cut int) int {
		for moved := true; moved; {
			moved = false
			for _, f := range fs {
				if f.Start-off < cut && f.End-off > cut {
					cut, moved = max(0, f.Start-off), true
				}
			}
		}
		return cut
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		// Findings start in pending text (at or after off): step blocks
		// before cutting when one starts in the released context.
		off, cut := rng.IntN(5), rng.IntN(40)
		fs := make([]Finding, rng.IntN(6))
		for j := range fs {
			s := off + rng.IntN(40)
			fs[j] = Finding{Start: s, End: s + rng.IntN(12)}
		}
		if got, want := cutBeforeMatches(fs, off, cut), naive(fs, off, cut); got != want {
			t.Fatalf("case %d: %v off %d cut %d: got %d, want %d", i, fs, off, cut, got, want)
		}
	}
	// A chain of 200k overlapping findings, listed from last to first.
	var chain []Finding
	for s := 400000; s > 0; s -= 2 {
		chain = append(chain, Finding{Start: s, End: s + 3})
	}
	if got := cutBeforeMatches(chain, 0, 400001); got != 2 {
		t.Errorf("chain: cut %d, want 2", got)
	}
}
