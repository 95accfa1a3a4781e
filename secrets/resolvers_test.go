package secrets

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
	"github.com/agentguard/agentguard/guardtest"
)

func callCtx(tool string) context.Context {
	return guard.ContextWithCall(context.Background(), &guard.Call{ID: "c", Tool: tool, Principal: guard.Principal{Role: "r", Subject: "s"}})
}

func TestMemory(t *testing.T) {
	m, err := NewMemory(map[string]string{"A": "alpha-value", "db/pw": "pw-1"})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, m, guardtest.ResolverCases{
		Known:   map[string]string{"A": "alpha-value", "db/pw": "pw-1"},
		Unknown: []string{"B", "", "a"},
	})
	if _, err := m.ResolveSecret(context.Background(), "B"); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v", err)
	}
	for name, vals := range map[string]map[string]string{
		"bad name":    {"a b": "x"},
		"empty value": {"A": ""},
	} {
		if _, err := NewMemory(vals); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestEnv(t *testing.T) {
	vars := map[string]string{"AG_SECRET_STRIPE": "sk-value", "PATH": "/usr/bin", "AG_SECRET_EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	e, err := NewEnv(EnvConfig{Prefix: "AG_SECRET_", Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, e, guardtest.ResolverCases{
		Known: map[string]string{"STRIPE": "sk-value"},
		// PATH is outside the prefix; traversal-ish and odd names never reach the environment.
		Unknown: []string{"PATH", "../PATH", "EMPTY", "STRIPE/x", "", "MISSING"},
	})
	for _, p := range []string{"", "AG", "ag_secret_", "A B"} {
		if _, err := NewEnv(EnvConfig{Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
	t.Setenv("AGTEST_SECRET_X", "from-env")
	real, err := NewEnv(EnvConfig{Prefix: "AGTEST_SECRET_"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := real.ResolveSecret(context.Background(), "X"); err != nil || !s.Equal("from-env") {
		t.Errorf("got %v", err)
	}
}

func writeSecret(t *testing.T, dir, name, value string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(value), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	writeSecret(t, outside, "stolen", "outside-value", 0o600)
	writeSecret(t, dir, "api", "api-value\n", 0o600)
	writeSecret(t, dir, "db/password", "db-value", 0o400)
	writeSecret(t, dir, "world", "world-readable", 0o644)
	writeSecret(t, dir, "group", "group-readable", 0o640)
	writeSecret(t, dir, "big", strings.Repeat("x", 100), 0o600)
	if err := os.Symlink(filepath.Join(outside, "stolen"), filepath.Join(dir, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("api", filepath.Join(dir, "link-in")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(FileConfig{Dir: dir, MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, f, guardtest.ResolverCases{
		Known:   map[string]string{"api": "api-value", "db/password": "db-value"},
		Unknown: []string{"world", "group", "big", "link-out", "link-in", "adir", "missing", "../" + filepath.Base(outside) + "/stolen", "db/../api"},
	})
	for name, rule := range map[string]string{"world": "secrets.file.mode", "group": "secrets.file.mode", "link-out": "secrets.file.symlink", "link-in": "secrets.file.symlink", "adir": "secrets.file.type", "big": "secrets.file.size"} {
		_, err := f.ResolveSecret(context.Background(), name)
		var d *guard.DenialError
		if !errors.As(err, &d) || d.Rule != rule {
			t.Errorf("%s: got %v, want rule %s", name, err, rule)
		}
		if err != nil && (strings.Contains(err.Error(), "readable") && strings.Contains(err.Error(), "-value")) {
			t.Errorf("%s: value in error %v", name, err)
		}
	}
	if _, err := NewFile(FileConfig{}); err == nil {
		t.Error("empty Dir accepted")
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(FileConfig{Dir: open}); err == nil {
		t.Error("world-writable dir accepted")
	}
}

// fakeVault is a KV v2 server: GET /v1/<mount>/data/<path>.
func fakeVault(t *testing.T, token string, data map[string]map[string]any) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Vault-Token") != token {
			http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/kv/data/") {
			http.NotFound(w, r)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/v1/kv/data/")
		switch p {
		case "redirect":
			http.Redirect(w, r, "https://elsewhere.test/steal", http.StatusFound)
			return
		case "broken":
			_, _ = w.Write([]byte(`{"data": {"data": {"value": "leaky-value"` /* truncated */))
			return
		case "error":
			http.Error(w, `{"errors":["boom: leaky-value"]}`, http.StatusInternalServerError)
			return
		}
		d, ok := data[p]
		if !ok {
			http.Error(w, `{"errors":[]}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": d, "metadata": map[string]any{"version": 3}}})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestVault(t *testing.T) {
	srv, _ := fakeVault(t, "root-token", map[string]map[string]any{
		"payments/stripe": {"value": "sk_vault_value", "api_key": "sk_vault_api"},
		"numbers":         {"value": 42},
	})
	v, err := NewVault(VaultConfig{Address: srv.URL, Token: guard.NewSecret("VAULT_TOKEN", "root-token"), Mount: "kv", Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, v, guardtest.ResolverCases{
		Known:   map[string]string{"payments/stripe": "sk_vault_value", "payments/stripe#api_key": "sk_vault_api"},
		Unknown: []string{"missing", "payments/stripe#nope", "numbers", "redirect", "broken", "error", "a/../b", "#value"},
	})
	for _, name := range []string{"broken", "error", "redirect"} {
		_, err := v.ResolveSecret(context.Background(), name)
		if err == nil || strings.Contains(err.Error(), "leaky-value") || strings.Contains(err.Error(), "root-token") {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad, err := NewVault(VaultConfig{Address: srv.URL, Token: guard.NewSecret("T", "wrong"), Mount: "kv", Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.ResolveSecret(context.Background(), "payments/stripe"); err == nil || !strings.Contains(err.Error(), "403") || errors.Is(err, ErrNotFound) {
		t.Errorf("bad token: %v", err)
	}
	for name, cfg := range map[string]VaultConfig{
		"no address":  {Token: guard.NewSecret("T", "x")},
		"no token":    {Address: "https://v.test"},
		"plain http":  {Address: "http://v.test", Token: guard.NewSecret("T", "x")},
		"userinfo":    {Address: "https://u:p@v.test", Token: guard.NewSecret("T", "x")},
		"bad scheme":  {Address: "file:///etc", Token: guard.NewSecret("T", "x")},
		"bad mount":   {Address: "https://v.test", Token: guard.NewSecret("T", "x"), Mount: "a b"},
		"token crlf":  {Address: "https://v.test", Token: guard.NewSecret("T", "x\r\nX-Evil: 1")},
		"neg maxresp": {Address: "https://v.test", Token: guard.NewSecret("T", "x"), MaxResponseBytes: -1},
	} {
		if _, err := NewVault(cfg); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := NewVault(VaultConfig{Address: "http://127.0.0.1:1", Token: guard.NewSecret("T", "x"), InsecureAllowHTTP: true}); err != nil {
		t.Errorf("InsecureAllowHTTP refused: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.ResolveSecret(ctx, "payments/stripe"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestChain(t *testing.T) {
	a, _ := NewMemory(map[string]string{"A": "from-a", "B": "b-from-a"})
	b, _ := NewMemory(map[string]string{"B": "from-b", "C": "from-c"})
	refuse := guard.SecretResolverFunc(func(ctx context.Context, ref string) (guard.Secret, error) {
		if ref == "C" {
			return guard.Secret{}, guard.Deny("secrets.tool", "refused")
		}
		return guard.Secret{}, fmt.Errorf("x: %w", ErrNotFound)
	})
	c, err := NewChain(a, refuse, b)
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, c, guardtest.ResolverCases{
		Known:   map[string]string{"A": "from-a", "B": "b-from-a"},
		Unknown: []string{"C", "D"},
	})
	// A refusal stops the chain: C is not looked up in b.
	if _, err := c.ResolveSecret(context.Background(), "C"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("got %v", err)
	}
	if _, err := NewChain(); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("empty chain accepted")
	}
	if _, err := NewChain(a, nil); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("nil resolver accepted")
	}
}

func TestToolPolicy(t *testing.T) {
	m, _ := NewMemory(map[string]string{"PAY_KEY": "sk_pay", "MAIL_KEY": "mail"})
	p, err := NewToolPolicy(m, ToolPolicyConfig{Allow: map[string][]string{"PAY_KEY": {"charge"}, "MAIL_KEY": {"send_email", "charge"}}})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, p, guardtest.ResolverCases{
		Call:    &guard.Call{Tool: "send_email"},
		Known:   map[string]string{"MAIL_KEY": "mail"},
		Unknown: []string{"PAY_KEY", "OTHER"},
	})
	if s, err := p.ResolveSecret(callCtx("charge"), "PAY_KEY"); err != nil || !s.Equal("sk_pay") {
		t.Errorf("charge: %v", err)
	}
	_, err = p.ResolveSecret(callCtx("send_email"), "PAY_KEY")
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Rule != "secrets.tool" {
		t.Errorf("send_email got %v", err)
	}
	if _, err := p.ResolveSecret(context.Background(), "MAIL_KEY"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("no call: %v", err)
	}
	zero, _ := NewToolPolicy(m, ToolPolicyConfig{})
	if _, err := zero.ResolveSecret(callCtx("charge"), "PAY_KEY"); err == nil {
		t.Error("zero policy allowed")
	}
	if _, err := NewToolPolicy(nil, ToolPolicyConfig{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("nil resolver accepted")
	}
	if _, err := NewToolPolicy(m, ToolPolicyConfig{Allow: map[string][]string{"X": {""}}}); err == nil {
		t.Error("empty tool accepted")
	}
}

func TestCache(t *testing.T) {
	var calls atomic.Int32
	now := time.Unix(1000, 0)
	inner := guard.SecretResolverFunc(func(ctx context.Context, ref string) (guard.Secret, error) {
		calls.Add(1)
		if c := guard.CallFromContext(ctx); c != nil && c.Tool == "send_email" && ref == "PAY_KEY" {
			return guard.Secret{}, guard.Deny("secrets.tool", "no")
		}
		if ref == "MISSING" {
			return guard.Secret{}, ErrNotFound
		}
		return guard.NewSecret(ref, "v-"+ref), nil
	})
	c, err := NewCache(inner, CacheConfig{TTL: time.Minute, MaxEntries: 2, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestSecretResolver(t, c, guardtest.ResolverCases{Known: map[string]string{"X": "v-X"}, Unknown: []string{"MISSING"}})
	calls.Store(0)
	ctx := callCtx("charge")
	for range 3 {
		if s, err := c.ResolveSecret(ctx, "PAY_KEY"); err != nil || !s.Equal("v-PAY_KEY") {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("inner called %d times, want 1", calls.Load())
	}
	// A value cached for one tool is not handed to another the inner resolver refuses.
	if _, err := c.ResolveSecret(callCtx("send_email"), "PAY_KEY"); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("cache bypassed the tool policy: %v", err)
	}
	now = now.Add(2 * time.Minute)
	_, _ = c.ResolveSecret(ctx, "PAY_KEY")
	if calls.Load() != 3 {
		t.Errorf("expired entry reused: %d calls", calls.Load())
	}
	// Errors are not cached; size stays bounded.
	_, _ = c.ResolveSecret(ctx, "MISSING")
	_, _ = c.ResolveSecret(ctx, "MISSING")
	for i := range 10 {
		_, _ = c.ResolveSecret(ctx, fmt.Sprint("K", i))
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 2 {
		t.Errorf("%d entries, max 2", n)
	}
	c.Purge()
	if _, err := NewCache(inner, CacheConfig{}); err == nil {
		t.Error("zero TTL accepted")
	}
	if _, err := NewCache(nil, CacheConfig{TTL: time.Second}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("nil accepted")
	}
}

// The whole stage with these resolvers: a tool policy over a chain of env and
// memory, behind a cache, and the value never comes back.
func TestResolveSecretsWithResolvers(t *testing.T) {
	mem, _ := NewMemory(map[string]string{"PAY_KEY": "sk_live_fromMemory123"})
	env, _ := NewEnv(EnvConfig{Prefix: "AGX_", Lookup: func(k string) (string, bool) {
		if k == "AGX_MAIL_KEY" {
			return "mail-secret-42", true
		}
		return "", false
	}})
	chain, _ := NewChain(env, mem)
	cache, _ := NewCache(chain, CacheConfig{TTL: time.Minute})
	pol, _ := NewToolPolicy(cache, ToolPolicyConfig{Allow: map[string][]string{"PAY_KEY": {"charge"}, "MAIL_KEY": {"send_email"}}})
	mw, err := guard.ResolveSecrets(pol)
	if err != nil {
		t.Fatal(err)
	}
	h := mw(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		return &guard.Result{Content: "echo " + string(c.Args)}, nil
	}))
	res, err := h.Handle(context.Background(), &guard.Call{Tool: "charge", Args: json.RawMessage(`{"k":"${secret:PAY_KEY}"}`)})
	if err != nil || strings.Contains(res.Content, "fromMemory") || !strings.Contains(res.Content, "[REDACTED:PAY_KEY]") {
		t.Errorf("got %+v, %v", res, err)
	}
	if _, err := h.Handle(context.Background(), &guard.Call{Tool: "send_email", Args: json.RawMessage(`{"k":"${secret:PAY_KEY}"}`)}); !errors.Is(err, guard.ErrDenied) {
		t.Errorf("send_email resolved the payment key: %v", err)
	}
}

// The stage built on these resolvers passes the middleware conformance checks.
func TestResolveSecretsConformance(t *testing.T) {
	mem, _ := NewMemory(map[string]string{"PAY_KEY": "sk_live_conformance1"})
	pol, _ := NewToolPolicy(mem, ToolPolicyConfig{Allow: map[string][]string{"PAY_KEY": {"charge"}}})
	mw, err := guard.ResolveSecrets(pol)
	if err != nil {
		t.Fatal(err)
	}
	call := func(tool, args string) *guard.Call {
		return &guard.Call{ID: "c-" + tool, Tool: tool, Args: json.RawMessage(args), Principal: guard.Principal{Role: "operator"}}
	}
	guardtest.TestMiddleware(t, mw,
		[]*guard.Call{call("charge", `{"k":"${secret:PAY_KEY}"}`), call("send_email", `{"body":"no secrets here"}`), call("noop", ``)},
		[]*guard.Call{call("send_email", `{"k":"${secret:PAY_KEY}"}`), call("charge", `{"k":"${secret:NOPE}"}`), call("charge", `{"k":"${Secret:PAY_KEY}"}`)})
}

func TestScannerConformance(t *testing.T) {
	s, err := NewScanner(ScannerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	guardtest.TestOutputFilter(t, s, guardtest.OutputFilterCases{
		Allowed: []*guard.Output{{Text: "Your order A-1001 has shipped."}, {Text: "Reset your password from the sign-in page."}},
		Blocked: []*guard.Output{{Text: "use key sk_live_" + rnd(alnum, 24)}, {Text: "-----BEGIN OPENSSH PRIVATE " + "KEY-----"}},
	})
}
