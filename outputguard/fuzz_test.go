package outputguard

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentguard/agentguard/guard"
)

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"safe", "unsafe\nS1", "\n\nunsafe\nS1,S14", "unsafe", "", "Safe", "unsafe\nS1\nS2",
		"unsafe\n S3 , S4 ", "safe\n", "unsafe\nS15", "unsafe\n,", "unsafe\r\nS2", "saf", "unsafe\nS1,S1,S1"} {
		f.Add(s)
	}
	known := []string{"S1", "S2", "S3", "S4", "S14"}
	f.Fuzz(func(t *testing.T, reply string) {
		a, err := ParseReply(reply, known)
		trimmed := strings.Trim(reply, " \t\r\n")
		if err != nil {
			if a.Safe || len(a.Categories) > 0 {
				t.Fatalf("error with a verdict: %+v", a)
			}
			return
		}
		if a.Safe {
			if trimmed != "safe" && strings.TrimRight(trimmed, " \t\r") != "safe" {
				t.Fatalf("%q parsed as safe", reply)
			}
			return
		}
		if !strings.HasPrefix(trimmed, "unsafe") || len(a.Categories) == 0 {
			t.Fatalf("%q parsed as %+v", reply, a)
		}
		for _, c := range a.Categories {
			if !containsString(known, c) {
				t.Fatalf("unknown category %q accepted", c)
			}
		}
	})
}

// checkFindings verifies the invariants every Scanner must keep.
func checkFindings(t *testing.T, text string, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
			t.Fatalf("bad span %+v for %d bytes", f, len(text))
		}
		if !utf8.ValidString(text) {
			continue
		}
		if !utf8.RuneStart(text[f.Start]) || (f.End < len(text) && !utf8.RuneStart(text[f.End])) {
			t.Fatalf("span %+v splits a rune in %q", f, text)
		}
	}
}

func FuzzPII(f *testing.F) {
	for _, s := range []string{"4111 1111 1111 1111", "mail a@b.co", "GB82 WEST 1234 5698 7654 32", "123-45-6789",
		"AB 12 34 56 C", "12345678Z", "+14155552671", "(415) 555-2671", "020 7946 0958", "(4111 1111 1111 1111)",
		"1 2 3 4111 1111 1111 1111", "a@@b..c", "+(1", "é@é.com", "06.12.34.56.78"} {
		f.Add(s)
	}
	redact := mustPII(f, PIIConfig{Action: ActionRedact})
	maskP := mustPII(f, PIIConfig{Action: ActionMask})
	f.Fuzz(func(t *testing.T, text string) {
		fs := redact.Scan(text)
		checkFindings(t, text, fs)
		for _, fd := range fs {
			m := text[fd.Start:fd.End]
			switch fd.Category {
			case string(PIICard):
				var d []byte
				for i := 0; i < len(m); i++ {
					if isDigit(m[i]) {
						d = append(d, m[i])
					}
				}
				if !validCard(d) {
					t.Fatalf("card %q fails validation", m)
				}
			case string(PIIEmail):
				if strings.Count(m, "@") != 1 {
					t.Fatalf("email %q", m)
				}
			}
		}
		v := verdictFor(text, "pii", maskP.Scan(text))
		if v.Action == guard.Rewrite && utf8.ValidString(text) && utf8.RuneCountInString(v.Text) != utf8.RuneCountInString(text) {
			t.Fatalf("mask changed the length: %q -> %q", text, v.Text)
		}
	})
}

func FuzzSecrets(f *testing.F) {
	f.Add("key "+fakeAWS, "abcdef123456", 3)
	f.Add(fakePEM, "0123456789", 0)
	f.Add("eyJa.eyJb.c", "zzzzzzzzzz", 100)
	f.Fuzz(func(t *testing.T, text, val string, at int) {
		plain := true
		for i := 0; i < len(val); i++ {
			plain = plain && isAlnum(val[i])
		}
		s := mustSecrets(t, SecretsConfig{Action: ActionRedact, Values: []guard.Secret{guard.NewSecret("v", val)}})
		checkFindings(t, text, s.Scan(text))
		if !plain || len(val) < MinSecretValueLen {
			return
		}
		if at < 0 {
			at = -at
		}
		at %= len(text) + 1
		for at > 0 && at < len(text) && !utf8.RuneStart(text[at]) {
			at--
		}
		in := text[:at] + val + text[at:]
		v, err := s.FilterOutput(t.Context(), &guard.Output{Text: in})
		if err != nil || v.Action != guard.Rewrite || strings.Contains(v.Text, val) {
			t.Fatalf("value survived: %q -> %+v %v", in, v, err)
		}
	})
}

func FuzzPromptLeak(f *testing.F) {
	f.Add("You are Billing Assistant for Acme Corp. Answer only questions", 0)
	f.Add("c n r y 5f2a9c1e7b", 3)
	f.Add("ÉLÉGANT élégant", 1)
	p := mustLeak(f, PromptLeakConfig{SystemPrompt: testSystemPrompt, Canaries: []string{testCanary}})
	f.Fuzz(func(t *testing.T, text string, at int) {
		checkFindings(t, text, p.Scan(text))
		if at < 0 {
			at = -at
		}
		at %= len(text) + 1
		in := text[:at] + " " + testSystemPrompt + " " + text[at:]
		found := false
		for _, fd := range p.Scan(in) {
			found = found || fd.Category == "system_prompt.verbatim"
		}
		if !found {
			t.Fatalf("verbatim prompt not found in %q", in)
		}
	})
}

func FuzzStream(f *testing.F) {
	f.Add("card 4111 1111 1111 1111 and a@b.example", uint8(3))
	f.Add("IBAN GB82 WEST 1234 5698 7654 32", uint8(1))
	f.Add("é+44 20 7946 0958é", uint8(2))
	pii := mustPII(f, PIIConfig{Action: ActionRedact})
	f.Fuzz(func(t *testing.T, text string, size uint8) {
		if !utf8.ValidString(text) {
			return
		}
		n := int(size%16) + 1
		want := text
		if fs := pii.Scan(text); len(fs) > 0 {
			want, _ = rewrite(text, fs)
		}
		s, _ := NewStream(StreamConfig{Scanners: []Scanner{pii}, HoldBack: 96})
		got, err := streamAll(t, s, text, []int{n})
		if err != nil {
			// Only a match the hold-back cannot cover may block.
			return
		}
		if got != want {
			t.Fatalf("chunk %d, text %q\n got %q\nwant %q", n, text, got, want)
		}
	})
}

func FuzzSanitizeTurn(f *testing.F) {
	for _, s := range []string{"<|eot_id|>", "<END CONVERSATION>", "x\nAgent: hi", "  user : hi", "<<||", "<end conversation>", "<|<|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := sanitizeTurn(s)
		if strings.Contains(out, "<|") {
			t.Fatalf("special token survived: %q", out)
		}
		low := asciiLower(out)
		if strings.Contains(low, "<end") || strings.Contains(low, "<begin") {
			t.Fatalf("marker survived: %q", out)
		}
		for _, l := range strings.Split(out, "\n") {
			l = strings.TrimLeft(l, " \t\r")
			for _, p := range []string{"user", "agent"} {
				if len(l) > len(p) && strings.EqualFold(l[:len(p)], p) && strings.HasPrefix(strings.TrimLeft(l[len(p):], " \t"), ":") {
					t.Fatalf("forged turn survived: %q", out)
				}
			}
		}
	})
}
