package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// VaultConfig configures [NewVault].
type VaultConfig struct {
	// Address is the server's base URL, for example "https://vault.internal:8200".
	// Required. It must use https unless InsecureAllowHTTP is set.
	Address string
	// Token authenticates to the server (sent as X-Vault-Token). Required.
	Token guard.Secret
	// Mount is the KV v2 mount path; the default is "secret".
	Mount string
	// Namespace is sent as X-Vault-Namespace when set (Vault Enterprise, OpenBao).
	Namespace string
	// Field is the key read from the secret's data when the name has no "#field"
	// suffix; the default is "value".
	Field string
	// Client is the HTTP client; the default has a 10 s timeout. Redirects are
	// never followed (they would carry the token to another host).
	Client *http.Client
	// MaxResponseBytes bounds a response; the default is 1 MiB.
	MaxResponseBytes int64
	// InsecureAllowHTTP allows a plain-http Address (the token then crosses the
	// network in clear). For local development and tests only.
	InsecureAllowHTTP bool
}

// Vault resolves secrets from a HashiCorp Vault (or OpenBao) KV version 2 engine
// over its HTTP API. The placeholder ${secret:payments/stripe#api_key} reads field
// "api_key" of the secret at path "payments/stripe":
//
//	GET {Address}/v1/{Mount}/data/payments/stripe
//
// A missing secret or field is [ErrNotFound]; any other failure is an error whose
// text holds the status code but never the response body or the token.
type Vault struct {
	base   *url.URL
	cfg    VaultConfig
	client *http.Client
}

var _ guard.SecretResolver = (*Vault)(nil)

// NewVault returns a Vault resolver.
func NewVault(cfg VaultConfig) (*Vault, error) {
	if cfg.Address == "" {
		return nil, errors.New("secrets: vault: Address is required")
	}
	u, err := url.Parse(cfg.Address)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("secrets: vault: Address must be a plain absolute URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !cfg.InsecureAllowHTTP {
			return nil, errors.New("secrets: vault: Address must use https (set InsecureAllowHTTP for local development)")
		}
	default:
		return nil, fmt.Errorf("secrets: vault: unsupported scheme %q", u.Scheme)
	}
	if cfg.Token.IsZero() || cfg.Token.Reveal() == "" {
		return nil, errors.New("secrets: vault: Token is required")
	}
	if strings.ContainsAny(cfg.Token.Reveal(), "\r\n") {
		return nil, errors.New("secrets: vault: invalid Token")
	}
	if cfg.Mount == "" {
		cfg.Mount = "secret"
	}
	cfg.Mount = strings.Trim(cfg.Mount, "/")
	if !guard.ValidSecretName(cfg.Mount) || strings.Contains(cfg.Mount, "#") {
		return nil, fmt.Errorf("secrets: vault: invalid Mount %q", cfg.Mount)
	}
	if cfg.Field == "" {
		cfg.Field = "value"
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, errors.New("secrets: vault: negative MaxResponseBytes")
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = 1 << 20
	}
	var client http.Client
	if cfg.Client != nil {
		client = *cfg.Client
	} else {
		client.Timeout = 10 * time.Second
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Vault{base: u, cfg: cfg, client: &client}, nil
}

// ResolveSecret reads ref ("path" or "path#field") from the KV v2 engine.
func (v *Vault) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	if err := ctx.Err(); err != nil {
		return guard.Secret{}, err
	}
	if !guard.ValidSecretName(ref) {
		return guard.Secret{}, notFound("vault", ref)
	}
	path, field := ref, v.cfg.Field
	if i := strings.LastIndexByte(ref, '#'); i >= 0 {
		path, field = ref[:i], ref[i+1:]
	}
	if path == "" || field == "" || strings.Contains(path, "#") {
		return guard.Secret{}, notFound("vault", ref)
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s == "." || s == "" {
			return guard.Secret{}, notFound("vault", ref)
		}
		segs[i] = url.PathEscape(s)
	}
	u := *v.base
	u.Path = v.base.Path + "/v1/" + v.cfg.Mount + "/data/" + strings.Join(segs, "/")
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: bad request", ref)
	}
	req.Header.Set("X-Vault-Token", v.cfg.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	if v.cfg.Namespace != "" {
		req.Header.Set("X-Vault-Namespace", v.cfg.Namespace)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return guard.Secret{}, fmt.Errorf("secrets: vault: %q: %w", ref, ctxErr)
		}
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: request failed", ref)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return guard.Secret{}, notFound("vault", ref)
	case resp.StatusCode == http.StatusForbidden:
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: permission denied (403)", ref)
	case resp.StatusCode != http.StatusOK:
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: unexpected status %d", ref, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, v.cfg.MaxResponseBytes+1))
	if err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: reading response failed", ref)
	}
	if int64(len(body)) > v.cfg.MaxResponseBytes {
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: response exceeds %d bytes", ref, v.cfg.MaxResponseBytes)
	}
	var kv struct {
		Data struct {
			Data map[string]json.RawMessage `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &kv); err != nil {
		// The body is not quoted: a malformed response may still hold values.
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: malformed response", ref)
	}
	raw, ok := kv.Data.Data[field]
	if !ok {
		return guard.Secret{}, notFound("vault", ref)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return guard.Secret{}, fmt.Errorf("secrets: vault: %q: field %q is not a string", ref, field)
	}
	if s == "" {
		return guard.Secret{}, notFound("vault", ref)
	}
	return guard.NewSecret(ref, s), nil
}
