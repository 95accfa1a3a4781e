package scope

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentguard/agentguard/guard"
)

// maxTokenLen bounds the tokens [JWTVerifier.Verify] parses.
const maxTokenLen = 16 << 10

// ErrInvalidToken is matched by every token [JWTVerifier.Verify] refuses.
var ErrInvalidToken = errors.New("scope: invalid token")

// JWTConfig configures a [JWTVerifier]. Its zero value is invalid: algorithms,
// a key, the issuer and the audience must be given.
type JWTConfig struct {
	// Algorithms pins the accepted "alg" values, for example []string{"EdDSA"}.
	// Required. "none" is refused, and HMAC algorithms cannot be mixed with
	// public-key ones (algorithm confusion).
	Algorithms []string
	// Key verifies every token: []byte (at least 32 bytes) for HS256/384/512,
	// *rsa.PublicKey (at least 2048 bits) for RS*/PS*, *ecdsa.PublicKey for ES*,
	// ed25519.PublicKey for EdDSA. Exactly one of Key and Keyfunc is required.
	Key any
	// Keyfunc picks the key per token (for example by "kid" from a key set). It
	// runs only after the algorithm has been checked against Algorithms.
	Keyfunc jwt.Keyfunc
	// Issuer is the required "iss". Required.
	Issuer string
	// Audience is a value the token's "aud" must contain. Required.
	Audience string
	// RoleClaim names the claim holding the role (a string). Default "role".
	RoleClaim string
	// ScopesClaim names the claim holding scopes, either a space-separated string
	// (OAuth "scope") or an array of strings. Default "scope".
	ScopesClaim string
	// Leeway tolerates clock skew on exp/nbf/iat; at most 5 minutes. Default 0.
	Leeway time.Duration
	// Policy, when set, refuses tokens whose role the policy does not declare.
	Policy *Policy
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// JWTVerifier turns signed JWTs into principals. It is safe for concurrent use.
type JWTVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
}

// NewJWTVerifier validates cfg and returns a verifier.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("scope: jwt: Algorithms must pin at least one algorithm")
	}
	if (cfg.Key == nil) == (cfg.Keyfunc == nil) {
		return nil, errors.New("scope: jwt: exactly one of Key and Keyfunc is required")
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("scope: jwt: Issuer and Audience are required")
	}
	if cfg.Leeway < 0 || cfg.Leeway > 5*time.Minute {
		return nil, fmt.Errorf("scope: jwt: leeway %v out of range [0, 5m]", cfg.Leeway)
	}
	hmac, asym := false, false
	for _, alg := range cfg.Algorithms {
		m := jwt.GetSigningMethod(alg)
		if m == nil || strings.EqualFold(alg, "none") {
			return nil, fmt.Errorf("scope: jwt: algorithm %q is not allowed", alg)
		}
		if _, ok := m.(*jwt.SigningMethodHMAC); ok {
			hmac = true
		} else {
			asym = true
		}
		if cfg.Key != nil {
			if err := checkKey(m, cfg.Key); err != nil {
				return nil, fmt.Errorf("scope: jwt: %s: %w", alg, err)
			}
		}
	}
	if hmac && asym {
		return nil, errors.New("scope: jwt: HMAC and public-key algorithms cannot be mixed")
	}
	cfg.Algorithms = slices.Clone(cfg.Algorithms)
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "role"
	}
	if cfg.ScopesClaim == "" {
		cfg.ScopesClaim = "scope"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(cfg.Algorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	)
	return &JWTVerifier{cfg: cfg, parser: p}, nil
}

func checkKey(m jwt.SigningMethod, key any) error {
	switch m.(type) {
	case *jwt.SigningMethodHMAC:
		k, ok := key.([]byte)
		if !ok {
			return fmt.Errorf("key must be []byte, got %T", key)
		}
		if len(k) < 32 {
			return errors.New("HMAC key shorter than 32 bytes")
		}
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("key must be *rsa.PublicKey, got %T", key)
		}
		if k.N.BitLen() < 2048 {
			return errors.New("RSA key shorter than 2048 bits")
		}
	case *jwt.SigningMethodECDSA:
		if _, ok := key.(*ecdsa.PublicKey); !ok {
			return fmt.Errorf("key must be *ecdsa.PublicKey, got %T", key)
		}
	case *jwt.SigningMethodEd25519:
		if _, ok := key.(ed25519.PublicKey); !ok {
			return fmt.Errorf("key must be ed25519.PublicKey, got %T", key)
		}
	default:
		return fmt.Errorf("unsupported signing method %T", m)
	}
	return nil
}

// Verify checks token's signature, algorithm, expiry (required), not-before,
// issued-at, issuer and audience, and returns the principal it names: "sub" as
// the subject, the role claim as the role and the scopes claim as scopes. A
// token without a role is refused. Every refusal matches [ErrInvalidToken].
func (v *JWTVerifier) Verify(token string) (guard.Principal, error) {
	if len(token) > maxTokenLen {
		return guard.Principal{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxTokenLen)
	}
	var claims jwt.MapClaims
	keyfunc := v.cfg.Keyfunc
	if keyfunc == nil {
		keyfunc = func(*jwt.Token) (any, error) { return v.cfg.Key, nil }
	}
	if _, err := v.parser.ParseWithClaims(token, &claims, keyfunc); err != nil {
		return guard.Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var p guard.Principal
	if sub, ok := claims["sub"]; ok {
		s, ok := sub.(string)
		if !ok {
			return guard.Principal{}, fmt.Errorf("%w: sub is not a string", ErrInvalidToken)
		}
		p.Subject = s
	}
	r, _ := claims[v.cfg.RoleClaim].(string)
	if r == "" || !validName(r) {
		return guard.Principal{}, fmt.Errorf("%w: missing or invalid %q claim", ErrInvalidToken, v.cfg.RoleClaim)
	}
	if v.cfg.Policy != nil {
		if _, ok := v.cfg.Policy.roles[r]; !ok {
			return guard.Principal{}, fmt.Errorf("%w: role %q is not declared by the policy", ErrInvalidToken, r)
		}
	}
	p.Role = r
	switch sc := claims[v.cfg.ScopesClaim].(type) {
	case nil:
	case string:
		p.Scopes = strings.Fields(sc)
	case []any:
		for _, e := range sc {
			s, ok := e.(string)
			if !ok {
				return guard.Principal{}, fmt.Errorf("%w: %q claim holds a non-string", ErrInvalidToken, v.cfg.ScopesClaim)
			}
			p.Scopes = append(p.Scopes, s)
		}
	default:
		return guard.Principal{}, fmt.Errorf("%w: %q claim is neither a string nor an array", ErrInvalidToken, v.cfg.ScopesClaim)
	}
	return p, nil
}

// Handler returns an http.Handler that verifies the request's bearer token and
// calls next with the principal in the request context (see
// [PrincipalFromContext]). A missing, repeated or invalid token gets 401 and a
// generic body; next is not called.
func (v *JWTVerifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vals := r.Header.Values("Authorization")
		if len(vals) != 1 {
			unauthorized(w)
			return
		}
		scheme, tok, ok := strings.Cut(vals[0], " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
			unauthorized(w)
			return
		}
		p, err := v.Verify(tok)
		if err != nil {
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r.WithContext(ContextWithPrincipal(r.Context(), p)))
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

type principalKey struct{}

// ContextWithPrincipal returns a context carrying a copy of p.
func ContextWithPrincipal(ctx context.Context, p guard.Principal) context.Context {
	p.Scopes = slices.Clone(p.Scopes)
	return context.WithValue(ctx, principalKey{}, &p)
}

// PrincipalFromContext returns the principal stored by [ContextWithPrincipal].
func PrincipalFromContext(ctx context.Context) (guard.Principal, bool) {
	p, ok := principalPtrFromContext(ctx)
	if !ok {
		return guard.Principal{}, false
	}
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	return cp, true
}

func principalPtrFromContext(ctx context.Context) (*guard.Principal, bool) {
	if ctx == nil {
		return nil, false
	}
	p, ok := ctx.Value(principalKey{}).(*guard.Principal)
	return p, ok && p != nil
}
