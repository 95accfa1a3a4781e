package outputguard

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

func mustSecrets(t testing.TB, cfg SecretsConfig) *Secrets {
	t.Helper()
	s, err := NewSecrets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Fake credentials assembled at run time so that no scanner flags this file.
var (
	fakeAWS    = "AKIA" + "IOSFODNN7EXAMPLE"
	fakeGitHub = "ghp_" + strings.Repeat("aB3", 12)
	fakeSlack  = "xoxb-" + "1234567890-abcdefghij"
	fakeStripe = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	fakeGoogle = "AIza" + "SyD-abcdefghijklmnopqrstuvwxyz01234"
	fakeOpenAI = "sk-" + "proj-" + strings.Repeat("Zx9_", 10)
	fakeJWT    = "eyJ" + "hbGciOiJIUzI1NiJ9.eyJ" + "zdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	fakePEM    = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----"
)

func TestSecretsBuiltins(t *testing.T) {
	s := mustSecrets(t, SecretsConfig{Action: ActionRedact})
	tests := []struct {
		name, text, want string
	}{
		{"aws", "key=" + fakeAWS + " ok", "secret.aws-access-key-id"},
		{"github", "token " + fakeGitHub, "secret.github-pat"},
		{"slack", fakeSlack, "secret.slack-bot-token"},
		{"stripe", "use " + fakeStripe, "secret.stripe-secret-key"},
		{"google", fakeGoogle, "secret.gcp-api-key"},
		{"assignment", "OPENAI_API_KEY=" + fakeOpenAI, "secret.generic-password"},
		{"jwt", "Bearer " + fakeJWT, "secret.jwt"},
		{"pem", "here:\n" + fakePEM + "\nend", "secret.private-key"},
		{"pem header only", "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "secret.private-key"},
		{"public key is fine", "-----BEGIN PUBLIC KEY-----\nMFwwDQYJ\n-----END PUBLIC KEY-----", ""},
		{"aws too short", "AKIA1234", ""},
		{"short sk", "sk-learn is a library", ""},
		{"prose", "The key to success is preparation.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanCats(s, tt.text)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("Scan(%q) = %v, want nothing", tt.text, got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("Scan(%q) = %v, want [%s]", tt.text, got, tt.want)
			}
			f := s.Scan(tt.text)[0]
			v, _ := s.FilterOutput(context.Background(), &guard.Output{Text: tt.text})
			if v.Action != guard.Rewrite || strings.Contains(v.Text, tt.text[f.Start:f.End]) {
				t.Fatalf("verdict %+v", v)
			}
		})
	}
}

func TestSecretsValuesAndEncodings(t *testing.T) {
	const val = "s3cr3t-db-p@ss/word"
	sec := guard.NewSecret("db_password", val)
	s := mustSecrets(t, SecretsConfig{Action: ActionRedact, Values: []guard.Secret{sec}, NoBuiltins: true})
	b64 := func(prefix string) string {
		return base64.StdEncoding.EncodeToString([]byte(prefix + val + "tail"))
	}
	tests := map[string]string{
		"raw":              "the password is " + val + ".",
		"hex":              "hex " + hex.EncodeToString([]byte(val)),
		"HEX":              "HEX " + strings.ToUpper(hex.EncodeToString([]byte(val))),
		"url escaped":      "https://x.test/?p=" + url.QueryEscape(val),
		"base64 aligned":   "blob " + base64.StdEncoding.EncodeToString([]byte(val)),
		"base64 offset 1":  "blob " + b64("a"),
		"base64 offset 2":  "blob " + b64("ab"),
		"base64 offset 3":  "blob " + b64("abc"),
		"base64url offset": "blob " + base64.URLEncoding.EncodeToString([]byte("x"+val)),
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := s.FilterOutput(context.Background(), &guard.Output{Text: text})
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != guard.Rewrite || !strings.Contains(v.Text, "[REDACTED:db_password]") {
				t.Fatalf("verdict %+v", v)
			}
			if strings.Contains(v.Text, val) {
				t.Fatalf("value survived: %q", v.Text)
			}
		})
	}
	t.Run("short values ignored", func(t *testing.T) {
		s := mustSecrets(t, SecretsConfig{Values: []guard.Secret{guard.NewSecret("pin", "1234")}})
		if got := s.Scan("my pin is 1234"); len(got) != 0 {
			t.Fatalf("short value matched: %v", got)
		}
	})
	t.Run("mask never reveals", func(t *testing.T) {
		s := mustSecrets(t, SecretsConfig{Action: ActionMask, Values: []guard.Secret{sec}})
		v, _ := s.FilterOutput(context.Background(), &guard.Output{Text: "pw " + val})
		if v.Text != "pw ********" {
			t.Fatalf("mask = %q", v.Text)
		}
	})
}

func TestSecretsSource(t *testing.T) {
	sess := map[string][]guard.Secret{"s1": {guard.NewSecret("api", "value-of-session-one")}}
	src := SecretValueSourceFunc(func(ctx context.Context, out *guard.Output) ([]guard.Secret, error) {
		if out.SessionID == "broken" {
			return nil, errors.New("store down")
		}
		return sess[out.SessionID], nil
	})
	s := mustSecrets(t, SecretsConfig{Action: ActionRedact, Source: src})
	ctx := context.Background()
	v, err := s.FilterOutput(ctx, &guard.Output{Text: "it is value-of-session-one", SessionID: "s1"})
	if err != nil || v.Action != guard.Rewrite || v.Text != "it is [REDACTED:api]" {
		t.Fatalf("s1: %+v %v", v, err)
	}
	v, err = s.FilterOutput(ctx, &guard.Output{Text: "it is value-of-session-one", SessionID: "s2"})
	if err != nil || v.Action != guard.Allow {
		t.Fatalf("s2: %+v %v", v, err)
	}
	v, err = s.FilterOutput(ctx, &guard.Output{Text: "hello", SessionID: "broken"})
	if err == nil || v.Action != guard.Block {
		t.Fatalf("broken source must block: %+v %v", v, err)
	}
}

func TestSecretsExternalScanner(t *testing.T) {
	ext := ScannerFunc(func(text string) []Finding {
		if i := strings.Index(text, "TOPSECRET"); i >= 0 {
			return []Finding{{Start: i, End: i + 9, Category: "secret.custom"}}
		}
		return nil
	})
	s := mustSecrets(t, SecretsConfig{Action: ActionRedact, Scanners: []Scanner{ext}})
	v, _ := s.FilterOutput(context.Background(), &guard.Output{Text: "a TOPSECRET b"})
	if v.Action != guard.Rewrite || v.Text != "a [REDACTED:secret.custom] b" {
		t.Fatalf("%+v", v)
	}
	bad := ScannerFunc(func(text string) []Finding { return []Finding{{Start: -1, End: 99}} })
	s = mustSecrets(t, SecretsConfig{Action: ActionRedact, Scanners: []Scanner{bad}})
	v, _ = s.FilterOutput(context.Background(), &guard.Output{Text: "x"})
	if v.Action != guard.Block {
		t.Fatalf("broken scanner must block: %+v", v)
	}
}

func TestNewSecretsErrors(t *testing.T) {
	if _, err := NewSecrets(SecretsConfig{Action: 5}); err == nil {
		t.Error("invalid action accepted")
	}
	if _, err := NewSecrets(SecretsConfig{Scanners: []Scanner{nil}}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("nil scanner accepted")
	}
	if _, err := NewSecrets(SecretsConfig{NoBuiltins: true}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("empty detector accepted")
	}
}

func TestSecretsConformance(t *testing.T) {
	guardtest.TestOutputFilter(t, mustSecrets(t, SecretsConfig{}), guardtest.OutputFilterCases{
		Allowed: []*guard.Output{{Text: "The deploy finished."}, {Text: "Use sk-learn for this."}},
		Blocked: []*guard.Output{{Text: "export AWS_ACCESS_KEY_ID=" + fakeAWS}, {Text: fakePEM}},
	})
}

func TestSecretsPEMBodyRedacted(t *testing.T) {
	s := mustSecrets(t, SecretsConfig{Action: ActionRedact})
	for _, text := range []string{"key:\n" + fakePEM + "\nbye", "cut: " + fakePEM[:80]} {
		v, _ := s.FilterOutput(context.Background(), &guard.Output{Text: text})
		if v.Action != guard.Rewrite || strings.Contains(v.Text, "MIIBOg") || strings.Contains(v.Text, "END RSA") {
			t.Fatalf("%q -> %+v", text, v)
		}
	}
}

func TestSecretsScrubber(t *testing.T) {
	sec := guard.NewSecret("api_token", "tok-9f8e7d6c5b4a")
	scr := guard.NewScrubber(sec)
	ctx := guard.ContextWithScrubber(context.Background(), scr)
	jsonEsc := `{"t":"tok-9f8e7d6c5b4a"}`
	s := mustSecrets(t, SecretsConfig{Action: ActionRedact, NoBuiltins: true, Scrubber: guard.NewScrubber(guard.NewSecret("other", "other-value-123"))})
	v, err := s.FilterOutput(ctx, &guard.Output{Text: "a " + jsonEsc + " b other-value-123"})
	if err != nil || v.Action != guard.Rewrite || strings.Contains(v.Text, "tok-9f8e") || strings.Contains(v.Text, "other-value") {
		t.Fatalf("%+v %v", v, err)
	}
	blocking := mustSecrets(t, SecretsConfig{NoBuiltins: true, Scrubber: scr})
	if v, _ := blocking.FilterOutput(context.Background(), &guard.Output{Text: "x tok-9f8e7d6c5b4a"}); v.Action != guard.Block {
		t.Fatalf("%+v", v)
	}
}
