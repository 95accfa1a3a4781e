package outputguard

import (
	"context"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

func mustPII(t testing.TB, cfg PIIConfig) *PII {
	t.Helper()
	p, err := NewPII(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// kinds returns the categories of the findings in text.
func scanCats(s Scanner, text string) []string {
	var out []string
	for _, f := range s.Scan(text) {
		out = append(out, f.Category)
	}
	return out
}

func TestPIIDetection(t *testing.T) {
	p := mustPII(t, PIIConfig{})
	tests := []struct {
		name string
		text string
		want string // category, or "" for none
	}{
		{"email", "write to alice@example.com today", "pii.email"},
		{"email subdomain plus", "cc a.b+tag@mail.example.co.uk.", "pii.email"},
		{"email no tld", "user@localhost is local", ""},
		{"email handle", "ping @alice on chat", ""},
		{"email single label", "foo@bar", ""},
		{"visa grouped", "card 4111 1111 1111 1111 ok", "pii.card"},
		{"visa dashes", "card 4111-1111-1111-1111", "pii.card"},
		{"visa compact", "4111111111111111", "pii.card"},
		{"mastercard", "5500 0000 0000 0004", "pii.card"},
		{"amex", "amex 3782 822463 10005", "pii.card"},
		{"discover", "6011111111111117", "pii.card"},
		{"card bad luhn", "4111 1111 1111 1112", ""},
		{"card unknown issuer", "9111 1111 1111 1113", ""},
		{"card mixed separators", "4111-1111 1111-1111", ""},
		{"card in longer run", "ref 7 4111 1111 1111 1111", "pii.card"},
		{"card inside word", "tx4111111111111111", ""},
		{"iban gb grouped", "pay GB82 WEST 1234 5698 7654 32 now", "pii.iban"},
		{"iban de compact", "DE89370400440532013000", "pii.iban"},
		{"iban fr", "FR14 2004 1010 0505 0001 3M02 606", "pii.iban"},
		{"iban lower", "gb82west12345698765432", "pii.iban"},
		{"iban bad checksum", "GB82 WEST 1234 5698 7654 33", ""},
		{"iban wrong length", "GB82 WEST 1234 5698 7654 3", ""},
		{"iban unknown country", "QX82 WEST 1234 5698 7654 32", ""},
		{"ssn", "SSN 123-45-6789.", "pii.us_ssn"},
		{"ssn spaces", "ssn 123 45 6789", "pii.us_ssn"},
		{"ssn area 000", "000-45-6789", ""},
		{"ssn area 666", "666-45-6789", ""},
		{"ssn area 9xx", "912-45-6789", ""},
		{"ssn group 00", "123-00-6789", ""},
		{"ssn serial 0000", "123-45-0000", ""},
		{"ssn specimen", "078-05-1120", ""},
		{"ssn no separators", "123456789", ""},
		{"nino", "NI number AB 12 34 56 C", "pii.uk_nino"},
		{"nino compact", "AB123456C", "pii.uk_nino"},
		{"nino bad prefix letter", "DA123456C", ""},
		{"nino bad pair", "GB123456A", ""},
		{"nino bad suffix", "AB123456E", ""},
		{"dni", "DNI 12345678Z", "pii.es_dni"},
		{"dni dash", "12345678-Z", "pii.es_dni"},
		{"dni wrong letter", "12345678A", ""},
		{"phone e164", "call +14155552671", "pii.phone"},
		{"phone e164 grouped", "call +44 20 7946 0958", "pii.phone"},
		{"phone nanp parens", "(415) 555-2671", "pii.phone"},
		{"phone nanp dashes", "415-555-2671", "pii.phone"},
		{"phone nanp dots", "415.555.2671", "pii.phone"},
		{"phone nanp with 1", "1-415-555-2671", "pii.phone"},
		{"phone uk national", "020 7946 0958", "pii.phone"},
		{"phone fr national", "06 12 34 56 78", "pii.phone"},
		{"phone bad area", "015-555-2671", ""},
		{"date", "on 2024-01-15 at 10:30", ""},
		{"version", "go 1.26.8 and v2.3.4", ""},
		{"decimal", "pi is 3.14159265358979", ""},
		{"short number", "order 12345 shipped", ""},
		{"uuid", "id 123e4567-e89b-12d3-a456-426614174000", ""},
		{"plus sign math", "1 + 2 = 3", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanCats(p, tt.text)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("Scan(%q) = %v, want nothing", tt.text, got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Scan(%q) = %v, want [%s]", tt.text, got, tt.want)
			}
		})
	}
}

func TestPIIActions(t *testing.T) {
	ctx := context.Background()
	text := "Card 4111 1111 1111 1111, mail bob@example.org, IBAN GB82 WEST 1234 5698 7654 32."
	tests := []struct {
		name     string
		cfg      PIIConfig
		action   guard.Action
		wantText string
	}{
		{"zero config blocks", PIIConfig{}, guard.Block, ""},
		{"redact", PIIConfig{Action: ActionRedact}, guard.Rewrite,
			"Card [REDACTED:pii.card], mail [REDACTED:pii.email], IBAN [REDACTED:pii.iban]."},
		{"mask", PIIConfig{Action: ActionMask}, guard.Rewrite,
			"Card **** **** **** 1111, mail ***@*******.***, IBAN **** **** **** **** **54 32."},
		{"per kind", PIIConfig{Action: ActionRedact, Actions: map[PIIKind]Action{PIICard: ActionMask}}, guard.Rewrite,
			"Card **** **** **** 1111, mail [REDACTED:pii.email], IBAN [REDACTED:pii.iban]."},
		{"kinds subset", PIIConfig{Kinds: []PIIKind{PIICard}, Action: ActionRedact}, guard.Rewrite,
			"Card [REDACTED:pii.card], mail bob@example.org, IBAN GB82 WEST 1234 5698 7654 32."},
		{"allow list", PIIConfig{Action: ActionRedact, Allow: []string{"BOB@example.org", "gb82west12345698765432"}}, guard.Rewrite,
			"Card [REDACTED:pii.card], mail bob@example.org, IBAN GB82 WEST 1234 5698 7654 32."},
		{"one blocking kind blocks", PIIConfig{Action: ActionRedact, Actions: map[PIIKind]Action{PIIIBAN: ActionBlock}}, guard.Block, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPII(t, tt.cfg)
			v, err := p.FilterOutput(ctx, &guard.Output{Text: text})
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.action {
				t.Fatalf("action = %v, want %v (%+v)", v.Action, tt.action, v)
			}
			if v.Text != tt.wantText {
				t.Fatalf("text:\n got %q\nwant %q", v.Text, tt.wantText)
			}
			if strings.Contains(v.Reason, "4111") || strings.Contains(v.Reason, "bob@") {
				t.Fatalf("reason leaks the match: %q", v.Reason)
			}
		})
	}
}

func TestNewPIIErrors(t *testing.T) {
	for name, cfg := range map[string]PIIConfig{
		"unknown kind":          {Kinds: []PIIKind{"pii.dna"}},
		"invalid action":        {Action: 9},
		"invalid kind action":   {Actions: map[PIIKind]Action{PIICard: 7}},
		"action for bogus kind": {Actions: map[PIIKind]Action{"x": ActionMask}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewPII(cfg); err == nil {
				t.Fatal("NewPII succeeded")
			}
		})
	}
}

func TestPIIConformance(t *testing.T) {
	guardtest.TestOutputFilter(t, mustPII(t, PIIConfig{Actions: map[PIIKind]Action{PIIEmail: ActionRedact}}), guardtest.OutputFilterCases{
		Allowed: []*guard.Output{{Text: "The build passed in 3.2 seconds."}, {Text: "Mail ops@example.com for help."}},
		Blocked: []*guard.Output{{Text: "Card: 4111 1111 1111 1111"}, {Text: "SSN 123-45-6789"}},
	})
}

// Adversarial: ways a hijacked model might try to slip personal data past the
// detectors, and the ones that are caught.
func TestPIIAdversarial(t *testing.T) {
	p := mustPII(t, PIIConfig{})
	caught := map[string]string{
		"card after padding digits":   "x 1 2 3 4111 1111 1111 1111",
		"card in parentheses":         "(4111 1111 1111 1111)",
		"card after colon":            "card:4111111111111111",
		"card at end of sentence":     "it is 4111111111111111.",
		"iban lower case":             "de89370400440532013000",
		"ssn in quotes":               `"123-45-6789"`,
		"email in angle brackets":     "<carol@example.net>",
		"email in markdown link":      "[mail](mailto:carol@example.net)",
		"nino lower case":             "ab123456c",
		"two cards back to back":      "4111111111111111 5500000000000004",
		"card after many small nums":  strings.Repeat("1 ", 500) + "4111 1111 1111 1111",
		"phone after long digit runs": strings.Repeat("9", 100) + " +14155552671",
	}
	for name, text := range caught {
		t.Run(name, func(t *testing.T) {
			if len(p.Scan(text)) == 0 {
				t.Fatalf("Scan(%.60q) found nothing", text)
			}
		})
	}
}

// Pathological inputs stay linear and never panic.
func TestPIIPathological(t *testing.T) {
	p := mustPII(t, PIIConfig{Action: ActionRedact})
	for _, s := range []string{
		strings.Repeat("@", 1<<16),
		strings.Repeat("a@", 1<<15),
		strings.Repeat("a.", 1<<15) + "@example.com",
		strings.Repeat("1 ", 1<<15),
		strings.Repeat("(1", 1<<15),
		strings.Repeat("+", 1<<16),
		strings.Repeat("GB82 ", 1<<14),
		strings.Repeat("AB12 ", 1<<14),
		strings.Repeat("1", 1<<16),
		strings.Repeat("1-", 1<<15),
	} {
		_, _ = p.FilterOutput(context.Background(), &guard.Output{Text: s})
	}
}

func TestChecksums(t *testing.T) {
	if !luhn([]byte("79927398713")) || luhn([]byte("79927398710")) || luhn(nil) || luhn([]byte("12a")) {
		t.Error("luhn")
	}
	if !ibanValid([]byte("GB82WEST12345698765432")) || ibanValid([]byte("GB00WEST12345698765432")) {
		t.Error("iban")
	}
	if !validDNI("12345678", 'Z') || validDNI("1234567", 'Z') || validDNI("1234567x", 'Z') {
		t.Error("dni")
	}
	if !validNINOPrefix('A', 'B') || validNINOPrefix('Q', 'Q') || validNINOPrefix('T', 'N') {
		t.Error("nino")
	}
}

func TestPIIKindsIsACopy(t *testing.T) {
	k := PIIKinds()
	k[0] = "pii.mutated"
	if PIIKinds()[0] != PIIEmail {
		t.Fatal("PIIKinds exposes the package table")
	}
	c := LlamaGuard3Categories()
	c[0].Code = "X"
	if LlamaGuard3Categories()[0].Code != "S1" {
		t.Fatal("LlamaGuard3Categories exposes a shared table")
	}
}
