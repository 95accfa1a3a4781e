package secrets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentguard/agentguard/guard"
)

// ErrNotFound is matched by the error a resolver returns for a name it does not
// know. [Chain] moves on to its next resolver only on this error.
var ErrNotFound = errors.New("secrets: not found")

func notFound(kind, name string) error {
	return fmt.Errorf("secrets: %s: %q: %w", kind, name, ErrNotFound)
}

// isNil reports whether r is nil or holds a nil pointer, func or map (a typed
// nil would pass an r == nil check and panic on first use).
func isNil(r guard.SecretResolver) bool {
	if r == nil {
		return true
	}
	switch v := reflect.ValueOf(r); v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Interface, reflect.Slice, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// Memory resolves secrets from a fixed in-memory set. It is meant for tests and
// examples. It is immutable and safe for concurrent use.
type Memory struct {
	values map[string]string
}

var _ guard.SecretResolver = (*Memory)(nil)

// NewMemory returns a Memory resolver holding a copy of values. Every name must
// be a valid placeholder name ([guard.ValidSecretName]) and every value non-empty.
func NewMemory(values map[string]string) (*Memory, error) {
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if !guard.ValidSecretName(name) {
			return nil, fmt.Errorf("secrets: memory: invalid secret name %q", name)
		}
		if values[name] == "" {
			return nil, fmt.Errorf("secrets: memory: secret %q has an empty value", name)
		}
	}
	return &Memory{values: maps.Clone(values)}, nil
}

// ResolveSecret returns the value stored under ref.
func (m *Memory) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	if err := ctx.Err(); err != nil {
		return guard.Secret{}, err
	}
	v, ok := m.values[ref]
	if !ok {
		return guard.Secret{}, notFound("memory", ref)
	}
	return guard.NewSecret(ref, v), nil
}

// EnvConfig configures [NewEnv].
type EnvConfig struct {
	// Prefix is required: only variables whose name starts with it can be
	// resolved, so a model cannot read PATH, HOME or a variable the agent's
	// process inherited for another purpose. The placeholder ${secret:STRIPE_KEY}
	// reads the variable Prefix+"STRIPE_KEY". It must be at least three
	// characters of [A-Z0-9_].
	Prefix string
	// Lookup reads a variable. The default is os.LookupEnv.
	Lookup func(name string) (string, bool)
}

// Env resolves secrets from environment variables under a fixed prefix.
type Env struct {
	prefix string
	lookup func(string) (string, bool)
}

var _ guard.SecretResolver = (*Env)(nil)

// NewEnv returns an Env resolver. An empty or invalid prefix is an error.
func NewEnv(cfg EnvConfig) (*Env, error) {
	if len(cfg.Prefix) < 3 {
		return nil, errors.New("secrets: env: a prefix of at least 3 characters is required")
	}
	for _, c := range cfg.Prefix {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return nil, fmt.Errorf("secrets: env: invalid prefix %q (want [A-Z0-9_])", cfg.Prefix)
		}
	}
	lookup := cfg.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return &Env{prefix: cfg.Prefix, lookup: lookup}, nil
}

// ResolveSecret returns the value of the variable Prefix+ref. ref must be made of
// [A-Za-z0-9_] only.
func (e *Env) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	if err := ctx.Err(); err != nil {
		return guard.Secret{}, err
	}
	if ref == "" || strings.IndexFunc(ref, func(c rune) bool {
		return !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_')
	}) >= 0 {
		return guard.Secret{}, notFound("env", ref)
	}
	v, ok := e.lookup(e.prefix + ref)
	if !ok || v == "" {
		return guard.Secret{}, notFound("env", ref)
	}
	return guard.NewSecret(ref, v), nil
}

// Chain tries resolvers in order. A resolver that does not know a name
// ([ErrNotFound]) passes it on; any other error — a refusal, a backend failure —
// stops the chain (fail closed: a secret refused by one resolver is not looked up
// in the next).
type Chain struct {
	rs []guard.SecretResolver
}

var _ guard.SecretResolver = (*Chain)(nil)

// NewChain returns a Chain of rs. It needs at least one resolver and no nil ones.
func NewChain(rs ...guard.SecretResolver) (*Chain, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("secrets: chain: no resolvers: %w", guard.ErrNilPolicy)
	}
	for i, r := range rs {
		if isNil(r) {
			return nil, fmt.Errorf("secrets: chain: resolver %d: %w", i, guard.ErrNilPolicy)
		}
	}
	return &Chain{rs: slices.Clone(rs)}, nil
}

// ResolveSecret returns the first resolver's answer that is not [ErrNotFound].
func (c *Chain) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	for _, r := range c.rs {
		s, err := r.ResolveSecret(ctx, ref)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return guard.Secret{}, err
		}
	}
	return guard.Secret{}, notFound("chain", ref)
}

// ToolPolicyConfig configures [NewToolPolicy].
type ToolPolicyConfig struct {
	// Allow maps a secret name to the tools allowed to use it. A name that is not
	// in the map is refused to every tool (the zero value refuses everything).
	Allow map[string][]string
}

// ToolPolicy limits each secret to the tools allowed to use it: with
// Allow{"PAY_KEY": {"charge"}}, the tool send_email cannot resolve PAY_KEY even
// if the model puts the placeholder in its arguments. It reads the tool from the
// call in the context ([guard.CallFromContext]); without one it refuses.
type ToolPolicy struct {
	r     guard.SecretResolver
	allow map[string][]string
}

var _ guard.SecretResolver = (*ToolPolicy)(nil)

// NewToolPolicy wraps r with the allow-list in cfg. A nil r is an error.
func NewToolPolicy(r guard.SecretResolver, cfg ToolPolicyConfig) (*ToolPolicy, error) {
	if isNil(r) {
		return nil, fmt.Errorf("secrets: tool policy: %w", guard.ErrNilPolicy)
	}
	allow := make(map[string][]string, len(cfg.Allow))
	for name, tools := range cfg.Allow {
		if !guard.ValidSecretName(name) {
			return nil, fmt.Errorf("secrets: tool policy: invalid secret name %q", name)
		}
		for _, t := range tools {
			if t == "" {
				return nil, fmt.Errorf("secrets: tool policy: empty tool name for %q", name)
			}
		}
		allow[name] = slices.Clone(tools)
	}
	return &ToolPolicy{r: r, allow: allow}, nil
}

// Allowed reports whether tool may use the secret name. It is the pure check
// beside ResolveSecret.
func (p *ToolPolicy) Allowed(tool, name string) bool {
	return tool != "" && slices.Contains(p.allow[name], tool)
}

// ResolveSecret resolves ref with the wrapped resolver if the call's tool may use
// it, and returns a denial (rule "secrets.tool") otherwise.
func (p *ToolPolicy) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	c := guard.CallFromContext(ctx)
	if c == nil {
		return guard.Secret{}, guard.Deny("secrets.tool", "no call in context; cannot check the tool allow-list")
	}
	if !p.Allowed(c.Tool, ref) {
		return guard.Secret{}, guard.Deny("secrets.tool", fmt.Sprintf("tool %q may not use secret %q", c.Tool, ref))
	}
	return p.r.ResolveSecret(ctx, ref)
}

// CacheConfig configures [NewCache].
type CacheConfig struct {
	// TTL is how long a resolved value is reused. Required (> 0).
	TTL time.Duration
	// MaxEntries bounds the cache; the default is 1024.
	MaxEntries int
	// Now is the clock; the default is time.Now.
	Now func() time.Time
}

// Cache remembers values resolved by another resolver for a TTL. Entries are keyed
// by the name and by the call's tool, principal (subject, role and scopes) and
// session, so a cached value is never handed to a call that differs in any of
// those from the one the wrapped resolver allowed. A refusal that depends on
// anything else (the call's arguments or metadata, the session's history, the
// time) must wrap the cache rather than be wrapped by it. Errors are not cached.
type Cache struct {
	r   guard.SecretResolver
	cfg CacheConfig

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

type cacheKey struct{ tool, role, subject, scopes, session, name string }

type cacheEntry struct {
	s       guard.Secret
	expires time.Time
}

var _ guard.SecretResolver = (*Cache)(nil)

// NewCache wraps r with a TTL cache. A nil r or a TTL ≤ 0 is an error.
func NewCache(r guard.SecretResolver, cfg CacheConfig) (*Cache, error) {
	if isNil(r) {
		return nil, fmt.Errorf("secrets: cache: %w", guard.ErrNilPolicy)
	}
	if cfg.TTL <= 0 {
		return nil, errors.New("secrets: cache: TTL must be positive")
	}
	if cfg.MaxEntries < 0 {
		return nil, errors.New("secrets: cache: negative MaxEntries")
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 1024
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{r: r, cfg: cfg, entries: map[cacheKey]cacheEntry{}}, nil
}

// ResolveSecret returns the cached value for ref, or resolves and caches it.
func (c *Cache) ResolveSecret(ctx context.Context, ref string) (guard.Secret, error) {
	if err := ctx.Err(); err != nil {
		return guard.Secret{}, err
	}
	k := cacheKey{name: ref}
	if call := guard.CallFromContext(ctx); call != nil {
		k.tool, k.role, k.subject = call.Tool, call.Principal.Role, call.Principal.Subject
		k.scopes, k.session = fmt.Sprintf("%q", call.Principal.Scopes), call.SessionID
	}
	now := c.cfg.Now()
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.s, nil
	}
	c.mu.Unlock()
	s, err := c.r.ResolveSecret(ctx, ref)
	if err != nil {
		return guard.Secret{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.cfg.MaxEntries {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		for key := range c.entries {
			if len(c.entries) < c.cfg.MaxEntries {
				break
			}
			delete(c.entries, key)
		}
	}
	c.entries[k] = cacheEntry{s: s, expires: now.Add(c.cfg.TTL)}
	return s, nil
}

// Purge drops every cached value (for example after a rotation).
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
