package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/secrets"
)

// Red-team tests: attacks on the secrets package's resolvers and scanner.

const rtKey = "ghp_0123456789abcdefghijABCDEFGHIJ012345"

// An attacker who controls a tool result or steers the model adds the
// detect-secrets pragma to the line with the key: the output filter and the
// argument validator must still see it.
func TestRedTeamPragmaDoesNotHideLeaks(t *testing.T) {
	s, err := secrets.NewScanner(secrets.ScannerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	text := "here you go: " + rtKey + " # pragma: allowlist secret"
	v, err := s.FilterOutput(context.Background(), &guard.Output{Text: text})
	if err != nil || v.Action != guard.Block {
		t.Errorf("output filter let a pragma-marked key through: %+v %v", v, err)
	}
	args, _ := json.Marshal(map[string]string{"body": text})
	if err := s.ValidateArgs(context.Background(), &guard.Call{Tool: "t", Args: args}); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("argument validator let a pragma-marked key through: %v", err)
	}
	// Scanning source files keeps honouring it.
	if fs := s.Scan(text); len(fs) != 0 {
		t.Errorf("Scan ignored the pragma: %v", fs)
	}
	if fs := s.Scan(text + "\n" + rtKey); len(fs) != 1 {
		t.Errorf("pragma on one line hid another line: %v", fs)
	}
}

// A long single line full of findings (a minified page, a log dump) must scan in
// linear time: checking each finding's line for the pragma on its own was
// quadratic and took seconds for a few hundred kilobytes.
func TestRedTeamLongLineManyFindings(t *testing.T) {
	s, _ := secrets.NewScanner(secrets.ScannerConfig{})
	text := strings.Repeat(rtKey+" ", 5000) // 205 KB, one line
	if fs := s.Scan(text); len(fs) != 5000 {
		t.Fatalf("findings %d", len(fs))
	}
	withPragma := strings.Repeat(rtKey+" pragma: allowlist secret ", 2000) + "\n" + rtKey
	if fs := s.Scan(withPragma); len(fs) != 1 {
		t.Fatalf("findings %d, want the one on the unmarked line", len(fs))
	}
}

// A key split across JSON escapes is decoded before the argument check.
func TestRedTeamArgsEscapedKey(t *testing.T) {
	s, _ := secrets.NewScanner(secrets.ScannerConfig{})
	var esc strings.Builder
	for _, r := range rtKey {
		fmt.Fprintf(&esc, `\u%04x`, r)
	}
	for _, args := range []string{
		`{"a":"` + esc.String() + `"}`,
		`{"` + rtKey + `":1}`,
		`[[[{"deep":["` + rtKey + `"]}]]]`,
	} {
		if err := s.ValidateArgs(context.Background(), &guard.Call{Args: json.RawMessage(args)}); !errors.Is(err, guard.ErrDenied) {
			t.Errorf("%s: %v", args, err)
		}
	}
}

// Typed-nil resolvers are construction errors, not a panic at the first call.
func TestRedTeamTypedNilResolvers(t *testing.T) {
	var m *secrets.Memory
	if _, err := secrets.NewChain(m); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("chain: %v", err)
	}
	if _, err := secrets.NewToolPolicy(m, secrets.ToolPolicyConfig{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("tool policy: %v", err)
	}
	if _, err := secrets.NewCache(m, secrets.CacheConfig{TTL: time.Minute}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("cache: %v", err)
	}
	var f guard.SecretResolverFunc
	if _, err := secrets.NewChain(f); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("chain of nil func: %v", err)
	}
}

// A resolver that refuses by scope or session, wrapped by the cache: a value
// cached for an allowed call must not reach a call that differs only there.
func TestRedTeamCacheKeyedByScopesAndSession(t *testing.T) {
	inner := guard.SecretResolverFunc(func(ctx context.Context, ref string) (guard.Secret, error) {
		c := guard.CallFromContext(ctx)
		if c == nil || !c.Principal.HasScope("secrets:read") || c.SessionID != "s1" {
			return guard.Secret{}, guard.Deny("secrets.scope", "no")
		}
		return guard.NewSecret(ref, "value-"+ref), nil
	})
	cache, err := secrets.NewCache(inner, secrets.CacheConfig{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	allowed := &guard.Call{Tool: "t", SessionID: "s1", Principal: guard.Principal{Subject: "u", Role: "r", Scopes: []string{"secrets:read"}}}
	if _, err := cache.ResolveSecret(guard.ContextWithCall(context.Background(), allowed), "K"); err != nil {
		t.Fatal(err)
	}
	noScope := allowed.Clone()
	noScope.Principal.Scopes = nil
	otherSession := allowed.Clone()
	otherSession.SessionID = "s2"
	for name, c := range map[string]*guard.Call{"no scope": noScope, "other session": otherSession} {
		if s, err := cache.ResolveSecret(guard.ContextWithCall(context.Background(), c), "K"); err == nil {
			t.Errorf("%s: cache handed out %v", name, s)
		}
	}
}

// Vault: the token and the response body never reach an error, and a redirect
// (which would carry the token to another host) is not followed.
func TestRedTeamVaultLeaks(t *testing.T) {
	const token = "hvs.REDTEAMTOKEN0123456789"
	var stolen atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != "" {
			stolen.Add(1)
		}
		fmt.Fprint(w, `{"data":{"data":{"value":"evil"}}}`)
	}))
	defer evil.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/secret/data/redirect":
			http.Redirect(w, r, evil.URL+"/v1/secret/data/x", http.StatusTemporaryRedirect)
		case "/v1/secret/data/err":
			w.WriteHeader(500)
			fmt.Fprintf(w, `{"errors":["token %s is bad; value topsecretvalue"]}`, token)
		case "/v1/secret/data/malformed":
			fmt.Fprint(w, `{"data":{"data":{"value":"topsecretvalue"`)
		case "/v1/secret/data/notstring":
			fmt.Fprint(w, `{"data":{"data":{"value":["topsecretvalue"]}}}`)
		case "/v1/secret/data/huge":
			fmt.Fprint(w, `{"data":{"data":{"value":"`+strings.Repeat("x", 2<<20)+`"}}}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	v, err := secrets.NewVault(secrets.VaultConfig{Address: srv.URL, Token: guard.NewSecret("vault", token), InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"redirect", "err", "malformed", "notstring", "huge", "a/../b", "a/./b", "a%2f..", "x#", "#f"} {
		s, err := v.ResolveSecret(context.Background(), ref)
		if err == nil {
			t.Errorf("%s: resolved %v", ref, s)
			continue
		}
		msg := fmt.Sprintf("%v %+v", err, err)
		for _, bad := range []string{token, "topsecretvalue", "evil"} {
			if strings.Contains(msg, bad) {
				t.Errorf("%s: error leaks %q: %s", ref, bad, msg)
			}
		}
	}
	if stolen.Load() != 0 {
		t.Error("token followed a redirect to another host")
	}
}

// File: names that try to leave the directory, symlinks and loose modes.
func TestRedTeamFileEscapes(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("outside-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "loose"), []byte("loose-value"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "sub", "up")); err != nil {
		t.Fatal(err)
	}
	f, err := secrets.NewFile(secrets.FileConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"../outside", "link", "sub/up/outside", "loose", "/etc/passwd", "sub", "sub/", "link#x"} {
		s, err := f.ResolveSecret(context.Background(), ref)
		if err == nil {
			t.Errorf("%s: resolved %v", ref, s)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "outside-value") || strings.Contains(msg, "loose-value") {
			t.Errorf("%s: error leaks the value: %s", ref, msg)
		}
	}
}

// Env: the prefix cannot be escaped with names that are not plain identifiers.
func TestRedTeamEnvPrefix(t *testing.T) {
	env := map[string]string{"HOME": "/root", "AG_X": "ok-value", "AG_": "empty-name"}
	e, err := secrets.NewEnv(secrets.EnvConfig{Prefix: "AG_", Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"", "../HOME", "X\x00", "x.y", "X#a"} {
		if s, err := e.ResolveSecret(context.Background(), ref); err == nil {
			t.Errorf("%q: resolved %v", ref, s)
		}
	}
}

// The full stage with real resolvers: a denied secret never reaches the tool,
// and the value does not come back in any form.
func TestRedTeamStageWithResolvers(t *testing.T) {
	mem, _ := secrets.NewMemory(map[string]string{"PAY": rtKey})
	pol, _ := secrets.NewToolPolicy(mem, secrets.ToolPolicyConfig{Allow: map[string][]string{"PAY": {"charge"}}})
	mw, err := guard.ResolveSecrets(pol)
	if err != nil {
		t.Fatal(err)
	}
	h := mw(guard.HandlerFunc(func(_ context.Context, c *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: string(c.Args)}, errors.New(string(c.Args))
	}))
	for _, tool := range []string{"charge", "send_email", "Charge", "charge "} {
		_, err := h.Handle(context.Background(), &guard.Call{Tool: tool, Args: json.RawMessage(`{"k":"${secret:PAY}"}`)})
		if err == nil {
			t.Fatalf("%s: no error", tool)
		}
		if strings.Contains(err.Error(), rtKey) {
			t.Errorf("%s: value in error: %v", tool, err)
		}
		if tool != "charge" && !errors.Is(err, guard.ErrDenied) {
			t.Errorf("%s: not denied: %v", tool, err)
		}
	}
}
