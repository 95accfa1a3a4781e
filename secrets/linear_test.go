package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/internal/lineartest"
)

// pathologicalShapes returns inputs of about n bytes shaped against a scanner
// that is not linear in its input: one long line of keywords back to back,
// long runs of token bytes, repeated markers and invalid UTF-8. Each shape
// once cost seconds per megabyte or grew faster than its input.
func pathologicalShapes(n int) []struct{ name, text string } {
	rep := func(s string) string { return lineartest.Repeat(s, n) }
	return []struct{ name, text string }{
		{"password-repeat", rep("password=")},
		{"password-quote", rep(`password="`)},
		{"pwd-repeat", rep("pwd=")},
		{"aws-repeat", rep("aws_secret_access_key=")},
		{"sig-repeat", rep("?sv=2020-01-01&sig=")},
		{"server-semicolon", rep("server=a;password=")},
		{"mysql-repeat", rep("mysql -")},
		{"apikey-header", rep("x-api-key: ")},
		{"xml-repeat", rep("<password>")},
		{"begin-repeat", rep("-----BEGIN ")},
		{"begin-key-repeat", rep("-----BEGIN RSA PRIVATE KEY-----")},
		{"begin-key-lines", rep("-----BEGIN RSA PRIVATE KEY-----\n")},
		{"url-cred-repeat", rep("postgres://u:p")},
		{"url-at-repeat", rep("https://user:pass@")},
		{"at-repeat", rep("@")},
		{"base64-run", rep("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw")},
		{"hex-run", rep("0123456789abcdef")},
		{"assign-base64", rep("k=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw ")},
		{"akia-space", rep(" AKIA")},
		{"eyj-dot", rep("eyJhbGciOi.eyJ")},
		{"key-eq", rep("?key=")},
		{"bearer-repeat", rep("authorization: bearer ")},
		{"artifactory-akc", "AKC" + rep("a")},
		{"punct-repeat", rep("-_-.")},
		{"pragma-repeat", rep("pragma: allowlist secret password=abcdefgh ")},
		{"invalid-utf8", rep("\xff\xfepassword=\xc3")},
		{"many-findings", rep("ghp_0123456789abcdefghijABCDEFGHIJ012345 ")},
		{"discord-dots", rep("MTIzNDU2Nzg5MDEyMzQ1Njc4.abcdef.")},
		{"all-keywords", rep(allKeywordsLine())},
	}
}

// TestLinearTimeScan scans each pathological shape at two sizes four times
// apart. It fails only on catastrophic slowness (over 5 s for the larger
// input) or when the cost grows more than 12 times for 4 times the input,
// which no linear scanner does. The machine may be shared, so the bounds are
// generous and both are judged on CPU time where the platform reports it (wall
// time under load measures the other processes); both times are logged.
func TestLinearTimeScan(t *testing.T) {
	s := newTestScanner(t)
	small, big := lineartest.Sizes()
	smalls, bigs := pathologicalShapes(small), pathologicalShapes(big)
	for i := range bigs {
		name := bigs[i].name
		t.Run(name, func(t *testing.T) {
			lineartest.Check(t, func(text string) { s.Redact(text) }, smalls[i].text, bigs[i].text)
		})
	}
}

// TestLinearTimeValidateArgs checks the argument validator, which scans every
// decoded JSON string on its own, on many short strings and on deep nesting.
func TestLinearTimeValidateArgs(t *testing.T) {
	s := newTestScanner(t)
	small, big := lineartest.Sizes()
	for _, c := range []struct{ name, unit, open, close string }{
		{"many-strings", `"password=abcdef"`, "[", "]"},
		{"deep-arrays", `"pwd=x"`, "[[", "]]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := func(n int) string {
				k := n / (len(c.unit) + 1)
				if c.open == "[[" { // nest one array per unit
					return strings.Repeat("["+c.unit+",", k) + "1" + strings.Repeat("]", k)
				}
				return "[" + strings.TrimSuffix(strings.Repeat(c.unit+",", k), ",") + "]"
			}
			validate := func(a string) {
				if err := s.ValidateArgs(context.Background(), &guard.Call{Tool: "t", Args: json.RawMessage(a)}); err != nil && !errors.Is(err, guard.ErrDenied) {
					t.Error(err)
				}
			}
			lineartest.Check(t, validate, args(small), args(big))
		})
	}
}

// BenchmarkScanPathological measures the scanner on 1 MB of the shapes that
// once cost the most.
func BenchmarkScanPathological(b *testing.B) {
	want := map[string]bool{"password-repeat": true, "aws-repeat": true, "sig-repeat": true,
		"invalid-utf8": true, "begin-key-repeat": true, "pwd-repeat": true}
	for _, sh := range pathologicalShapes(1 << 20) {
		if want[sh.name] {
			b.Run(sh.name+"-1MB", func(b *testing.B) { benchScan(b, sh.text) })
		}
	}
}

// A private key is redacted from its BEGIN line to its END line, and a key
// without an END line to the end of the text; text after the key stays.
func TestRedactPrivateKey(t *testing.T) {
	s := newTestScanner(t)
	const body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
	begin, end := "-----BEGIN RSA PRIVATE "+"KEY-----\n", "-----END RSA PRIVATE "+"KEY-----"
	for _, c := range []struct{ name, in, want string }{
		{"whole block", "key:\n" + begin + body + end + "\nafter", "key:\n[REDACTED:private-key]\nafter"},
		{"no END line", "key:\n" + begin + body, "key:\n[REDACTED:private-key]"},
		{"two keys", begin + body + end + "\nand\n" + begin + body + end, "[REDACTED:private-key]\nand\n[REDACTED:private-key]"},
		{"secret after key", begin + body + end + "\nghp_0123456789abcdefghijABCDEFGHIJ012345",
			"[REDACTED:private-key]\n[REDACTED:github-pat]"},
		{"other label's END", begin + body + "-----END EC PRIVATE " + "KEY-----\nmore", "[REDACTED:private-key]"},
		{"repeated BEGIN lines", strings.Repeat(begin, 3) + body + end + " tail", "[REDACTED:private-key] tail"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := s.Redact(c.in)
			if got != c.want {
				t.Errorf("Redact = %q, want %q (%v)", got, c.want, fs)
			}
			if strings.Contains(got, "MIIE") {
				t.Errorf("key material left in %q", got)
			}
		})
	}
}

// allKeywordsLine returns one line holding a keyword of every rule, so that a
// window of text wakes up every rule at once.
func allKeywordsLine() string {
	var b strings.Builder
	for _, r := range compiledRules() {
		for _, k := range r.keywords {
			b.WriteString(k.lit)
			b.WriteString("=x ")
		}
	}
	return b.String()
}
